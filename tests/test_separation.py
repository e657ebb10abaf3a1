import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from logitkit.separation import SeparationReport, detect_separation


def _binary_logistic(rng, n, beta, intercept=0.0):
    X = rng.normal(size=(n, len(beta)))
    p = 1.0 / (1.0 + np.exp(-(intercept + X @ np.asarray(beta))))
    return X, (rng.random(n) < p).astype(int)


def _ordinal_logistic(rng, X, beta, thresholds):
    # proportional odds: P(Y <= j) = expit(theta_j - x'b), latent-variable form
    latent = X @ np.asarray(beta) + rng.logistic(size=X.shape[0])
    return np.searchsorted(np.asarray(thresholds), latent).astype(int)


def _binomial_certificate_ok(X, y, direction):
    # some cut point c separates x'b: max over class 0 <= min over class 1
    eta = X @ direction
    return eta[y == 0].max() <= eta[y == 1].min() + 1e-9


def _ordinal_certificate_ok(X, y, direction, K):
    eta = X @ direction
    return all(eta[y <= c].max() <= eta[y > c].min() + 1e-9 for c in range(K - 1))


# ---------------------------------------------------------------- binomial


def test_binomial_complete_one_feature():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(int)
    rep = detect_separation(X, y, "binomial", 2)
    assert isinstance(rep, SeparationReport)
    assert rep.separated and rep.complete
    assert rep.features == (0,)
    assert rep.direction.shape == (2,)
    assert rep.direction[0] > 0 and rep.direction[1] == 0
    assert _binomial_certificate_ok(X, y, rep.direction)


def test_binomial_complete_negative_direction_and_offset_cut():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3)) * [1.0, 100.0, 0.01]
    y = (X[:, 1] < 30.0).astype(int)
    rep = detect_separation(X, y, "binomial", 2)
    assert rep.separated and rep.complete and rep.features == (1,)
    assert rep.direction[1] < 0
    # without an intercept the cut at 30 cannot be represented
    rep0 = detect_separation(X, y, "binomial", 2, fit_intercept=False)
    assert not rep0.separated and rep0.direction is None


def test_binomial_quasi_complete():
    rng = np.random.default_rng(2)
    n = 60
    x1 = np.abs(rng.normal(size=n))
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    x1[y == 0] *= -1
    x1[[0, 1, 30, 31]] = 0.0  # ties at the boundary in both classes
    X = np.column_stack([x1, rng.normal(size=n)])
    rep = detect_separation(X, y, "binomial", 2)
    assert rep.separated and not rep.complete
    assert rep.features == (0,)
    assert _binomial_certificate_ok(X, y, rep.direction)


def test_binomial_overlap_not_separated():
    rng = np.random.default_rng(3)
    X, y = _binary_logistic(rng, 200, [1.0, -0.5, 0.25], intercept=0.3)
    rep = detect_separation(X, y, "binomial", 2)
    assert rep == SeparationReport(False, False, (), None)


def test_binomial_dummy_only_in_event_class():
    rng = np.random.default_rng(4)
    X, y = _binary_logistic(rng, 200, [1.0, -1.0])
    dummy = np.zeros(200)
    dummy[np.flatnonzero(y == 1)[:7]] = 1.0
    X = np.column_stack([X, dummy])
    rep = detect_separation(X, y, "binomial", 2)
    assert rep.separated and not rep.complete
    assert rep.features == (2,)
    assert rep.direction[2] > 0


def test_binomial_single_class_only_intercept():
    X = np.random.default_rng(5).normal(size=(20, 2))
    rep = detect_separation(X, np.ones(20, dtype=int), "binomial", 2)
    assert rep.separated and rep.complete and rep.features == ()
    assert np.all(rep.direction == 0)


def test_zero_weights_are_ignored():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    # two rows on the wrong side would break the separation
    X = np.vstack([X, [[2.0, 0.0], [-2.0, 0.0]]])
    y = np.r_[y, 0, 1]
    w = np.r_[np.ones(50), 0.0, 0.0]
    assert not detect_separation(X, y, "binomial", 2).separated
    assert not detect_separation(X, y, "binomial", 2, sample_weight=np.ones(52)).separated
    rep = detect_separation(X, y, "binomial", 2, sample_weight=w)
    assert rep.separated and rep.complete and rep.features == (0,)
    w_multi = detect_separation(X, y, "multinomial", 2, sample_weight=w)
    assert w_multi.separated and w_multi.features == (0,)


# ------------------------------------------------------------- multinomial


def test_multinomial_clusters_separated():
    rng = np.random.default_rng(7)
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    y = np.repeat(np.arange(3), 40)
    X = centers[y] + rng.normal(scale=0.5, size=(120, 2))
    rep = detect_separation(X, y, "multinomial", 3)
    assert rep.separated and rep.complete
    assert rep.direction.shape == (4,)  # (K-1) x d slopes, row-major
    assert rep.features == (0, 1)


def test_multinomial_overlap_not_separated():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 3))
    B = np.array([[0.0, 0.0, 0.0], [0.8, -0.5, 0.2], [-0.4, 0.6, 0.5]])
    eta = X @ B.T
    P = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    y = (rng.random(300)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    for fi in (True, False):
        rep = detect_separation(X, y, "multinomial", 3, fit_intercept=fi)
        assert not rep.separated and not rep.complete and rep.direction is None


@pytest.mark.parametrize("cls", [0, 2])
def test_multinomial_dummy_predicts_one_class(cls):
    rng = np.random.default_rng(9)
    n = 300
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, 3, size=n)
    dummy = (y == cls).astype(float)  # class `cls` iff dummy == 1
    X = np.column_stack([X[:, 0], dummy, X[:, 1]])
    rep = detect_separation(X, y, "multinomial", 3)
    assert rep.separated and not rep.complete
    assert rep.features == (1,)
    D = rep.direction.reshape(2, 3)
    assert np.all(D[:, [0, 2]] == 0)


def test_two_class_kinds_agree_with_binomial():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(6, 25))
        X = rng.normal(size=(n, 2))
        y = (rng.random(n) < 0.5).astype(int)
        b = detect_separation(X, y, "binomial", 2)
        m = detect_separation(X, y, "multinomial", 2)
        o = detect_separation(X, y, "ordinal", 2)
        assert b.separated == m.separated == o.separated
        assert b.complete == m.complete == o.complete
        if b.separated:
            assert _binomial_certificate_ok(X, y, b.direction)
            assert _binomial_certificate_ok(X, y, o.direction)


# ----------------------------------------------------------------- ordinal


def test_ordinal_thresholds_separate():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(150, 2))
    y = np.digitize(X[:, 1], [-0.5, 0.4, 1.0])
    rep = detect_separation(X, y, "ordinal", 4)
    assert rep.separated and rep.complete
    assert rep.features == (1,)
    assert rep.direction[1] > 0
    assert _ordinal_certificate_ok(X, y, rep.direction, 4)
    # reversed order: the slope must be negative
    rep_rev = detect_separation(X, 3 - y, "ordinal", 4)
    assert rep_rev.separated and rep_rev.direction[1] < 0


def test_ordinal_unordered_classes_not_separated_as_ordinal():
    # classes perfectly determined by x but not monotonically: multinomial separates,
    # the proportional-odds model does not
    x = np.linspace(-3, 3, 61)
    y = np.where(np.abs(x) < 1, 2, np.where(x < 0, 0, 1))  # middle of x -> highest class
    X = x[:, None]
    assert detect_separation(X, y, "multinomial", 3).separated
    assert not detect_separation(X, y, "ordinal", 3).separated


def test_ordinal_overlap_not_separated():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 3))
    y = _ordinal_logistic(rng, X, [1.0, -0.5, 0.3], [-1.0, 0.5, 1.5])
    assert set(np.unique(y)) == {0, 1, 2, 3}
    rep = detect_separation(X, y, "ordinal", 4)
    assert not rep.separated and rep.direction is None


def test_ordinal_ucla_like_not_separated():
    # same design as the UCLA ologit example (apply ~ pared + public + gpa, n = 400)
    rng = np.random.default_rng(13)
    n = 400
    pared = (rng.random(n) < 0.16).astype(float)
    public = (rng.random(n) < 0.14).astype(float)
    gpa = np.clip(rng.normal(3.0, 0.4, size=n), 1.9, 4.0).round(2)
    X = np.column_stack([pared, public, gpa])
    y = _ordinal_logistic(rng, X, [1.05, -0.06, 0.62], [2.20, 4.30])
    assert np.bincount(y, minlength=3).min() > 10
    rep = detect_separation(X, y, "ordinal", 3)
    assert not rep.separated and not rep.complete


def test_ordinal_empty_extreme_class_only_cut_points():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(200, 2))
    y = _ordinal_logistic(rng, X, [1.0, 0.5], [-0.5, 0.5]) + 1  # class 0 never observed
    rep = detect_separation(X, y, "ordinal", 4)
    assert rep.separated and rep.features == ()
    assert not detect_separation(X, y - 1, "ordinal", 3).separated


def _newton_max_abs_eta(X, y, iters=100):
    # plain Newton-Raphson for the binomial MLE: |eta| stays small when the MLE exists and
    # runs off (to ~35, where float64 saturates) when it does not
    Z = np.column_stack([X, np.ones(len(y))])
    b = np.zeros(Z.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(Z @ b, -700, 700)))
        H = Z.T @ (Z * (p * (1 - p))[:, None])
        b = b + np.linalg.lstsq(H, Z.T @ (y - p), rcond=None)[0]
    return np.abs(Z @ b).max()


def test_binomial_agrees_with_newton_divergence_on_discrete_data():
    # small samples of binary covariates: quasi-complete separation is common
    n_sep = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(10, 30))
        X = (rng.random((n, 3)) < 0.3).astype(float)
        y = (rng.random(n) < 0.5).astype(int)
        if y.min() == y.max():
            continue
        rep = detect_separation(X, y, "binomial", 2)
        assert rep.separated == (_newton_max_abs_eta(X, y) > 15.0), seed
        n_sep += rep.separated
    assert 5 < n_sep < 50


def test_multinomial_marks_every_parameter_of_a_diverging_contrast_and_only_those():
    """Iris on the sepal features: setosa is quasi-separated from the others. With base
    virginica the setosa contrast diverges (all of it is marked, intercept included); the
    versicolor-virginica contrast does not, and keeps its standard errors."""
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    y = pd.Series(pd.Categorical.from_codes(data.target, data.target_names), name="species")
    with pytest.warns(lk.PerfectSeparationWarning):
        model = lk.LogisticRegression().fit(data.data.iloc[:, :2], y)
    table = model.summary(base_class="virginica").to_frame()
    setosa, versicolor = table.loc["setosa"], table.loc["versicolor"]
    assert (setosa["note"] == "separated").all() and setosa["std_err"].isna().all()
    assert (versicolor["note"] == "").all() and versicolor["std_err"].notna().all()
    # the finite contrast is the MLE of the model without setosa: its SEs agree with it
    rows = y != "setosa"
    reduced = lk.LogisticRegression().fit(data.data.iloc[:, :2][rows],
                                          y[rows].cat.remove_unused_categories())
    np.testing.assert_allclose(-versicolor["coef"].to_numpy(),
                               reduced.summary().to_frame()["coef"].to_numpy(), rtol=1e-4)
    default = model.summary().to_frame()  # base setosa: both contrasts diverge
    assert (default["note"] == "separated").all()
    header = model.summary().header_values()
    assert header["converged"] is False
    assert header["separation"] == "quasi-complete (estimates diverge)"


# ---------------------------------------------------------------- constraint generation


def _cases():
    from sklearn.datasets import load_iris

    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 3))
    flag = (rng.random(400) < 0.03).astype(float)
    y_bin = (X[:, 0] + rng.logistic(size=400) > 0).astype(int)
    y_bin[flag == 1] = 1
    y_ord = _ordinal_logistic(rng, X, [1.0, -0.5, 0.0], [-1.0, 0.0, 1.0])
    y_ord[flag == 1] = 3
    iris = load_iris()
    weights = np.where(rng.random(400) < 0.2, 0.0, 1.0)
    return [
        (X, (X[:, 0] > 0.1).astype(int), "binomial", 2, None),
        (np.column_stack([X, flag]), y_bin, "binomial", 2, None),
        (np.column_stack([X, flag]), y_bin, "binomial", 2, weights),
        (X, (X[:, 1] + rng.logistic(size=400) > 0).astype(int), "binomial", 2, None),
        (iris.data[:, :2], iris.target, "multinomial", 3, None),
        (iris.data, iris.target, "multinomial", 3, None),
        (np.column_stack([X, flag]), y_ord, "ordinal", 4, None),
        (X, np.digitize(X @ [1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]), "ordinal", 4, None),
        (X, _ordinal_logistic(rng, X, [1.0, 0.5, 0.0], [-1.0, 1.0]), "ordinal", 3, None),
    ]


@pytest.mark.parametrize("case", range(9))
def test_constraint_generation_reaches_the_full_linear_programs(monkeypatch, case):
    """Working sets of 7 rows, checked in blocks of a few rows, reach the answers of one LP
    over all rows: the same separation, completeness and named features, and a direction
    that is a certificate for every row."""
    from logitkit import separation

    X, y, kind, K, w = _cases()[case]
    full = detect_separation(X, y, kind, K, sample_weight=w)
    monkeypatch.setattr(separation, "_WORKING_ENTRIES", 1)
    monkeypatch.setattr(separation, "_START_ROWS", 7)
    monkeypatch.setattr(separation, "_BLOCK_ENTRIES", 50)
    grown = detect_separation(X, y, kind, K, sample_weight=w)
    assert (grown.separated, grown.complete, grown.features) == (
        full.separated, full.complete, full.features)
    live = slice(None) if w is None else w > 0
    if grown.separated and kind == "binomial":
        assert _binomial_certificate_ok(X[live], y[live], grown.direction)
    if grown.separated and kind == "ordinal":
        assert _ordinal_certificate_ok(X[live], y[live], grown.direction, K)


def test_memory_follows_the_working_set_not_the_rows(monkeypatch):
    """Past one working set, the LPs' Python allocations stay within a fraction of X
    (the working set's constraints, one block's, and a few integers per row)."""
    import tracemalloc

    from logitkit import separation

    monkeypatch.setattr(separation, "_WORKING_ENTRIES", 20_000)
    monkeypatch.setattr(separation, "_START_ROWS", 200)
    monkeypatch.setattr(separation, "_BLOCK_ENTRIES", 20_000)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60_000, 20))
    y = _ordinal_logistic(rng, X, rng.normal(size=20), [-1.0, 0.0, 1.0])
    X[:, -1] = 0.0
    X[:10, -1] = 1.0
    y[:10] = 3
    tracemalloc.start()
    report = detect_separation(X, y, "ordinal", 4)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.separated and report.features == (19,)
    assert peak < 0.4 * X.nbytes  # 0.26x measured; one LP over all rows: 28x
