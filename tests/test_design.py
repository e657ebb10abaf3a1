"""Categorical columns as level codes (logitkit.categorical): block products equal the
dense one-hot ones, and fits on a DataFrame equal fits on its one-hot matrix."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import logitkit as lk
from logitkit.categorical import CategoricalDesign
from logitkit.encoding import DesignEncoder
from logitkit.exceptions import AliasedColumnsWarning, PerfectSeparationWarning
from logitkit.inference import available_cov_types


def mixed_frame(n, rng, once=False):
    """Numeric, Categorical (unused and reordered categories, a rare level, seen once if
    ``once``), string and bool columns, interleaved."""
    rare = rng.choice(list("pqrst"), n)
    rare[17:18 if once else 57] = "z"
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "c": pd.Categorical(rng.integers(0, 7, n)),
        "s": rng.choice(["b", "a", "c"], n).astype(object),
        "x32": rng.normal(size=n).astype(np.float32),
        "flag": rng.random(n) < 0.4,
        "r": pd.Categorical(rare, categories=list("tsrqpzu")),
        "k": rng.integers(-3, 3, n),
    })


def one_hot(frame, names):
    """pd.get_dummies(drop_first=True) of the non-numeric columns, in ``names``' order."""
    encoded = [c for c in frame if not pd.api.types.is_numeric_dtype(frame[c])
               or pd.api.types.is_bool_dtype(frame[c])]
    dummies = pd.get_dummies(frame, columns=encoded, drop_first=True, dtype=float,
                             prefix_sep="[")
    dummies.columns = [f"{c}]" if "[" in c else c for c in dummies.columns]
    return dummies[names].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def frame():
    return mixed_frame(3000, np.random.default_rng(0))


@pytest.fixture(scope="module")
def design(frame):
    return DesignEncoder.fit(frame).design(frame)


def test_design_is_the_dummies_without_a_dense_copy(frame, design):
    encoder = DesignEncoder.fit(frame)
    assert isinstance(design, CategoricalDesign)
    np.testing.assert_array_equal(design.toarray(), encoder.transform(frame))
    np.testing.assert_array_equal(design.toarray(), one_hot(frame, encoder.output_names))
    assert all(c.dtype == np.int8 for c in design.codes)
    # a Categorical whose categories are the levels keeps its own codes
    assert np.shares_memory(design.codes[0], frame["c"].array.codes)
    # float64 x, float32 x32 as they are, integer k as float64, four int8 code columns
    assert design.nbytes == len(frame) * (8 + 4 + 8 + 4)


def test_numeric_columns_of_one_block_are_one_view():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f"x{j}": rng.normal(size=500) for j in range(3)})
    frame["c"] = pd.Categorical(rng.integers(0, 4, 500))
    design = DesignEncoder.fit(frame).design(frame)
    assert isinstance(design.numeric, np.ndarray)
    assert np.shares_memory(design.numeric, frame["x1"].to_numpy())
    np.testing.assert_array_equal(design.toarray(), DesignEncoder.fit(frame).transform(frame))


@pytest.mark.parametrize("rows", [slice(None), slice(100, 1900), slice(3, None, 7),
                                  np.array([5, 2999, 5, 17, 0])])
def test_block_products_equal_dense_ones(design, rows):
    rng = np.random.default_rng(2)
    block = design[rows]
    X = block.toarray()
    n, d = X.shape
    B, V, w = rng.normal(size=(d, 3)), rng.normal(size=(n, 2)), rng.normal(size=n)
    S = rng.normal(size=(d, d))
    S = S + S.T
    np.testing.assert_allclose(block @ B, X @ B, rtol=0, atol=1e-12)
    np.testing.assert_allclose(block @ B[:, 0], X @ B[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(V.T @ block, V.T @ X, rtol=0, atol=1e-10)
    np.testing.assert_allclose(V[:, 0] @ block, V[:, 0] @ X, rtol=0, atol=1e-10)
    np.testing.assert_allclose(block.weighted_gram(w), (X * w[:, None]).T @ X, rtol=0,
                               atol=1e-10)
    grams = block.weighted_grams(np.stack([w, w * w, -w]))
    for g, weights in zip(grams, (w, w * w, -w), strict=True):
        np.testing.assert_allclose(g, (X * weights[:, None]).T @ X, rtol=0, atol=1e-10)
    np.testing.assert_allclose(block.quadratic_form(S), np.einsum("ij,ij->i", X @ S, X),
                               rtol=0, atol=1e-10)
    np.testing.assert_array_equal(block.square().toarray(), X * X)


def test_long_designs_are_processed_in_chunks():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=20_000),
                          "c": pd.Categorical(rng.integers(0, 30, 20_000))})
    design = DesignEncoder.fit(frame).design(frame)
    X, B, w = design.toarray(), rng.normal(size=(30, 2)), rng.random(20_000)
    np.testing.assert_allclose(design @ B, X @ B, atol=1e-12)
    np.testing.assert_allclose(w @ design, w @ X, rtol=1e-12)
    np.testing.assert_allclose(design.weighted_gram(w), (X * w[:, None]).T @ X, rtol=1e-12)


def test_a_design_is_never_made_dense_implicitly(design):
    with pytest.raises(TypeError, match=r"toarray\(\)"):
        np.asarray(design)
    with pytest.raises(TypeError, match=r"toarray\(\)"):
        np.asarray(design[10:20])


def test_a_design_selects_rows_only(design):
    with pytest.raises(TypeError, match="rows only"):
        design[:, 0]


def binary(frame, rng):
    return (rng.random(len(frame)) < 0.3 + 0.4 * (frame["s"] == "a")).astype(int)


def multinomial(frame, rng):
    latent = frame["x"] + (frame["s"] == "a") + frame["flag"] + rng.logistic(size=len(frame))
    return np.digitize(latent, [0.0, 1.5])


CASES = {
    "binary": (lk.LogisticRegression(), binary),
    "binary, no intercept, newton-cg": (
        lk.LogisticRegression(fit_intercept=False, solver="newton-cg"), binary),
    "multinomial": (lk.LogisticRegression(), multinomial),
    "multinomial, newton-cg": (lk.LogisticRegression(solver="newton-cg"), multinomial),
    "ordinal": (lk.OrdinalLogisticRegression(), multinomial),
    "ordinal probit": (lk.OrdinalLogisticRegression(link="probit"), multinomial),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_on_codes_equals_fit_on_one_hot(frame, case):
    rng = np.random.default_rng(4)
    estimator, target = CASES[case]
    y = target(frame, rng)
    weights = rng.integers(1, 4, len(frame)).astype(float)
    clusters = rng.integers(0, 30, len(frame))
    ours = clone(estimator).fit(frame, y, sample_weight=weights, clusters=clusters)
    dense = one_hot(frame, ours.coef_names_)
    reference = clone(estimator).fit(dense, y, sample_weight=weights, clusters=clusters)
    assert ours.converged_ and ours.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-10)
    assert ours.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-12)
    np.testing.assert_allclose(ours.predict_proba(frame), reference.predict_proba(dense),
                               rtol=0, atol=1e-12)
    assert (ours.predict(frame) == reference.predict(dense)).all()
    for cov_type in available_cov_types(ours.inference_):
        expected = reference.covariance(cov_type).to_numpy()
        np.testing.assert_allclose(ours.covariance(cov_type).to_numpy(), expected,
                                   rtol=0, atol=1e-10 * np.abs(expected).max())
    if hasattr(ours, "decision_function"):
        np.testing.assert_allclose(ours.decision_function(frame),
                                   reference.decision_function(dense), rtol=0, atol=1e-10)


@pytest.mark.parametrize("target", [binary, multinomial])
def test_a_level_seen_once_with_a_ridge_penalty(target):
    """(Unpenalised, a level seen once separates its row: the MLE does not exist.)"""
    rng = np.random.default_rng(9)
    frame = mixed_frame(2000, rng, once=True)
    y = target(frame, rng)
    ours = lk.LogisticRegression(alpha=1e-3).fit(frame, y)
    dense = one_hot(frame, ours.coef_names_)
    reference = lk.LogisticRegression(alpha=1e-3).fit(dense, y)
    assert (frame["r"] == "z").sum() == 1 and "r[z]" in ours.coef_names_
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(frame), reference.predict_proba(dense),
                               rtol=0, atol=1e-12)


def test_a_level_seen_once_separates_on_codes_as_on_one_hot():
    rng = np.random.default_rng(10)
    frame = mixed_frame(2000, rng, once=True)
    y = binary(frame, rng)
    estimator = lk.LogisticRegression(tol=1e-11)  # (far enough for the probe to fire)
    with pytest.warns(PerfectSeparationWarning, match=r"separated by r\[z\]"):
        ours = clone(estimator).fit(frame, y)
    with pytest.warns(PerfectSeparationWarning, match="separated by x"):
        reference = clone(estimator).fit(one_hot(frame, ours.coef_names_), y)
    assert ours.separation_status_ == reference.separation_status_
    assert ours.separation_.features == reference.separation_.features


def test_lbfgs_reaches_the_same_optimum_on_codes(frame):
    """(L-BFGS's path depends on the products' rounding: the same optimum, not the same
    iterates.)"""
    rng = np.random.default_rng(11)
    y = multinomial(frame, rng)
    estimator = lk.LogisticRegression(solver="lbfgs", tol=1e-10, max_iter=1000)
    ours = clone(estimator).fit(frame, y)
    reference = clone(estimator).fit(one_hot(frame, ours.coef_names_), y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-6)
    assert ours.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-12)


def test_a_device_fit_makes_the_design_dense(frame):
    pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    y = binary(frame, rng)
    ours = lk.LogisticRegression(device="cpu").fit(frame, y)
    reference = lk.LogisticRegression().fit(frame, y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-10)


def test_predict_selects_columns_by_name_and_names_unseen_levels(frame):
    rng = np.random.default_rng(5)
    y = binary(frame, rng)
    model = lk.LogisticRegression().fit(frame, y)
    shuffled = frame[list(reversed(frame.columns))].assign(extra=1.0)
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(frame))
    bad = frame.head(3).assign(s=["a", "b", "nope"])
    with pytest.raises(ValueError, match=r"column 's' has categories not seen.*nope"):
        model.predict(bad)


def test_an_aliased_level_is_found_on_codes(frame):
    rng = np.random.default_rng(6)
    aliased = frame.assign(copy=(frame["s"] == "c").astype(float))
    y = binary(frame, rng)
    with pytest.warns(AliasedColumnsWarning, match=r"\['copy'\]"):
        ours = lk.LogisticRegression().fit(aliased, y)
    dense = one_hot(aliased, ours.coef_names_)
    with pytest.warns(AliasedColumnsWarning):
        reference = lk.LogisticRegression().fit(dense, y)
    np.testing.assert_array_equal(ours.result_.aliased, reference.result_.aliased)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-10)
    for cov_type in ("nonrobust", "HC1"):
        np.testing.assert_allclose(ours.covariance(cov_type).to_numpy(),
                                   reference.covariance(cov_type).to_numpy(), rtol=1e-8)


def test_minibatch_solvers_train_the_same_model_on_codes(frame):
    rng = np.random.default_rng(7)
    y = binary(frame, rng)
    estimator = lk.LogisticRegression(solver="adam", epochs=2, batch_size=64, random_state=0,
                                      validation_split=0.2)
    ours = clone(estimator).fit(frame, y)
    reference = clone(estimator).fit(one_hot(frame, ours.coef_names_), y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.history_["val_loss"], reference.history_["val_loss"],
                               rtol=1e-12)


def _levels_frame(rng, n, n_categorical, n_numeric):
    """(frame, its numbers' and codes' bytes): n rows of ``n_categorical`` Categorical
    columns of 50 levels (int8 codes) and ``n_numeric`` standard normal columns."""
    columns = {f"c{j}": pd.Categorical.from_codes(rng.integers(0, 50, n), range(50))
               for j in range(n_categorical)}
    columns.update({f"x{j}": rng.normal(size=n) for j in range(n_numeric)})
    return pd.DataFrame(columns), n_numeric * n * 8 + n_categorical * n


def test_fit_memory_stays_far_below_the_one_hot_matrix():
    """200k rows, 3 Categorical x 50 levels + 5 numeric: the fit (with inference) needs no
    dense one-hot copy. Measured peak: 0.73 of the numeric storage + codes (8.6 MB) while
    an unweighted fit held an (n,) array of ones, half of it the labels and weights (16
    bytes a row; now the labels' 8), most of the rest the aliasing check's QR of a
    5000-row sample. The one-hot matrix would be 243 MB."""
    rng = np.random.default_rng(8)
    n = 200_000
    frame, storage = _levels_frame(rng, n, n_categorical=3, n_numeric=5)
    y = (rng.random(n) < 0.5).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracemalloc.start()
        model = lk.LogisticRegression().fit(frame, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert model.converged_ and len(model.coef_names_) == 3 * 49 + 5
    assert peak < 0.85 * storage
    assert peak < 0.03 * n * len(model.coef_names_) * 8


def test_penalised_fit_extra_memory_is_under_a_quarter_of_the_frame():
    """Issue 12's memory target on its categorical case: 300k rows, 5 Categorical x 50
    levels + 10 numeric, alpha 1e-4: the fit's extra memory is at most a quarter of the
    frame's numbers and codes (measured 23.3%; 32.7% while an unweighted fit held an
    (n,) array of ones as its weights)."""
    rng = np.random.default_rng(9)
    n = 300_000
    frame, storage = _levels_frame(rng, n, n_categorical=5, n_numeric=10)
    y = (frame["x0"] + rng.logistic(size=n) > 0).astype(np.int64)
    lk.LogisticRegression(alpha=1e-4).fit(frame.iloc[:5000], y[:5000])  # imports, caches
    tracemalloc.start()
    model = lk.LogisticRegression(alpha=1e-4).fit(frame, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert model.converged_
    assert peak < 0.25 * storage, peak / storage
