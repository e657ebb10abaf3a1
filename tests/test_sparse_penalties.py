"""L1 and elastic-net fits, paths and CV on scipy.sparse X equal those on the dense copy
(every kind, weights, both group modes), and a wide sparse lasso never densifies X."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import logitkit as lk

# binary fits on sparse X solve their models on the rows (no Hessian matrix), dense ones
# with it: both stop at KKT violations <= tol, so compare at a tight tol
TOL = 1e-11


def _sparse_data(n=600, d=40, density=0.15, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, d), density=density, random_state=seed, format="csr")
    eta = X @ np.r_[3.0 * rng.normal(size=6), np.zeros(d - 6)]
    return X, eta + rng.logistic(size=n), rng.uniform(0.5, 2.0, size=n)


def _targets(score):
    return {
        "binary": (score > np.median(score)).astype(int),
        "multinomial": np.digitize(score, np.quantile(score, [0.3, 0.65])),
        "ordinal": np.digitize(score, np.quantile(score, [0.25, 0.5, 0.75])),
    }


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_sparse_and_dense_elastic_net_fits_agree(kind, l1_ratio):
    X, score, weights = _sparse_data()
    y = _targets(score)[kind]
    if kind == "ordinal":
        make = [lambda link=link: lk.OrdinalLogisticRegression(
                    link=link, alpha=0.01, l1_ratio=l1_ratio, tol=TOL)
                for link in ("logit", "probit", "cloglog")]
    else:
        groups = ["none", "grouped"] if kind == "multinomial" else ["none"]
        make = [lambda g=g: lk.LogisticRegression(alpha=0.01, l1_ratio=l1_ratio,
                                                  penalty_groups=g, tol=TOL) for g in groups]
    for new in make:
        on_sparse = new().fit(X, y, sample_weight=weights)
        on_dense = new().fit(X.toarray(), y, sample_weight=weights)
        assert on_sparse.result_.solver == "prox-newton" and on_sparse.converged_
        np.testing.assert_allclose(on_sparse.coef_, on_dense.coef_, rtol=0, atol=1e-8)
        assert np.array_equal(on_sparse.coef_ == 0, on_dense.coef_ == 0)
        assert 0 < np.count_nonzero(on_sparse.coef_) < on_sparse.coef_.size
        np.testing.assert_allclose(on_sparse.predict_proba(X), on_dense.predict_proba(X),
                                   rtol=0, atol=1e-8)


def test_sparse_path_and_cv_equal_dense():
    X, score, weights = _sparse_data(seed=1)
    y = _targets(score)["binary"]
    tight = lk.LogisticRegression(tol=TOL)
    sparse_path = lk.regularization_path(X, y, estimator=tight, l1_ratio=0.5, n_alphas=15,
                                         sample_weight=weights)
    dense_path = lk.regularization_path(X.toarray(), y, estimator=tight, l1_ratio=0.5,
                                        n_alphas=15, sample_weight=weights)
    np.testing.assert_allclose(sparse_path.alphas_, dense_path.alphas_, rtol=1e-12)
    np.testing.assert_allclose(sparse_path.coefs_, dense_path.coefs_, rtol=0, atol=1e-8)
    assert np.array_equal(sparse_path.n_nonzero_, dense_path.n_nonzero_)
    cv_sparse = lk.LogisticRegressionCV(l1_ratios=[0.5, 1.0], n_alphas=8, cv=3, tol=TOL,
                                        random_state=0).fit(X, y)
    cv_dense = lk.LogisticRegressionCV(l1_ratios=[0.5, 1.0], n_alphas=8, cv=3, tol=TOL,
                                       random_state=0).fit(X.toarray(), y)
    assert (cv_sparse.alpha_, cv_sparse.l1_ratio_) == pytest.approx(
        (cv_dense.alpha_, cv_dense.l1_ratio_), rel=1e-12)
    np.testing.assert_allclose(cv_sparse.cv_results_["mean_score"],
                               cv_dense.cv_results_["mean_score"], rtol=1e-9)
    np.testing.assert_allclose(cv_sparse.coef_, cv_dense.coef_, rtol=0, atol=1e-8)


def test_wide_sparse_lasso_is_not_densified():
    """A 50,000 x 20,000 CSR with 10 entries a row: a lasso with about 9,500 non-zero
    coefficients is solved on the rows (no 9,500 x 9,500 model Hessian: that took 187 s
    and 2.8 GiB), and tracemalloc's peak stays within a small multiple of the CSR's own
    bytes (the working set's column copy; measured 1.7x). The dense copy would be 7.5 GiB."""
    rng = np.random.default_rng(2)
    n, d, per_row = 50_000, 20_000, 10
    # (scipy's random_array samples positions out of n x d: over a minute at this size)
    X = sp.csr_array((rng.normal(size=n * per_row), rng.integers(0, d, size=n * per_row),
                      np.arange(0, n * per_row + 1, per_row)), shape=(n, d))
    beta = np.zeros(d)
    beta[:20] = 8.0
    y = (X @ beta + rng.logistic(size=n) > 0).astype(int)
    alpha = 0.1 * np.abs(X.T @ (y - y.mean())).max() / n  # a tenth of alpha_max
    # 2000 rows first (compiles the kernels): more columns than rows, rows fitted to
    # probabilities that round to 1, whose curvature must not round to 0 (a coefficient
    # of 55.6 once stayed there for 100 iterations)
    small = lk.LogisticRegression(alpha=alpha, l1_ratio=1.0).fit(X[:2000], y[:2000])
    assert small.converged_ and np.count_nonzero(small.coef_) > 1000
    tracemalloc.start()
    try:
        model = lk.LogisticRegression(alpha=alpha, l1_ratio=1.0).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    csr_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert model.converged_ and np.count_nonzero(model.coef_) > 5000
    assert peak < 2.5 * csr_bytes, (peak, csr_bytes)
    # optimality on every column, computed here from the sparse matrix
    p = 1 / (1 + np.exp(-(X @ model.coef_.ravel() + model.intercept_[0])))
    grad = X.T @ (p - y) / n
    b = model.coef_.ravel()
    violation = np.where(b != 0, np.abs(grad + alpha * np.sign(b)),
                         np.maximum(np.abs(grad) - alpha, 0))
    assert violation.max() <= 1e-7
    assert abs((p - y).mean()) <= 1e-7  # the intercept's


@pytest.mark.parametrize("sparse", [False, True])
def test_coordinate_descent_without_numba_equals_compiled(sparse, monkeypatch):
    """The working-set model's coordinate descent (on the Hessian for dense X, on the
    rows for sparse binary X) runs the same loops in Python when numba is absent."""
    from logitkit.solvers import compiled_loop

    X, score, weights = _sparse_data(n=300, d=15, seed=4)
    X = X if sparse else X.toarray()
    y = _targets(score)["binary"]
    fits = {}
    for enabled in (True, False):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        fits[enabled] = lk.LogisticRegression(alpha=0.005, l1_ratio=0.7, tol=TOL).fit(
            X, y, sample_weight=weights)
    np.testing.assert_allclose(fits[False].coef_, fits[True].coef_, rtol=0, atol=1e-10)
    assert fits[False].converged_ and np.count_nonzero(fits[False].coef_) > 0
