"""Rank-deficient designs: aliased columns are found as R's glm finds them and left out."""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from logitkit.aliasing import find_aliased
from logitkit.inference import COV_TYPES

SPECTOR = ["GPA", "TUCE", "PSI"]
ANES = ["logpopul", "selfLR", "age", "educ", "income"]
UCLA = ["pared", "public", "gpa"]


def _fit(model, X, y, **fit_params):
    return model.fit(X, y, **fit_params)


def _fit_aliased(model, X, y, names, **fit_params):
    with pytest.warns(lk.AliasedColumnsWarning) as record:
        model.fit(X, y, **fit_params)
    messages = [str(w.message) for w in record if w.category is lk.AliasedColumnsWarning]
    assert len(messages) == 1, messages
    assert all(repr(name) in messages[0] for name in names)
    assert model.aliased_ == names
    return model


def _assert_same_fit(full, reduced, X_full, X_reduced, aliased):
    """The kept coefficients, standard errors, log-likelihood, AIC, BIC and predictions of
    ``full`` (with aliased columns) equal those of ``reduced`` (without them) to 1e-8."""
    a, b = full.summary().to_frame(), reduced.summary().to_frame()
    rows = a.index.get_level_values(-1).isin(aliased)
    assert a.loc[rows, ["coef", "std_err", "z", "p_value"]].isna().all().all()
    assert (a.loc[rows, "note"] == "aliased").all()
    kept = a.loc[~rows]
    for column in ["coef", "std_err", "z", "ci_lower", "ci_upper"]:
        np.testing.assert_allclose(kept[column].to_numpy(), b[column].to_numpy(),
                                   rtol=1e-8, atol=1e-10, err_msg=column)
    for attribute in ["log_likelihood_", "aic_", "bic_", "pseudo_r2_"]:
        assert getattr(full, attribute) == pytest.approx(getattr(reduced, attribute),
                                                         rel=1e-8, abs=1e-10)
    assert full.n_params_ == reduced.n_params_
    assert full.df_model_ == reduced.df_model_
    np.testing.assert_allclose(full.predict_proba(X_full), reduced.predict_proba(X_reduced),
                               rtol=1e-8, atol=1e-12)
    cov = full.covariance()
    assert cov.loc[rows, :].isna().all().all() and cov.loc[:, rows].isna().all().all()
    np.testing.assert_allclose(cov.loc[~rows, ~rows].to_numpy(),
                               reduced.covariance().to_numpy(), rtol=1e-7, atol=1e-12)


def test_spector_constant_and_multiple_columns(spector):
    """The issue's example: Df model stays 3, the Intercept's SE stays 4.9313."""
    X = spector[SPECTOR].copy()
    X["c"] = 1.0
    X["G2"] = 2 * X["GPA"]
    full = _fit_aliased(lk.LogisticRegression(), X, spector["GRADE"], ["c", "G2"])
    reduced = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    _assert_same_fit(full, reduced, X, spector[SPECTOR], ["c", "G2"])
    assert full.df_model_ == 3 and full.n_params_ == 4
    assert full.summary().to_frame().loc["Intercept", "std_err"] == pytest.approx(4.9313, abs=1e-4)
    text = str(full.summary())
    assert "(aliased)" in text and "Df model:                     3" in text
    assert full.coef_[0, 3] == 0 and full.coef_[0, 4] == 0


def test_later_column_not_shadowed_by_a_nearly_aliased_one():
    """dqrdc2's rule: x3 = x1 + 1e-10 e is aliased, and e itself (given after it) is kept."""
    rng = np.random.default_rng(0)
    x1, x2, e = rng.normal(size=(3, 400))
    X = np.column_stack([x1, x2, x1 + 1e-10 * e, e])
    np.testing.assert_array_equal(find_aliased(X, np.ones(400), True), [0, 0, 1, 0])


def test_screening_subsample_is_confirmed_on_all_rows():
    """A rare level missing from the screening rows looks constant there: all rows decide."""
    rng = np.random.default_rng(1)
    n = 60_000
    X = rng.normal(size=(n, 3))
    X[:, 2] = 0.0
    X[12_345, 2] = 1.0  # one row, off the subsample's grid
    assert not find_aliased(X, np.ones(n), True).any()
    X[:, 2] = X[:, 0] - 3 * X[:, 1]
    np.testing.assert_array_equal(find_aliased(X, np.ones(n), True), [0, 0, 1])


def test_small_X_screens_a_thirty_second_of_its_rows_and_stays_exact(monkeypatch):
    """4,000 rows: the screen factorises 125 of them (every 32nd); a level on one row off
    that grid is kept, an exact combination is aliased, and all rows are read only for
    the flagged column."""
    from logitkit import aliasing

    factored = []
    original = aliasing._triangular_factor
    monkeypatch.setattr(aliasing, "_triangular_factor",
                        lambda X, *a: factored.append(X.shape[0]) or original(X, *a))
    rng = np.random.default_rng(4)
    n = 4000
    X = rng.normal(size=(n, 3))
    X[:, 2] = 0.0
    X[1001, 2] = 1.0
    assert not find_aliased(X, np.ones(n), True).any()
    assert factored == [125, n]  # the screen flags the level, all rows keep it
    factored.clear()
    X[:, 2] = X[:, 0] - 3 * X[:, 1]
    np.testing.assert_array_equal(find_aliased(X, np.ones(n), True), [0, 0, 1])
    assert factored == [125]  # confirmed in one pass, no factorisation of all rows


def test_zero_weight_rows_do_not_count():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    w = np.ones(200)
    X[:100, 1] = 5.0  # constant on the rows that count
    w[100:] = 0.0
    np.testing.assert_array_equal(find_aliased(X, w, True), [False, True])
    np.testing.assert_array_equal(find_aliased(X, w, False), [False, False])


def test_one_hot_full_set_with_intercept_and_duplicate(spector):
    rng = np.random.default_rng(3)
    n = 500
    group = rng.integers(0, 4, n)
    dummies = pd.get_dummies(group, prefix="g", dtype=float)
    X = pd.concat([pd.DataFrame({"x": rng.normal(size=n)}), dummies], axis=1)
    X["x_copy"] = X["x"]
    eta = 0.5 * X["x"] + np.array([0.0, 0.4, -0.3, 0.8])[group]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    full = _fit_aliased(lk.LogisticRegression(), X, y, ["g_3", "x_copy"])
    reduced_columns = ["x", "g_0", "g_1", "g_2"]
    reduced = lk.LogisticRegression().fit(X[reduced_columns], y)
    _assert_same_fit(full, reduced, X, X[reduced_columns], ["g_3", "x_copy"])


def test_multinomial_anes96(anes96):
    X = anes96[ANES].copy()
    X["educ_again"] = X["educ"]
    X["const"] = 7.5
    y = anes96["PID"]  # 7 party-identification levels (Stata mlogit example)
    full = _fit_aliased(lk.LogisticRegression(), X, y, ["educ_again", "const"])
    reduced = lk.LogisticRegression().fit(anes96[ANES], y)
    _assert_same_fit(full, reduced, X, anes96[ANES], ["educ_again", "const"])
    assert full.df_model_ == reduced.df_model_ == 5 * (len(full.classes_) - 1)
    other = full.summary(base_class=full.classes_[2]).to_frame()
    rows = other.index.get_level_values(-1).isin(["educ_again", "const"])
    assert other.loc[rows, "coef"].isna().all() and other.loc[~rows, "coef"].notna().all()


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_ordinal_ucla(ucla, link):
    X = ucla[UCLA].copy()
    X["gpa_x2_plus_pared"] = 2 * X["gpa"] + X["pared"]
    X["one"] = 1.0
    model = lk.OrdinalLogisticRegression(link=link)
    full = _fit_aliased(model, X, ucla["apply"], ["gpa_x2_plus_pared", "one"])
    reduced = lk.OrdinalLogisticRegression(link=link).fit(ucla[UCLA], ucla["apply"])
    _assert_same_fit(full, reduced, X, ucla[UCLA], ["gpa_x2_plus_pared", "one"])
    np.testing.assert_allclose(full.thresholds_, reduced.thresholds_, rtol=1e-8)


def test_weights_and_clusters_with_aliased_columns(spector):
    rng = np.random.default_rng(4)
    w = rng.integers(1, 4, len(spector)).astype(float)
    groups = np.arange(len(spector)) % 8
    X = spector[SPECTOR].copy()
    X["TUCE_2"] = X["TUCE"] / 2
    full = _fit_aliased(lk.LogisticRegression(), X, spector["GRADE"], ["TUCE_2"],
                        sample_weight=w, clusters=groups)
    reduced = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"], sample_weight=w,
                                          clusters=groups)
    for cov_type in COV_TYPES:  # HC2/HC3: hat values from the kept columns' information
        a = full.summary(cov_type=cov_type).to_frame()
        b = reduced.summary(cov_type=cov_type).to_frame()
        np.testing.assert_allclose(a["std_err"].drop("TUCE_2"), b["std_err"], rtol=1e-8)


def test_no_intercept_keeps_a_constant_column():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=300), np.ones(300)])
    y = (rng.random(300) < 0.4).astype(int)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = lk.LogisticRegression(fit_intercept=False).fit(X, y)
    assert model.aliased_ == [] and model.n_params_ == 2


def test_penalised_fit_does_not_alias_or_warn(spector):
    X = spector[SPECTOR].copy()
    X["G2"] = 2 * X["GPA"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = lk.LogisticRegression(alpha=0.01).fit(X, spector["GRADE"])
    assert model.aliased_ == [] and model.coef_[0, 3] != 0


def test_aliased_fit_round_trips_through_a_model_file(spector, tmp_path):
    X = spector[SPECTOR].copy()
    X["c"] = 1.0
    model = _fit_aliased(lk.LogisticRegression(), X, spector["GRADE"], ["c"])
    model.save(tmp_path / "m.lkm")
    loaded = lk.load(tmp_path / "m.lkm")
    assert loaded.aliased_ == ["c"] and loaded.n_params_ == 4
    assert str(loaded.summary()) == str(model.summary())
