"""Dense binary lasso at one alpha: logitkit's prox-newton against glum, scikit-learn
(liblinear, saga) and skglm, one BLAS thread, interleaved, best of ``--repeats``.

No intercept (liblinear penalises its intercept, so all fit without one); objective
= mean log-loss + alpha * ||b||_1 (C = 1 / (n * alpha)), computed from each solver's
coefficients by the same formula; each peer at a tolerance that reaches the optimum
(the gap to the best objective is printed with the times).

    python benchmarks/lasso_bench.py [--n 200000] [--d 200] [--repeats 3]
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


def data(n, d, seed=0):
    """X (n, d) with correlated columns (rho = 0.5 between neighbours), y from 30 true
    non-zero slopes."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    X = Z.copy()
    X[:, 1:] += 0.5 * Z[:, :-1]
    beta = np.zeros(d)
    beta[rng.choice(d, 30, replace=False)] = rng.normal(size=30)
    y = (X @ beta + rng.logistic(size=n) > 0).astype(np.int64)
    return X, y


def objective(X, y, coef, alpha):
    z = X @ np.ravel(coef)
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + alpha * np.abs(coef).sum())


def solvers(n, alpha):
    from glum import GeneralizedLinearRegressor
    from skglm import SparseLogisticRegression
    from sklearn.linear_model import LogisticRegression

    C = 1.0 / (n * alpha)
    return {
        "logitkit": lambda X, y: lk.LogisticRegression(
            alpha=alpha, l1_ratio=1.0, fit_intercept=False, tol=1e-7).fit(X, y).coef_,
        "glum": lambda X, y: GeneralizedLinearRegressor(
            family="binomial", alpha=alpha, l1_ratio=1.0, fit_intercept=False,
            gradient_tol=1e-7).fit(X, y).coef_,
        "liblinear": lambda X, y: LogisticRegression(
            C=C, l1_ratio=1.0, solver="liblinear", fit_intercept=False, tol=1e-6,
            max_iter=1000).fit(X, y).coef_,
        "saga": lambda X, y: LogisticRegression(
            C=C, l1_ratio=1.0, solver="saga", fit_intercept=False, tol=1e-6,
            max_iter=1000).fit(X, y).coef_,
        "skglm": lambda X, y: SparseLogisticRegression(
            alpha=alpha, fit_intercept=False, tol=1e-7, max_iter=100).fit(X, y).coef_,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=200)
    parser.add_argument("--alpha", type=float, default=0.004)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated peers to leave out")
    args = parser.parse_args()
    X, y = data(args.n, args.d)
    runs = {k: v for k, v in solvers(args.n, args.alpha).items()
            if k not in args.skip.split(",")}
    times = {k: [] for k in runs}
    values = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.repeats):
            for name, run in runs.items():  # interleaved
                start = time.perf_counter()
                coef = run(X, y)
                times[name].append(time.perf_counter() - start)
                values[name] = (objective(X, y, coef, args.alpha),
                                int(np.count_nonzero(coef)))
    best = min(v for v, _ in values.values())
    ours = min(times["logitkit"])
    print(f"dense lasso {args.n} x {args.d}, alpha={args.alpha:g}, one BLAS thread, "
          f"best of {args.repeats}")
    print(f"{'solver':>10} {'time (s)':>9} {'/ logitkit':>10} {'objective - best':>17} nnz")
    for name in runs:
        value, nnz = values[name]
        t = min(times[name])
        print(f"{name:>10} {t:9.3f} {t / ours:10.2f} {value - best:17.3e} {nnz:3d}")


if __name__ == "__main__":
    main()
