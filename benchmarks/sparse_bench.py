"""L1, elastic-net and sparse-input fits: logitkit against glum, scikit-learn, skglm and
celer on the same objective, in one process (issue 14).

Objective: mean log-loss + alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||^2),
intercepts unpenalised. Peers' parameters map onto it: scikit-learn and celer C =
1 / (n * alpha); glum and skglm take alpha and l1_ratio as they are. liblinear and celer
penalise (liblinear) or lack (celer) an intercept, so the ``-noint`` cases fit without
one for everybody. Each peer runs at a tolerance that reaches the optimum where it can;
the table shows the objective gap to the best solver of the case.

    python benchmarks/sparse_bench.py                   # every case, full sizes
    python benchmarks/sparse_bench.py --scale 0.1 --only dense-lasso --repeat 1

Cases: dense-lasso, dense-enet, dense-lasso-noint, dense-path (200k x 200, AR(1)
columns), rare (1% positives), unscaled (column scales 1e-2 to 1e2), wide (20k x 2000
elastic net), multinomial (K=5, each coefficient and grouped), sparse-l1 and sparse-l2
(100k x 50k text-like CSR).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from common import benchmark_parser, peak_memory, timed
from threadpoolctl import threadpool_limits

import logitkit as lk


def dense_problem(n, d, rng):
    """Binary, X (n, d) with correlated columns (AR(1), rho 0.5) and 20 true signals."""
    X = rng.normal(size=(n, d))
    X[:, 1:] = 0.5 * X[:, :-1] + np.sqrt(0.75) * X[:, 1:]
    beta = np.zeros(d)
    beta[rng.choice(d, 20, replace=False)] = rng.normal(scale=0.5, size=20)
    y = (X @ beta + rng.logistic(size=n) > 0).astype(np.int64)
    return X, y


def rare_problem(n, d, rng):
    """Binary, about 1% positives: dense_problem's X and signal, intercept -5.5."""
    X, _ = dense_problem(n, d, rng)
    beta = np.zeros(d)
    beta[rng.choice(d, 20, replace=False)] = rng.normal(scale=0.5, size=20)
    return X, (X @ beta - 5.5 + rng.logistic(size=n) > 0).astype(np.int64)


def unscaled_problem(n, d, rng):
    """dense_problem with column scales from 1e-2 to 1e2 (badly scaled columns)."""
    X, y = dense_problem(n, d, rng)
    return X * np.logspace(-2, 2, d), y


def text_problem(n, d, density, rng):
    """Text-like CSR (n, d): Zipf column popularity, log counts, rows scaled to unit
    norm (tf-idf style); y from 200 of the columns."""
    nnz_row = max(1, int(density * d))
    popularity = 1.0 / np.arange(1, d + 1) ** 1.1
    popularity /= popularity.sum()
    cols = rng.choice(d, size=(n, nnz_row), p=popularity)
    cols.sort(axis=1)
    keep = np.ones_like(cols, dtype=bool)
    keep[:, 1:] = cols[:, 1:] != cols[:, :-1]
    counts = np.log1p(rng.poisson(2.0, size=cols.shape) + 1.0)
    rows = np.repeat(np.arange(n), nnz_row).reshape(n, nnz_row)
    X = sp.csr_array((counts[keep], (rows[keep], cols[keep])), shape=(n, d))
    norms = np.sqrt(X.multiply(X).sum(axis=1))
    X = sp.csr_array(sp.diags_array(1.0 / norms) @ X)
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)  # liblinear
    beta = np.zeros(d)
    beta[rng.choice(2000, 200, replace=False)] = rng.normal(scale=4.0, size=200)
    y = (X @ beta - 0.5 + rng.logistic(size=n) > 0).astype(np.int64)
    return X, y


def objective(X, y, coef, intercept, alpha, l1_ratio):
    """Mean log-loss + the elastic net of ``coef`` (d,), for dense or sparse X."""
    scores = X @ np.ravel(coef) + intercept
    loss = np.mean(np.logaddexp(0.0, scores) - np.where(y == 1, scores, 0.0))
    coef = np.ravel(coef)
    return loss + alpha * (l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * coef @ coef)


def binary_solvers(n, alpha, l1_ratio, intercept, tol, sparse=False):
    """name -> fit(X, y) returning (coef (d,), intercept) for one case's settings. glum
    forms a dense d x d Hessian, so it sits out the sparse (wide) cases: at 20k x 50k it
    was killed for memory here."""
    from glum import GeneralizedLinearRegressor
    from sklearn.linear_model import LogisticRegression

    C = 1.0 / (n * alpha)
    out = {}

    def ours(X, y):
        model = lk.LogisticRegression(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=intercept,
                                      tol=tol).fit(X, y)
        return model.coef_.ravel(), float(model.intercept_[0]) if intercept else 0.0

    out["logitkit"] = ours

    def sklearn(solver, tol_):
        def fit(X, y):
            model = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, tol=tol_,
                                       max_iter=10_000, fit_intercept=intercept).fit(X, y)
            return model.coef_.ravel(), float(model.intercept_[0]) if intercept else 0.0
        return fit

    out["sklearn saga"] = sklearn("saga", 1e-8)
    if l1_ratio in (0.0, 1.0) and not intercept:
        out["sklearn liblinear"] = sklearn("liblinear", 1e-8)
    if l1_ratio == 0.0:
        out["sklearn lbfgs"] = sklearn("lbfgs", 1e-10)

    def glum(X, y):
        model = GeneralizedLinearRegressor(family="binomial", alpha=alpha, l1_ratio=l1_ratio,
                                           fit_intercept=intercept, gradient_tol=1e-10,
                                           max_iter=1000).fit(X, y)
        return model.coef_, float(model.intercept_) if intercept else 0.0

    if not sparse:
        out["glum"] = glum
    if l1_ratio > 0:
        from skglm import SparseLogisticRegression

        def skglm(X, y):
            model = SparseLogisticRegression(alpha=alpha, l1_ratio=l1_ratio, tol=1e-8,
                                             fit_intercept=intercept, max_iter=200).fit(X, y)
            return model.coef_.ravel(), float(np.ravel(model.intercept_)[0]) if intercept else 0.0

        out["skglm"] = skglm
    if l1_ratio == 1.0 and not intercept:
        from celer import LogisticRegression as CelerLogistic

        def celer(X, y):
            model = CelerLogistic(C=C, tol=1e-10, max_iter=200).fit(X, 2 * y - 1)
            return model.coef_.ravel(), 0.0

        out["celer"] = celer
    return out


def run_case(name, X, y, alpha, l1_ratio, intercept, repeat, without=()):
    """An untimed warm-up on 2000 rows, then interleaved runs, best of ``repeat``; prints
    one table. ``without``: peers left out of this case (the caller says why)."""
    solvers = binary_solvers(X.shape[0], alpha, l1_ratio, intercept, tol=1e-8,
                             sparse=sp.issparse(X))
    solvers = {key: fit for key, fit in solvers.items() if key not in without}
    best = {key: np.inf for key in solvers}
    results = {}
    for fit in solvers.values():  # compile (numba peers) and import before timing
        timed(lambda fit=fit: fit(X[:2000], y[:2000]))
    for _ in range(repeat):
        for key, fit in solvers.items():
            seconds, result = timed(lambda fit=fit: fit(X, y))
            best[key] = min(best[key], seconds)
            results[key] = result
    objectives = {key: objective(X, y, *results[key], alpha, l1_ratio) for key in solvers}
    floor = min(objectives.values())
    ours = best["logitkit"]
    peak = peak_memory(lambda: solvers["logitkit"](X, y))
    data = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) if sp.issparse(X) else X.nbytes
    print(f"\n{name}: X {X.shape} {'sparse' if sp.issparse(X) else 'dense'}, alpha {alpha:g}, "
          f"l1_ratio {l1_ratio:g}, intercept {intercept}; logitkit's peak extra memory "
          f"{peak / 2**20:.1f} MiB = {peak / data:.2f} x X's data ({data / 2**20:.0f} MiB)")
    print(f"{'solver':20s} {'seconds':>9s} {'t/ours':>7s} {'nonzero':>8s} {'rel. gap':>9s}")
    for key in solvers:
        gap = (objectives[key] - floor) / abs(floor)
        print(f"{key:20s} {best[key]:9.3f} {best[key] / ours:7.2f} "
              f"{np.count_nonzero(results[key][0]):8d} {gap:9.1e}")
    at_optimum = [k for k in solvers if k != "logitkit"
                  and (objectives[k] - floor) / abs(floor) <= 1e-7]
    if at_optimum:
        fastest = min(at_optimum, key=best.get)
        print(f"fastest peer within 1e-7: {fastest}, {best[fastest] / ours:.2f}x logitkit")


def multinomial_problem(n, d, k, rng):
    """K classes from a softmax of 10 of the d columns (the others noise)."""
    X = rng.normal(size=(n, d))
    B = np.zeros((k, d))
    B[:, :10] = rng.normal(size=(k, 10))
    logits = X @ B.T + rng.gumbel(size=(n, k))
    return X, logits.argmax(axis=1)


def softmax_enet(X, y, coef, intercept, alpha, l1_ratio, grouped=False):
    """Mean log-loss of the symmetric (K, d) form + its elastic net (grouped: a column's
    K coefficients under one Euclidean norm)."""
    import scipy.special as sc

    logits = X @ coef.T + intercept
    loss = np.mean(sc.logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])
    size = np.sqrt((coef**2).sum(axis=0)) if grouped else np.abs(coef).sum(axis=0)
    return loss + alpha * (l1_ratio * size.sum() + 0.5 * (1 - l1_ratio) * (coef**2).sum())


def run_multinomial(X, y, alpha, repeat):
    """Multinomial lasso: logitkit (each coefficient, and grouped) against scikit-learn's
    saga (each coefficient; no peer here fits the grouped penalty)."""
    from sklearn.linear_model import LogisticRegression

    fits = {
        "logitkit": lambda: lk.LogisticRegression(alpha=alpha, l1_ratio=1.0, tol=1e-8).fit(X, y),
        "sklearn saga": lambda: LogisticRegression(C=1 / (len(y) * alpha), l1_ratio=1.0,
                                                   solver="saga", tol=1e-8,
                                                   max_iter=10_000).fit(X, y),
        "logitkit grouped": lambda: lk.LogisticRegression(
            alpha=alpha, l1_ratio=1.0, penalty_groups="grouped", tol=1e-8).fit(X, y),
    }
    best, models = {k: np.inf for k in fits}, {}
    for _ in range(repeat):
        for key, fit in fits.items():
            seconds, models[key] = timed(fit)
            best[key] = min(best[key], seconds)
    print(f"\nmultinomial: X {X.shape}, K={len(np.unique(y))}, alpha {alpha:g}, lasso")
    print(f"{'solver':20s} {'seconds':>9s} {'t/ours':>7s} {'nonzero':>8s} {'objective':>18s}")
    for key, model in models.items():
        grouped = key.endswith("grouped")
        value = softmax_enet(X, y, model.coef_, model.intercept_, alpha, 1.0, grouped)
        print(f"{key:20s} {best[key]:9.3f} {best[key] / best['logitkit']:7.2f} "
              f"{np.count_nonzero(model.coef_):8d} {value:18.12f}")


def run_path(X, y, l1_ratio, n_alphas, repeat):
    """A warm-started path of n_alphas alphas: logitkit against glum's own path."""
    from glum import GeneralizedLinearRegressor

    path = lk.regularization_path(X, y, l1_ratio=l1_ratio, n_alphas=n_alphas)
    alphas = path.alphas_

    def glum():
        return GeneralizedLinearRegressor(family="binomial", alphas=alphas, l1_ratio=l1_ratio,
                                          alpha_search=True, gradient_tol=1e-8,
                                          max_iter=1000).fit(X, y)

    best = {"logitkit": np.inf, "glum": np.inf}
    for _ in range(repeat):
        seconds, path = timed(lambda: lk.regularization_path(X, y, l1_ratio=l1_ratio,
                                                             alphas=alphas))
        best["logitkit"] = min(best["logitkit"], seconds)
        seconds, model = timed(glum)
        best["glum"] = min(best["glum"], seconds)
    ours_last = objective(X, y, path.coefs_[-1].ravel(), float(np.ravel(path.intercepts_[-1])[0]),
                          alphas[-1], l1_ratio)
    glum_last = objective(X, y, model.coef_path_[-1], float(model.intercept_path_[-1]),
                          alphas[-1], l1_ratio)
    print(f"\npath: X {X.shape}, {len(alphas)} alphas from {alphas[0]:.3g} to {alphas[-1]:.3g}, "
          f"l1_ratio {l1_ratio:g}")
    print(f"logitkit {best['logitkit']:.3f} s, glum {best['glum']:.3f} s "
          f"({best['glum'] / best['logitkit']:.2f}x); objective at the last alpha: "
          f"logitkit {ours_last:.12g}, glum {glum_last:.12g}")


def main():
    parser = benchmark_parser(__doc__, "the rows", repeat=True, threads=True)
    parser.add_argument("--only", action="append", help="case name (repeatable)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    wanted = set(args.only or [])

    def on(case):
        return not wanted or case in wanted

    warnings.simplefilter("ignore")
    with threadpool_limits(args.threads):
        n_dense = int(200_000 * args.scale)
        if any(on(c) for c in ("dense-lasso", "dense-enet", "dense-lasso-noint", "dense-path")):
            X, y = dense_problem(n_dense, 200, rng)
            if on("dense-lasso"):
                run_case("dense-lasso", X, y, 0.005, 1.0, True, args.repeat)
            if on("dense-enet"):
                run_case("dense-enet", X, y, 0.005, 0.5, True, args.repeat)
            if on("dense-lasso-noint"):
                run_case("dense-lasso-noint", X, y, 0.005, 1.0, False, args.repeat)
            if on("dense-path"):
                run_path(X[: n_dense // 2], y[: n_dense // 2], 0.5, 100, args.repeat)
        if on("rare"):
            X, y = rare_problem(n_dense, 200, rng)
            run_case("rare", X, y, 0.001, 1.0, True, args.repeat)
        if on("unscaled"):
            # saga's step size follows the largest column scale: it does not reach the
            # optimum here within its 10,000 epochs
            X, y = unscaled_problem(n_dense, 200, rng)
            run_case("unscaled", X, y, 0.005, 1.0, True, args.repeat, without=("sklearn saga",))
        if on("wide"):
            # saga took 39 s at a twentieth of the rows (157x logitkit): left out
            X, y = dense_problem(int(20_000 * args.scale), 2000, rng)
            run_case("wide", X, y, 0.005, 0.5, True, args.repeat, without=("sklearn saga",))
        if on("multinomial"):
            run_multinomial(*multinomial_problem(int(100_000 * args.scale), 100, 5, rng),
                            0.01, args.repeat)
        if any(on(c) for c in ("sparse-l1", "sparse-l2")):
            X, y = text_problem(int(100_000 * args.scale), 50_000, 0.001, rng)
            if on("sparse-l1"):
                run_case("sparse-l1", X, y, 1e-4, 1.0, False, args.repeat)
            if on("sparse-l2"):
                run_case("sparse-l2", X, y, 1e-4, 0.0, False, args.repeat)


if __name__ == "__main__":
    main()
