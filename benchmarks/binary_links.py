"""Binary fits with the logit, probit and cloglog links: what an exact fit costs, and the
peer (statsmodels' GLM, IRLS) on the same rows.

    python benchmarks/binary_links.py                       # 200,000 x 20, best of 3
    python benchmarks/binary_links.py --rows 50000 --repeat 2

One BLAS thread (threadpoolctl); the links and the peer interleaved in one process after
an untimed warm-up; the best of ``--repeat`` runs. Per link (y drawn from that link's
latent model): logitkit's default fit (Newton, inference included) with its iterations
and passes over X, the same fit with an offset column, and statsmodels'
``GLM(family=Binomial(link))`` at its default tolerance, with the gap between the two
log-likelihoods.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.special as sc
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

import logitkit as lk

_SM = {"logit": sm.families.links.Logit, "probit": sm.families.links.Probit,
       "cloglog": sm.families.links.CLogLog}
_CDF = {"logit": sc.expit, "probit": sc.ndtr, "cloglog": lambda x: -np.expm1(-np.exp(x))}


def _data(link, n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    eta = X @ (rng.normal(size=d) / np.sqrt(d)) - 0.3
    return X, (rng.random(n) < _CDF[link](eta)).astype(np.int64)


def _time(function):
    start = time.perf_counter()
    out = function()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = {link: _data(link, args.rows, args.cols) for link in _SM}
    offset = np.random.default_rng(1).normal(scale=0.2, size=args.rows)
    cases = {}
    for link, (X, y) in data.items():
        cases[f"logitkit {link}"] = lambda X=X, y=y, link=link: lk.LogisticRegression(
            link=link).fit(X, y)
        cases[f"logitkit {link} + offset"] = lambda X=X, y=y, link=link: \
            lk.LogisticRegression(link=link).fit(X, y, offset=offset)
        family = sm.families.Binomial(link=_SM[link]())
        cases[f"statsmodels GLM {link}"] = lambda X=X, y=y, family=family: sm.GLM(
            y, sm.add_constant(X), family=family).fit()
    with threadpool_limits(1):
        X, y = data["logit"]
        lk.LogisticRegression(link="probit").fit(X[:500], y[:500])  # warm-up
        best = dict.fromkeys(cases, np.inf)
        results = {}
        for _ in range(args.repeat):
            for name, case in cases.items():
                seconds, results[name] = _time(case)
                best[name] = min(best[name], seconds)
    print(f"{args.rows} x {args.cols}, one BLAS thread, best of {args.repeat}")
    print(f"{'case':32s} {'seconds':>8s} {'iter':>5s} {'passes':>7s} {'x logit':>8s} "
          f"{'peer/this':>9s} {'llf gap':>9s}")
    for name, seconds in best.items():
        link = name.split()[-1] if "offset" not in name else name.split()[1]
        fit = results[name]
        if name.startswith("logitkit"):
            peer = best[f"statsmodels GLM {link}"]
            gap = fit.log_likelihood_ - results[f"statsmodels GLM {link}"].llf
            ratio = peer / seconds if "offset" not in name else float("nan")
            print(f"{name:32s} {seconds:8.3f} {fit.n_iter_:5d} {fit.n_passes_:7.1f} "
                  f"{seconds / best['logitkit logit']:8.2f} {ratio:9.1f} "
                  f"{gap if 'offset' not in name else float('nan'):9.1e}")
        else:
            print(f"{name:32s} {seconds:8.3f} {int(fit.fit_history['iteration']):5d}")


if __name__ == "__main__":
    main()
