"""scipy.sparse X (logitkit.sparse): block products equal the dense ones, fits on CSR and
CSC input equal fits on the dense matrix (every kind, link and solver, weights, clusters,
inference, predictions), X is never made dense, and bad input is refused by name."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import logitkit as lk
from logitkit.exceptions import AliasedColumnsWarning, PerfectSeparationWarning
from logitkit.inference import available_cov_types
from logitkit.objective import Objective
from logitkit.sparse import SparseDesign, sparse_design


def sparse_problem(n, d, density, seed, dtype=np.float64):
    """(X CSR (n, d) with values around 1, binary y, 3 ordered classes y3)."""
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, d), density=density, rng=rng, format="csr", dtype=dtype,
                        data_sampler=lambda size: rng.normal(1.0, 1.0, size))
    eta = X @ rng.normal(size=d)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    y3 = np.digitize(eta + rng.logistic(size=n), [-0.7, 0.7])
    return X, y, y3


@pytest.fixture(scope="module")
def data():
    X, y, y3 = sparse_problem(600, 10, 0.3, 0)
    rng = np.random.default_rng(1)
    return X, y, y3, rng.integers(1, 4, 600).astype(float), rng.integers(0, 25, 600)


def assert_same_fit(a, b, X_a, X_b, rtol=1e-8):
    """Coefficients, log-likelihood, every covariance and the predictions agree."""
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=rtol, atol=rtol)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=rtol)
    if a.inference_ is not None:
        for cov_type in available_cov_types(b.inference_):
            np.testing.assert_allclose(a.covariance(cov_type).to_numpy(),
                                       b.covariance(cov_type).to_numpy(), rtol=rtol,
                                       atol=rtol * 1e-2)
    np.testing.assert_allclose(a.predict_proba(X_a), b.predict_proba(X_b), rtol=rtol,
                               atol=1e-12)
    np.testing.assert_array_equal(a.predict(X_a), b.predict(X_b))


# -- the design's block products ----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_block_products_equal_dense(dtype):
    X, _, _ = sparse_problem(300, 7, 0.4, 2, dtype)
    design, dense = sparse_design(X), X.toarray()
    rng = np.random.default_rng(3)
    B, V, w = rng.normal(size=(7, 3)), rng.normal(size=(2, 300)), rng.normal(size=300)
    tol = dict(rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-12)
    assert design.dtype == dtype and design.row_width == -(-X.nnz // 300)
    assert (design @ B.astype(dtype)).dtype == dtype  # products in X's dtype
    np.testing.assert_allclose(design @ B, dense @ B, **tol)
    np.testing.assert_allclose(V @ design, V @ dense, **tol)
    np.testing.assert_allclose(w @ design, w @ dense, **tol)
    np.testing.assert_allclose(design.weighted_gram(w), dense.T @ (w[:, None] * dense), **tol)
    S = B @ B.T
    np.testing.assert_allclose(design.quadratic_form(S), np.einsum("ij,jk,ik->i", dense, S,
                                                                   dense), **tol)
    np.testing.assert_allclose(design.square().toarray(), dense * dense, **tol)
    means = rng.normal(size=7)
    np.testing.assert_allclose(design.centred_square_sums(np.abs(w), means),
                               np.abs(w) @ (dense - means) ** 2, **tol)
    groups = rng.integers(0, 4, 300)
    sums = design.group_sums(V.T, groups, 4)
    for g in range(4):
        np.testing.assert_allclose(sums[g], V[:, groups == g] @ dense[groups == g], **tol)
    for rows in (slice(10, 50), slice(3, None, 7), np.array([5, 1, 299])):
        np.testing.assert_array_equal(design[rows].toarray(), dense[rows])
    with pytest.raises(TypeError, match="made dense implicitly"):
        np.asarray(design)


def test_objective_blocks_follow_stored_entries():
    """A wide sparse X's byte budget is its stored entries' (a sixteenth of their bytes),
    not its d columns' (which would make blocks of 256 rows); its row blocks are views,
    so a value or gradient pass's blocks are sized by the family's (b, m + 2) arrays
    and a Hessian pass's (which copies its weighted rows) by the stored entries."""
    n, d, per_row = 200_000, 50_000, 10
    indices = np.random.default_rng(4).integers(0, d, n * per_row)
    X = sp.csr_array((np.ones(n * per_row), indices, np.arange(0, n * per_row + 1, per_row)),
                     shape=(n, d))
    objective = Objective(lk.LogisticRegression()._family(2), sparse_design(X),
                          np.zeros(n, dtype=int), np.ones(n), 2, True)
    assert objective.row_width == per_row
    budget = n * per_row * 8 // 16
    assert objective.block_rows == budget // (8 * (objective.m + 2))
    assert objective.wide_block_rows == budget // (8 * per_row) // (objective.m + 2)


# -- fits equal the dense fits -------------------------------------------------------------
@pytest.mark.parametrize("solver", ["newton", "newton-cg", "lbfgs"])
@pytest.mark.parametrize("kind", ["binary", "multinomial", "logit", "probit", "cloglog"])
def test_fits_equal_dense(data, kind, solver):
    X, y, y3, w, clusters = data
    if kind in ("binary", "multinomial"):
        make, target = lk.LogisticRegression, (y if kind == "binary" else y3)
    else:
        make, target = (lambda **k: lk.OrdinalLogisticRegression(link=kind, **k)), y3
    fits = [make(solver=solver).fit(Z, target, sample_weight=w, clusters=clusters)
            for Z in (X, X.toarray())]
    assert fits[0].n_passes_ == fits[1].n_passes_
    assert_same_fit(*fits, X, X.toarray())


@pytest.mark.parametrize("convert", [sp.csc_array, sp.csr_matrix, sp.csc_matrix])
def test_formats_class_weight_ridge_and_no_intercept(data, convert):
    X, _, y3, _, _ = data
    for params in (dict(class_weight="balanced"), dict(alpha=0.05, fit_intercept=False)):
        fits = [lk.LogisticRegression(**params).fit(Z, y3) for Z in (convert(X), X.toarray())]
        assert_same_fit(*fits, convert(X), X.toarray())
    assert isinstance(fits[0].decision_function(X), np.ndarray)
    np.testing.assert_allclose(fits[0].decision_function(X),
                               fits[1].decision_function(X.toarray()), rtol=1e-8)
    assert fits[0].score(X, y3) == fits[1].score(X.toarray(), y3)


def test_integer_values_and_duplicate_entries(data):
    """Integer values become float64; duplicate entries count as their sum (X itself is
    left as it was)."""
    X, y, _, _, _ = data
    counts = sp.csr_matrix((np.arange(1.0, 7.0), [1, 1, 0, 2, 2, 2], [0, 2, 3, 5, 6]),
                           shape=(4, 3))
    assert not counts.has_canonical_format
    before = counts.data.copy()
    design, dense = sparse_design(counts), counts.toarray()
    np.testing.assert_array_equal(design.toarray(), dense)
    np.testing.assert_array_equal(design.square().toarray(), dense**2)
    np.testing.assert_array_equal(design[1:4].square().toarray(), dense[1:4] ** 2)
    np.testing.assert_allclose(design.centred_square_sums(np.ones(4), np.full(3, 0.5)),
                               ((dense - 0.5) ** 2).sum(axis=0))
    np.testing.assert_array_equal(counts.data, before)
    ints = sp.csr_array(np.round(X.toarray() * 3).astype(np.int64))
    fits = [lk.LogisticRegression().fit(Z, y) for Z in (ints, ints.toarray())]
    assert_same_fit(*fits, ints, ints.toarray())


def test_float32_stays_float32(data):
    X, y, _, _, _ = data
    X32 = X.astype(np.float32)
    model = lk.LogisticRegression()
    design = model._design(X32, reset=True)
    assert isinstance(design, SparseDesign) and design.dtype == np.float32
    assert np.shares_memory(design.matrix.data, X32.data)  # no copy of the stored values
    fits = [lk.LogisticRegression().fit(Z, y) for Z in (X32, X32.toarray())]
    # float32 products sum in another order: agreement at float32's precision
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fits[0].covariance("HC3").to_numpy(),
                               fits[1].covariance("HC3").to_numpy(), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_equals_dense_minibatch(data, solver):
    X, y, y3, w, _ = data
    for make, target in ((lk.LogisticRegression, y), (lk.LogisticRegression, y3),
                         (lk.OrdinalLogisticRegression, y3)):
        fits = [make(solver=solver, epochs=4, batch_size=50, random_state=0,
                     validation_split=0.1).fit(Z, target, sample_weight=w)
                for Z in (X, X.toarray())]
        np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fits[0].history_["val_loss"], fits[1].history_["val_loss"],
                                   rtol=1e-10)
        fits[0].partial_fit(X[:100], target[:100])
        fits[1].partial_fit(X.toarray()[:100], target[:100])
        np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-10, atol=1e-12)


def test_sampled_hessian_and_ordinal_warm_start_equal_dense():
    """Newton's row-sampled Hessian (every k-th row of X) and the ordinal fit's warm start
    from a row sample take the same rows of a sparse X."""
    X, y, y3 = sparse_problem(42_000, 60, 0.05, 5)
    for make, target in ((lk.LogisticRegression, y), (lk.OrdinalLogisticRegression, y3)):
        fits = [make(solver="newton", inference=False).fit(Z, target)
                for Z in (X, X.toarray())]
        np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-8, atol=1e-10)
        assert fits[0].n_passes_ == fits[1].n_passes_


# -- checks ------------------------------------------------------------------------------
def test_aliased_columns_as_dense(data):
    X, y, _, _, _ = data
    X = sp.hstack([X, X[:, [2]], sp.csr_array((600, 1)), X[:, [0]] + X[:, [1]]], format="csr")
    fits = []
    for Z in (X, X.toarray()):
        with pytest.warns(AliasedColumnsWarning, match=r"\['x10', 'x11', 'x12'\]"):
            fits.append(lk.LogisticRegression().fit(Z, y))
    assert fits[0].aliased_ == fits[1].aliased_ == ["x10", "x11", "x12"]
    assert_same_fit(*fits, X, X.toarray())


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_separation_check_on_sparse_margins(data, kind):
    X, y, y3, _, _ = data
    X = abs(X)  # (non-negative: a stored x0 separates)
    flag = X[:, [0]].toarray()[:, 0] > 0
    target = np.where(flag, 1, y) if kind == "binary" else np.where(flag, 2, y3)
    make = lk.OrdinalLogisticRegression if kind == "ordinal" else lk.LogisticRegression
    reports = []
    for Z in (X, X.toarray()):
        with pytest.warns(PerfectSeparationWarning, match="quasi-completely separated by x0"):
            reports.append(make().fit(Z, target).separation_)
    assert reports[0].features == reports[1].features == (0,)
    np.testing.assert_allclose(reports[0].direction, reports[1].direction, atol=1e-9)


# -- input errors, devices, files ------------------------------------------------------------
@pytest.mark.parametrize("convert", [sp.coo_array, sp.lil_matrix, sp.dok_array, sp.bsr_array])
def test_other_formats_are_refused(data, convert):
    X, y, _, _, _ = data
    with pytest.raises(TypeError, match=r"CSR or CSC format, got (COO|LIL|DOK|BSR); convert "
                                        r"it with X.tocsr\(\)"):
        lk.LogisticRegression().fit(convert(X), y)


@pytest.mark.parametrize("value, name", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_values_are_named(data, value, name):
    X, y, _, _, _ = data
    bad = X.copy()
    bad.data[bad.indptr[7] + 1] = value
    column = bad.indices[bad.indptr[7] + 1]
    with pytest.raises(ValueError, match=f"contains {name} among its stored values: first at "
                                         f"row 7, column {column}"):
        lk.LogisticRegression().fit(bad, y)


def test_shapes_and_device_errors(data):
    X, y, _, _, _ = data
    model = lk.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features"):
        model.predict(X[:, :5])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        lk.LogisticRegression().fit(X[:500], y)
    with pytest.raises(ValueError, match="0 sample"):
        lk.LogisticRegression().fit(X[:0], y[:0])
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="fitted and predicted on the host: device='cpu'"):
        lk.LogisticRegression(device="cpu").fit(X, y)


def test_save_load_and_mixed_inputs(data, tmp_path):
    X, _, y3, w, clusters = data
    model = lk.OrdinalLogisticRegression().fit(X, y3, sample_weight=w, clusters=clusters)
    model.save(tmp_path / "model.lkm")
    loaded = lk.load(tmp_path / "model.lkm")
    assert (tmp_path / "model.lkm").stat().st_size < X.data.nbytes  # the file holds no X
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X.toarray()))
    assert str(loaded.summary(cov_type="cluster")) == str(model.summary(cov_type="cluster"))
    dense_model = lk.OrdinalLogisticRegression().fit(X.toarray(), y3)
    np.testing.assert_allclose(dense_model.predict_proba(X),
                               dense_model.predict_proba(X.toarray()), rtol=1e-12)


def test_million_rows_hundred_thousand_columns_never_dense():
    """A 10^6 x 10^5 CSR at 0.01% density (10 entries a row) fits a ridge model without a
    dense copy: Python's peak allocations stay below the CSR's own bytes."""
    rng = np.random.default_rng(7)
    n, d, per_row = 10**6, 10**5, 10
    indices = rng.integers(0, d, n * per_row).astype(np.int32)
    X = sp.csr_array((np.ones(n * per_row), indices, np.arange(0, n * per_row + 1, per_row,
                                                                dtype=np.int32)), shape=(n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ rng.normal(size=d)) / 3))).astype(np.int8)
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    tracemalloc.start()
    try:
        # (one BLAS thread: on a busy host the blocks' small products wait on a second)
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("error")
            model = lk.LogisticRegression(alpha=1e-4, solver="newton-cg", tol=1e-6).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.converged_ and model.coef_.shape == (1, d)
    # (measured: 0.53 of the CSR's bytes; a dense X would be 8e11 bytes, the CSR 1.2e8)
    assert peak < x_bytes
    # the optimum: the gradient of the penalised mean loss vanishes
    p = 1 / (1 + np.exp(-(X @ model.coef_[0] + model.intercept_[0])))
    grad = (p - y) @ X / n + 1e-4 * model.coef_[0]
    assert np.abs(grad).max() < 1e-5 and abs(np.mean(p - y)) < 1e-5
