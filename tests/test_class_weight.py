"""Class weights: a class weighted 0 still fits; weighted summaries say what they are."""

import numpy as np
import pytest

import logitkit as lk


@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.argmax(X @ np.array([[0.0, 1.0, -1.0], [0.0, 0.5, 0.8]]) + rng.gumbel(size=(300, 3)),
                  axis=1)
    return X, y


def _fit_warned(model, X, y, empty):
    with pytest.warns(UserWarning, match=rf"class\(es\) \[{empty}\] have zero total weight"):
        return model.fit(X, y)


@pytest.mark.parametrize("empty", [0, 1, 2])
def test_multinomial_with_a_class_weighted_zero_equals_the_fit_without_it(three_classes,
                                                                          empty):
    X, y = three_classes
    weights = {k: 1.0 for k in range(3)} | {empty: 0.0}
    model = _fit_warned(lk.LogisticRegression(class_weight=weights), X, y, empty)
    live = y != empty
    reduced = lk.LogisticRegression().fit(X[live], y[live])
    assert list(model.classes_) == [0, 1, 2]
    proba = model.predict_proba(X)
    assert proba[:, empty].max() < 1e-8
    np.testing.assert_allclose(np.delete(proba, empty, axis=1), reduced.predict_proba(X),
                               rtol=1e-6, atol=1e-10)
    assert model.log_likelihood_ == pytest.approx(reduced.log_likelihood_, rel=1e-10)
    assert model.aic_ == pytest.approx(reduced.aic_, rel=1e-10)
    assert model.df_model_ == reduced.df_model_ == 2
    table = model.summary(cov_type="HC0").to_frame()
    own = table.loc[table.index.get_level_values(0) != empty]
    # the summary's base is the first class with weight; the reduced fit's base is too
    np.testing.assert_allclose(own["coef"], reduced.summary().to_frame()["coef"], rtol=1e-6)
    np.testing.assert_allclose(own["std_err"],
                               reduced.summary(cov_type="HC0").to_frame()["std_err"], rtol=1e-6)
    assert (table.loc[table.index.get_level_values(0) == empty, "note"] == "no weight").all()
    assert "have zero total weight" in str(model.summary())


@pytest.mark.parametrize("empty", [0, 1, 2])
def test_ordinal_with_a_class_weighted_zero_equals_the_fit_without_it(three_classes, empty):
    X, y = three_classes
    weights = {k: 1.0 for k in range(3)} | {empty: 0.0}
    model = _fit_warned(lk.OrdinalLogisticRegression(class_weight=weights), X, y, empty)
    live = y != empty
    reduced = lk.OrdinalLogisticRegression().fit(X[live], y[live])
    a, b = model.summary().to_frame(), reduced.summary().to_frame()
    np.testing.assert_allclose(a.loc[["x0", "x1"], ["coef", "std_err"]],
                               b.loc[["x0", "x1"], ["coef", "std_err"]], rtol=1e-6)
    assert model.n_params_ == reduced.n_params_ == 3
    cut = b.iloc[-1]
    marked = a[a["note"] == "no weight"]
    if empty == 1:  # a middle class: its two cut points meet, with the merged one's SE
        assert len(marked) == 2
        np.testing.assert_allclose(marked["coef"], cut["coef"], rtol=1e-6)
        np.testing.assert_allclose(marked["std_err"], cut["std_err"], rtol=1e-6)
    else:  # an end class: its cut point diverges and has no standard error
        assert len(marked) == 1 and marked["std_err"].isna().all()
        kept = a[(a["note"] != "no weight") & a.index.str.contains("|", regex=False)]
        np.testing.assert_allclose(kept[["coef", "std_err"]].to_numpy()[0],
                                   [cut["coef"], cut["std_err"]], rtol=1e-6)


def test_binary_with_one_class_weighted_zero_is_a_clear_error(three_classes):
    X, y = three_classes
    with pytest.raises(ValueError, match=r"only the class\(es\) \[1\] have positive total"):
        lk.LogisticRegression(class_weight={0: 0.0, 1: 1.0}).fit(X, (y > 0).astype(int))


def test_class_weighted_summary_points_to_a_sandwich_covariance(spector):
    X, y = spector[["GPA", "TUCE", "PSI"]], spector["GRADE"]
    model = lk.LogisticRegression(class_weight="balanced").fit(X, y)
    assert any("class_weight" in note and "HC0" in note for note in model.summary().notes)
    assert not any("class_weight" in note for note in model.summary(cov_type="HC0").notes)
    plain = lk.LogisticRegression().fit(X, y)
    assert not any("class_weight" in note for note in plain.summary().notes)
