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

Last, the published comparison: firthmodels' own benchmark (its repository's
benchmarks/README.md: firthmodels 0.7.2, R logistf 1.26.1, AMD Ryzen 5 5600X) timed the
full workflow (fit, penalised LR tests, profile intervals) on its own data, n = 1,000,
k = 50, 20% events, at gtol = xtol = 1e-6: logistf 6,501 ms, firthmodels 490.5 ms. The
same data and settings are run here for logitkit and firthmodels, and logistf's time on
this machine is estimated from the published ratio to firthmodels (R is not installed
here: an estimate through the common peer, not a measurement).

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
PUBLISHED_MS = {"logistf": 6501.0, "firthmodels": 490.5}  # full workflow, k = 50


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


def published_data(n=1_000, k=50, event_rate=0.2, seed=42):
    """firthmodels' benchmark data (make_benchmark_data in its benchmark_logistic.py)."""
    rng = np.random.default_rng(seed * 1000 + k)
    X = rng.standard_normal((n, k))
    beta = rng.normal(0, 0.1 / np.sqrt(k), size=k)
    eta = np.log(event_rate / (1 - event_rate)) + X @ beta
    return X, rng.binomial(1, 1 / (1 + np.exp(-eta)))


def published_workflows(X, y):
    """(logitkit's, firthmodels') full workflow at firthmodels' benchmark settings."""
    from firthmodels import FirthLogisticRegression

    def logitkit():
        return lk.LogisticRegression(penalty="firth").fit(X, y).summary()

    def firthmodels():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = FirthLogisticRegression(max_iter=50, max_halfstep=0, gtol=1e-6,
                                          xtol=1e-6).fit(X, y)
            fit.lrt()
            return fit.conf_int(method="pl", max_iter=50, tol=1e-6)

    return logitkit, firthmodels


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
        ours_full, peer_full = published_workflows(*published_data())
        best = [np.inf, np.inf]
        for _ in range(args.repeats):
            best = [min(best[0], timed(ours_full)[0]), min(best[1], timed(peer_full)[0])]
        scale = PUBLISHED_MS["logistf"] / PUBLISHED_MS["firthmodels"]
        print(f"\nfirthmodels' benchmark data (1,000 x 50, 20% events), fit + LR tests + "
              f"profile intervals: logitkit {best[0]:.3f} s, firthmodels {best[1]:.3f} s "
              f"({best[1] / best[0]:.2f}x); logistf published at {scale:.2f}x firthmodels' "
              f"time, about {scale * best[1]:.2f} s here ({scale * best[1] / best[0]:.0f}x "
              "logitkit's, estimated)")


if __name__ == "__main__":
    main()
