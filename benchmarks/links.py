"""Ordinal fits with the logit, probit and cloglog links: what a fit and a pass cost.

    python benchmarks/links.py                          # this checkout only
    python benchmarks/links.py --baseline ../main/src   # against another logitkit
    python benchmarks/links.py --rows 50000 --peer-rows 5000 --repeat 2   # quicker

Every measurement runs in its own process with one BLAS thread (threadpoolctl), after an
untimed warm-up fit on 500 rows, the versions and cases interleaved, and the best of
``--repeat`` runs is reported, as the development machine is shared and noisy. Per link
(data drawn from that link's latent model, 5 levels, ``--rows`` x ``--cols``):

- ``fit``: ``OrdinalLogisticRegression(link=...).fit`` with default settings (inference
  included), its iterations, and the time spent in the separation linear program
  (``detect_separation``) and in the divergence probe that decides whether it runs;
- ``pass``: one evaluation of the objective with its gradient (order 1) and with its
  Hessian (order 2) over all rows;
- ``peer``: statsmodels' ``OrderedModel`` (BFGS; cloglog as ``scipy.stats.gumbel_l``)
  and logitkit on ``--peer-rows`` rows, with the gap between their log-likelihoods.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import suite_cases  # benchmarks/ is on sys.path when run as a script

LINKS = ("logit", "probit", "cloglog")


def ordinal_data(n, d, link, seed=0):
    """X (n, d) and 5 ordered levels from the link's latent model (quintiles of it)."""
    return suite_cases.ordinal_data(n, d, link, np.random.default_rng(seed))


def _timed(module, name, seconds):
    """Wrap module.name so that its calls add their wall time to seconds[name]."""
    original = getattr(module, name, None)
    if original is None:
        return

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def measure_fit(link, n, d):
    import logitkit as lk
    from logitkit import estimators

    X, y = ordinal_data(n, d, link)
    seconds = {}
    _timed(estimators, "detect_separation", seconds)
    try:
        from logitkit import divergence
        _timed(divergence, "newton_move", seconds)
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = lk.OrdinalLogisticRegression(link=link).fit(X, y)
        total = time.perf_counter() - start
    return {"seconds": total, "n_iter": int(model.n_iter_),
            "lp": seconds.get("detect_separation", 0.0),
            "probe": seconds.get("newton_move", 0.0)}


def measure_pass(link, n, d):
    from logitkit.families import Ordinal
    from logitkit.objective import Objective

    X, y = ordinal_data(n, d, link)
    objective = Objective(Ordinal(link), X, y, np.ones(n), 5, False)
    theta = np.concatenate([np.full(d, 0.1), [-1.0, -0.3, 0.3, 1.0]])
    out = {}
    for order in (1, 2):
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            objective.evaluate(theta, order)
            best = min(best, time.perf_counter() - start)
        out[f"order{order}"] = best
    return out


def measure_peer(link, n, d):
    import scipy.stats as st
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    import logitkit as lk

    X, y = ordinal_data(n, d, link, seed=1)
    distr = {"logit": "logit", "probit": "probit", "cloglog": st.gumbel_l}[link]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        peer = OrderedModel(y, X, distr=distr).fit(method="bfgs", maxiter=5000, disp=False)
        peer_seconds = time.perf_counter() - start
        start = time.perf_counter()
        ours = lk.OrdinalLogisticRegression(link=link).fit(X, y)
        our_seconds = time.perf_counter() - start
    ours_ll = ours.result_.log_likelihood
    return {"peer": peer_seconds, "ours": our_seconds,
            "gap": (ours_ll - peer.llf) / abs(peer.llf)}


def child(spec):
    from threadpoolctl import threadpool_limits

    import logitkit as lk

    kind, link, n, d = spec["kind"], spec["link"], spec["n"], spec["d"]
    with threadpool_limits(1):
        with warnings.catch_warnings():  # warm-up: imports and first calls, untimed
            warnings.simplefilter("ignore")
            lk.OrdinalLogisticRegression(link=link).fit(*ordinal_data(500, d, link, seed=2))
        result = {"fit": measure_fit, "pass": measure_pass, "peer": measure_peer}[kind](
            link, n, d)
    print(json.dumps(result))


def run(spec, src):
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.path.abspath(src)
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--peer-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="another logitkit's src folder")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    versions = {"this": here} | ({"baseline": args.baseline} if args.baseline else {})
    specs = [{"kind": kind, "link": link, "n": n, "d": args.cols}
             for kind, n in (("fit", args.rows), ("pass", args.rows))
             for link in LINKS]
    peers = [{"kind": "peer", "link": link, "n": args.peer_rows, "d": args.cols}
             for link in LINKS]
    best = {}
    for _ in range(args.repeat):  # interleaved: every version and case once per round
        for spec in specs:
            for version, src in versions.items():
                key = (version, spec["kind"], spec["link"])
                result = run(spec, src)
                old = best.get(key)
                best[key] = result if old is None else {
                    k: min(v, old[k]) if k != "gap" else v for k, v in result.items()}
        for spec in peers:
            key = ("this", "peer", spec["link"])
            result = run(spec, here)
            old = best.get(key)
            best[key] = result if old is None else {
                k: min(v, old[k]) if k != "gap" else v for k, v in result.items()}
    report(best, versions, args)


def report(best, versions, args):
    print(f"ordinal, 5 levels, {args.rows} x {args.cols}; one BLAS thread; best of "
          f"{args.repeat}, interleaved")
    print(f"{'version':9} {'link':8} {'fit s':>7} {'iters':>5} {'LP s':>6} {'probe s':>7} "
          f"{'pass1 ms':>8} {'pass2 ms':>8} {'fit/logit':>9} {'pass1/logit':>11}")
    for version in versions:
        logit_fit = best[(version, "fit", "logit")]["seconds"]
        logit_pass = best[(version, "pass", "logit")]["order1"]
        for link in LINKS:
            fit, one = best[(version, "fit", link)], best[(version, "pass", link)]
            print(f"{version:9} {link:8} {fit['seconds']:7.3f} {fit['n_iter']:5d} "
                  f"{fit['lp']:6.2f} {fit['probe']:7.3f} {one['order1'] * 1e3:8.1f} "
                  f"{one['order2'] * 1e3:8.1f} {fit['seconds'] / logit_fit:9.2f} "
                  f"{one['order1'] / logit_pass:11.2f}")
    if "baseline" in versions:
        print("\nbaseline / this:")
        for link in LINKS:
            fit = (best[("baseline", "fit", link)]["seconds"]
                   / best[("this", "fit", link)]["seconds"])
            one = (best[("baseline", "pass", link)]["order1"]
                   / best[("this", "pass", link)]["order1"])
            two = (best[("baseline", "pass", link)]["order2"]
                   / best[("this", "pass", link)]["order2"])
            print(f"  {link:8} fit {fit:5.1f}x  pass (gradient) {one:4.1f}x  "
                  f"pass (Hessian) {two:4.1f}x")
    print(f"\nstatsmodels OrderedModel (bfgs) vs logitkit, {args.peer_rows} x {args.cols}:")
    for link in LINKS:
        peer = best[("this", "peer", link)]
        print(f"  {link:8} statsmodels {peer['peer']:6.2f} s  logitkit {peer['ours']:6.3f} s  "
              f"ratio {peer['peer'] / peer['ours']:6.1f}x  log-likelihood gap "
              f"{peer['gap']:+.1e} (relative; > 0: logitkit higher)")


if __name__ == "__main__":
    main()
