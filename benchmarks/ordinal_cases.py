"""Ordinal fits per link and size against statsmodels' OrderedModel, in one process.

    python benchmarks/ordinal_cases.py                    # every case (~10 minutes on 2 cores)
    python benchmarks/ordinal_cases.py --only 10000x20    # one size
    python benchmarks/ordinal_cases.py --links logit --repeat 5

Cases: the logit, probit and cloglog links, 5 levels at 10k x 20, 50k x 30 and
100k x 30, 4 levels at 100k x 20 (data from each link's latent model, levels cut at
its quantiles). Everything runs with one BLAS thread (threadpoolctl), after an untimed
warm-up, logitkit and statsmodels interleaved (ours, peer, ours, ...): logitkit's best
of ``--repeat`` runs of ``OrdinalLogisticRegression(link=...).fit`` with default
settings (inference included), statsmodels' best of ``--peer-repeat`` runs of
``OrderedModel(...).fit(method="bfgs")`` (its default "newton" measured 4-7x slower
than "bfgs" at 10k x 20; cloglog as ``scipy.stats.gumbel_l``). Printed per case:
seconds, logitkit's ``n_passes_``, the relative log-likelihood gap (> 0: logitkit
higher), logitkit's extra memory (tracemalloc's peak during a separate untimed fit, as
a fraction of X) and the time ratio statsmodels / logitkit.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import suite_cases  # benchmarks/ is on sys.path when run as a script
from threadpoolctl import threadpool_limits

import logitkit as lk

LINKS = ("logit", "probit", "cloglog")
# (rows, columns, levels)
CASES = ((10_000, 20, 5), (50_000, 30, 5), (100_000, 30, 5), (100_000, 20, 4))


def ordinal_data(n, d, link, levels, seed=0):
    """X (n, d) and ``levels`` ordered classes from the link's latent model."""
    return suite_cases.ordinal_data(n, d, link, np.random.default_rng(seed), levels)


def fit_ours(X, y, link):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = lk.OrdinalLogisticRegression(link=link).fit(X, y)
        return time.perf_counter() - start, model


def fit_peer(X, y, link):
    import scipy.stats as st
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    distr = {"logit": "logit", "probit": "probit", "cloglog": st.gumbel_l}[link]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        result = OrderedModel(y, X, distr=distr).fit(method="bfgs", maxiter=5000, disp=False)
        return time.perf_counter() - start, result


def peak_fraction(X, y, link) -> float:
    """tracemalloc's peak during one fit, as a fraction of X's bytes."""
    tracemalloc.start()
    fit_ours(X, y, link)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / X.nbytes


def run_case(n, d, levels, link, repeat, peer_repeat):
    X, y = ordinal_data(n, d, link, levels)
    ours, peer, model, result = np.inf, np.inf, None, None
    for i in range(max(repeat, peer_repeat)):  # interleaved: ours, peer, ours, peer ...
        if i < repeat:
            seconds, model = fit_ours(X, y, link)
            ours = min(ours, seconds)
        if i < peer_repeat:
            seconds, result = fit_peer(X, y, link)
            peer = min(peer, seconds)
    gap = (model.result_.log_likelihood - result.llf) / abs(result.llf)
    return {"ours": ours, "peer": peer, "passes": model.n_passes_, "iters": model.n_iter_,
            "gap": gap, "memory": peak_fraction(X, y, link)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="a case as ROWSxCOLS, e.g. 10000x20")
    parser.add_argument("--links", nargs="+", default=list(LINKS), choices=LINKS)
    parser.add_argument("--repeat", type=int, default=3, help="logitkit runs per case")
    parser.add_argument("--peer-repeat", type=int, default=None,
                        help="statsmodels runs per case (default: 3 below 50k rows, else 1)")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or f"{c[0]}x{c[1]}" in args.only]
    print("ordinal fits, one BLAS thread; logitkit best of", args.repeat,
          "(default settings, inference included); statsmodels OrderedModel bfgs")
    print(f"{'case':22} {'link':8} {'logitkit s':>10} {'passes':>6} {'iters':>5} "
          f"{'statsmodels s':>13} {'ratio':>7} {'llf gap':>9} {'memory/X':>8}")
    with threadpool_limits(1):
        for link in args.links:  # warm-up: imports and first calls, untimed
            fit_ours(*ordinal_data(500, 5, link, 5, seed=2), link)
            fit_peer(*ordinal_data(500, 5, link, 5, seed=2), link)
        for n, d, levels in cases:
            peer_repeat = args.peer_repeat or (3 if n < 50_000 else 1)
            for link in args.links:
                r = run_case(n, d, levels, link, args.repeat, peer_repeat)
                print(f"{f'{n} x {d}, {levels} levels':22} {link:8} {r['ours']:10.3f} "
                      f"{r['passes']:6.2f} {r['iters']:5d} {r['peer']:13.2f} "
                      f"{r['peer'] / r['ours']:6.1f}x {r['gap']:+9.1e} {r['memory']:8.3f}",
                      flush=True)


if __name__ == "__main__":
    main()
