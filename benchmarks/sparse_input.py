"""A binary ridge fit on a sparse X: logitkit on the CSR matrix (solver "auto", and
"lbfgs"), on its dense copy, and scikit-learn's lbfgs on the same CSR matrix.

    python benchmarks/sparse_input.py                # 200k x 2000 at 1% density
    python benchmarks/sparse_input.py --scale 0.1    # a tenth of the rows
    python benchmarks/sparse_input.py --repeat 5     # best of 5 (default 3)

One BLAS thread for everyone; the fits run interleaved (sparse, dense, scikit-learn,
sparse, ...) and each row reports its best time. Memory: tracemalloc's peak during one
more fit, over the data already in memory (the dense row's X is made before it, and its
bytes are reported apart). Objective: mean log-loss + alpha/2 ||slopes||^2 (scikit-learn's
C = 1 / (n alpha)), computed from each fit's coefficients by the same formula; scikit-learn
runs at tol 1e-10 so that it reaches the optimum (its gap is reported).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from common import benchmark_parser, binary_objective_from_scores, peak_memory, timed
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from threadpoolctl import threadpool_limits

import logitkit as lk


def sparse_binary(n, d, density, rng):
    """(X CSR (n, d) float64 with values N(1, 1) at ``density``, binary y from a logistic
    model of X)."""
    X = sp.random_array((n, d), density=density, rng=rng, format="csr",
                        data_sampler=lambda size: rng.normal(1.0, 1.0, size))
    eta = X @ (rng.normal(size=d) / np.sqrt(density * d)) - 0.5
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)


def main():
    parser = benchmark_parser(__doc__, "200k rows", repeat=True)
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args()
    n, d, density, alpha = int(200_000 * args.scale), 2000, 0.01, args.alpha
    X, y = sparse_binary(n, d, density, np.random.default_rng(0))
    Xd = X.toarray()
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    fits = {
        "logitkit, CSR": lambda: lk.LogisticRegression(alpha=alpha).fit(X, y),
        "logitkit lbfgs, CSR": lambda: lk.LogisticRegression(alpha=alpha,
                                                             solver="lbfgs").fit(X, y),
        "logitkit, dense copy": lambda: lk.LogisticRegression(alpha=alpha).fit(Xd, y),
        "scikit-learn lbfgs, CSR": lambda: SkLogisticRegression(
            C=1 / (n * alpha), solver="lbfgs", tol=1e-10, max_iter=10_000).fit(X, y),
    }
    times = {name: [] for name in fits}
    results = {}
    with threadpool_limits(1):
        for _ in range(args.repeat):
            for name, fit in fits.items():
                seconds, results[name] = timed(fit)
                times[name].append(seconds)
        peaks = {name: peak_memory(fit) for name, fit in fits.items()}
    objectives = {name: binary_objective_from_scores(y, model.decision_function(X),
                                                     model.coef_, alpha)
                  for name, model in results.items()}
    best = min(objectives.values())
    print(f"{n} x {d} CSR at {density:.0%} density ({X.nnz} entries, {x_bytes / 2**20:.0f} "
          f"MiB; dense {Xd.nbytes / 2**20:.0f} MiB), binary, alpha = {alpha:g}, one BLAS "
          f"thread, best of {args.repeat}")
    print(f"{'fit':26s} {'seconds':>8s} {'vs CSR':>7s} {'peak MiB':>9s} {'passes':>7s} "
          f"{'objective gap':>14s}")
    base = min(times["logitkit, CSR"])
    for name in fits:
        passes = getattr(results[name], "n_passes_", None)
        print(f"{name:26s} {min(times[name]):8.2f} {min(times[name]) / base:6.2f}x "
              f"{peaks[name] / 2**20:9.1f} {'' if passes is None else f'{passes:.1f}':>7s} "
              f"{objectives[name] - best:14.2e}")


if __name__ == "__main__":
    main()
