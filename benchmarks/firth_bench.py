"""Firth's logistic regression: logitkit against firthmodels, interleaved, best of 3.

Cases: 1,000 x 50 and 100,000 x 20 (standard normal columns, y from a logit model with
about a third positives). Tasks: the fit alone; the fit with every profile
penalised-likelihood interval (logitkit ``conf_int()``, firthmodels
``conf_int(method="pl")``); the fit with the intervals and every penalised LR p-value
(logistf's summary: logitkit ``summary()``, firthmodels ``lrt()`` too). One BLAS thread
for both; firthmodels' numba kernels are compiled before timing. Each solver at its
defaults (logitkit: standardised gradient <= 1e-8, interval ends where the penalised
deviance is within 1e-9 of its target; firthmodels: gtol = xtol = 1e-4, interval tol
1e-4), and the largest differences between the two are printed with the times.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/firth_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import logitkit as lk  # noqa: E402

CASES = [(1_000, 50), (100_000, 20)]
TASKS = ("fit", "fit + intervals", "fit + intervals + LR tests")


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta = rng.normal(0, 0.3, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 1)))).astype(np.int64)
    return X, y


def ours(X, y, task):
    fit = lk.LogisticRegression(penalty="firth").fit(X, y)
    if task == "fit":
        return fit, None
    if task == "fit + intervals":
        return fit, fit.conf_int().to_numpy()
    table = fit.summary().table
    return fit, table[["ci_lower", "ci_upper"]].to_numpy()


def peer(X, y, task):
    from firthmodels import FirthLogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its max_iter warnings on the profile bounds
        fit = FirthLogisticRegression().fit(X, y)
        if task == "fit":
            return fit, None
        if task == "fit + intervals + LR tests":
            fit.lrt()
        ci = fit.conf_int(method="pl")
    return fit, np.vstack([ci[-1:], ci[:-1]])  # intercept first, as logitkit's


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 x 50 only")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from importlib.metadata import version

    with threadpool_limits(1):
        warm_X, warm_y = data(300, 5, 1)
        peer(warm_X, warm_y, "fit + intervals + LR tests")  # numba compilation
        print(f"logitkit {lk.__version__}, firthmodels {version('firthmodels')}, one thread, "
              f"best of {args.repeats}, interleaved")
        print(f"{'case':>12} {'task':>28} {'logitkit s':>11} {'firthmodels s':>14} "
              f"{'ratio':>6} {'passes':>7} {'max |coef diff|':>16} {'max |CI diff|':>14}")
        for n, d in CASES[:1] if args.quick else CASES:
            X, y = data(n, d)
            for task in TASKS:
                best = [np.inf, np.inf]
                for _ in range(args.repeats):
                    t_ours, (fit, ci_ours) = timed(ours, X, y, task)
                    t_peer, (other, ci_peer) = timed(peer, X, y, task)
                    best = [min(best[0], t_ours), min(best[1], t_peer)]
                coef = np.max(np.abs(fit.coef_[0] - other.coef_))
                ci = "" if ci_ours is None else f"{np.max(np.abs(ci_ours - ci_peer)):.1e}"
                print(f"{f'{n:,} x {d}':>12} {task:>28} {best[0]:11.3f} {best[1]:14.3f} "
                      f"{best[1] / best[0]:6.2f} {fit.n_passes_:7.0f} {coef:16.1e} {ci:>14}")


if __name__ == "__main__":
    main()
