"""The Brant test, the multinomial and ordinal Hosmer-Lemeshow tests and the residuals
of multinomial and ordinal fits (logitkit.checks), against R's brant, R's
generalhoslem and the definitions."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import logitkit as lk
from logitkit.hosmer_lemeshow import _r_quantile7, class_test

REFERENCE = Path(__file__).parent / "reference"
UCLA = ["pared", "public", "gpa"]
SMOKE = ["Never", "Occas", "Regul", "Heavy"]


@pytest.fixture(scope="module")
def survey():
    """MASS::survey's Sex, Smoke and Height, the complete rows (R's na.omit)."""
    frame = pd.read_csv(REFERENCE / "survey_smoke.csv", index_col="row").dropna()
    X = pd.DataFrame({"Sex": pd.Categorical(frame["Sex"], categories=["Female", "Male"]),
                      "Height": frame["Height"]})
    y = pd.Series(pd.Categorical(frame["Smoke"], categories=SMOKE, ordered=True),
                  index=frame.index, name="Smoke")
    return X, y


@pytest.fixture(scope="module")
def ucla_fit(ucla):
    return lk.OrdinalLogisticRegression().fit(ucla[UCLA], ucla["apply"])


# -- Brant ---------------------------------------------------------------------------

def test_brant_is_r_brant_on_mass_survey(survey):
    # R's brant package, example of ?brant (polr(Smoke ~ Sex + Height, data = survey);
    # brant(model1)), as rdrr.io prints it (brant 0.3-0, https://rdrr.io/cran/brant/man/
    # brant.html): Omnibus 3.28 4 0.51; SexMale 1.58 2 0.45; Height 0.02 2 0.99
    X, y = survey
    o = lk.OrdinalLogisticRegression().fit(X, y)
    assert -2 * o.log_likelihood_ == pytest.approx(287.0276, abs=5e-5)  # its deviance
    table = o.brant_test()
    assert list(table.index) == ["Omnibus", "Sex[Male]", "Height"]
    assert list(table.columns) == ["chi2", "df", "p_value"]
    np.testing.assert_array_equal(table["chi2"].round(2), [3.28, 1.58, 0.02])
    np.testing.assert_array_equal(table["df"], [4, 2, 2])
    np.testing.assert_array_equal(table["p_value"].round(2), [0.51, 0.45, 0.99])
    by_variable = o.brant_test(by="variable")  # one column each: the same tests
    assert list(by_variable.index) == ["Omnibus", "Sex", "Height"]
    np.testing.assert_allclose(by_variable.to_numpy(), table.to_numpy(), rtol=1e-12)


def _dense_brant(X, codes, J):
    """brant's R code (R/brant.R) in NumPy: glm fits per cut, varBeta from the fitted
    values, D, X2 = (D b)' (D V D')^-1 (D b)."""
    X1 = sm.add_constant(X)
    K = X.shape[1]
    fits = [sm.Logit((codes > m).astype(float), X1).fit(disp=0, tol=1e-12, method="newton")
            for m in range(J - 1)]
    pi = np.column_stack([f.predict() for f in fits])
    V = np.zeros(((J - 1) * K, (J - 1) * K))
    for m in range(J - 1):
        V[m * K:(m + 1) * K, m * K:(m + 1) * K] = fits[m].cov_params()[1:, 1:]
        for ell in range(m + 1, J - 1):
            inv = [np.linalg.inv(X1.T @ (X1 * (pi[:, j] * (1 - pi[:, j]))[:, None]))
                   for j in (m, ell)]
            Wml = pi[:, ell] - pi[:, m] * pi[:, ell]
            block = (inv[0] @ (X1.T @ (X1 * Wml[:, None])) @ inv[1])[1:, 1:]
            V[m * K:(m + 1) * K, ell * K:(ell + 1) * K] = block
            V[ell * K:(ell + 1) * K, m * K:(m + 1) * K] = block.T
    b = np.concatenate([f.params[1:] for f in fits])
    D = np.kron(np.hstack([np.ones((J - 2, 1)), -np.eye(J - 2)]), np.eye(K))
    d = D @ b
    return float(d @ np.linalg.solve(D @ V @ D.T, d)), np.array([f.params for f in fits])


def test_brant_is_the_r_code_on_ucla(ucla, ucla_fit):
    X = ucla[UCLA].to_numpy(float)
    codes = ucla["apply"].cat.codes.to_numpy()
    chi2, params = _dense_brant(X, codes, 3)
    table = ucla_fit.brant_test()
    assert table.loc["Omnibus", "chi2"] == pytest.approx(chi2, rel=1e-8)
    assert table.loc["Omnibus", "df"] == 3 and list(table["df"][1:]) == [1, 1, 1]
    np.testing.assert_allclose(table.attrs["coefficients"], params, rtol=1e-8)
    assert list(table.attrs["coefficients"].index) == ["unlikely|somewhat likely",
                                                       "somewhat likely|very likely"]


def test_brant_weights_are_frequencies(ucla):
    X, y = ucla[UCLA], ucla["apply"]
    w = np.arange(len(y)) % 3 + 1.0
    weighted = lk.OrdinalLogisticRegression().fit(X, y, sample_weight=w).brant_test()
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    repeated = lk.OrdinalLogisticRegression().fit(X.iloc[rows], y.iloc[rows]).brant_test()
    pd.testing.assert_frame_equal(weighted, repeated, rtol=1e-9)


def test_brant_by_variable_tests_a_factors_levels_together(ucla):
    X = ucla[UCLA].assign(band=pd.Categorical(np.digitize(ucla["gpa"], [2.8, 3.3])))
    o = lk.OrdinalLogisticRegression().fit(X[["pared", "band"]], ucla["apply"])
    table = o.brant_test(by="variable")
    assert list(table.index) == ["Omnibus", "pared", "band"]
    assert list(table["df"]) == [3, 1, 2]
    per_coefficient = o.brant_test()
    assert list(per_coefficient.index) == ["Omnibus", "pared", "band[1]", "band[2]"]
    assert table.loc["pared", "chi2"] == pytest.approx(per_coefficient.loc["pared", "chi2"])


def test_brant_refuses_what_it_does_not_define(spector, ucla):
    binary = lk.LogisticRegression().fit(spector[["GPA"]], spector["GRADE"])
    with pytest.raises(ValueError, match="OrdinalLogisticRegression"):
        binary.brant_test()
    two = lk.OrdinalLogisticRegression().fit(spector[["GPA"]], spector["GRADE"])
    with pytest.raises(ValueError, match="at least 3 classes"):
        two.brant_test()
    o = lk.OrdinalLogisticRegression().fit(ucla[UCLA], ucla["apply"])
    with pytest.raises(ValueError, match='by must be "coefficient" or "variable"'):
        o.brant_test(by="term")
    # a column that separates the top class from the rest at one cut
    X = ucla[UCLA].assign(top=(ucla["apply"] == "very likely").astype(float))
    with pytest.warns(lk.exceptions.PerfectSeparationWarning):
        separated = lk.OrdinalLogisticRegression().fit(X, ucla["apply"])
    with pytest.raises(ValueError, match="does not converge"):
        separated.brant_test()


# -- Hosmer-Lemeshow, multinomial and ordinal --------------------------------------------

def test_ordinal_hosmer_lemeshow_is_generalhoslem_on_ucla(ucla_fit):
    # R generalhoslem: logitgof(ologit_ucla$apply2, fitted(r_logit), g = 10, ord = TRUE)
    # after MASS::polr, as statsmodels stores it (statsmodels/miscmodels/tests/
    # test_ordinal_model.py, TestLogitModel.test_postestimation: 20.958760713111, df 17,
    # p 0.2281403796588; statsmodels matches it to rtol 5e-5, polr's optimum being less
    # precise than these digits)
    test = ucla_fit.hosmer_lemeshow()
    assert test.statistic == pytest.approx(20.958760713111, rel=5e-5)
    assert test.df == 17 and test.groups == 10
    assert test.p_value == pytest.approx(0.2281403796588, rel=1e-4)
    assert (test.table["total"] == 40).all()


def test_multinomial_hosmer_lemeshow_groups_and_sums(anes96):
    X, y = anes96[["logpopul", "selfLR", "age", "educ", "income"]], anes96["PID"]
    m = lk.LogisticRegression().fit(X, y)
    test = m.hosmer_lemeshow()
    K = 7
    assert test.groups == 10 and test.df == 8 * (K - 1)
    observed, expected = test.table["observed"], test.table["expected"]
    # each group's expected counts add up to its rows; at the optimum of a model with
    # intercepts, observed and expected class totals agree (the score equations)
    np.testing.assert_allclose(expected.sum(axis=1), test.table["total"], rtol=1e-12)
    np.testing.assert_allclose(expected.sum(axis=0), observed.sum(axis=0), rtol=1e-7)
    statistic = float((((observed - expected) ** 2) / expected).to_numpy().sum())
    assert test.statistic == pytest.approx(statistic, rel=1e-12)


def test_multinomial_groups_are_r_type7_quantiles_of_one_minus_the_base():
    rng = np.random.default_rng(1)
    x = rng.random(101)
    probs = np.arange(11) / 10
    np.testing.assert_allclose(_r_quantile7(x, probs), np.quantile(x, probs), rtol=1e-15)
    # two classes: the multinomial statistic is Hosmer and Lemeshow's on these groups
    p = rng.random(60)
    codes = (rng.random(60) < p).astype(np.intp)
    proba = np.column_stack([1 - p, p])
    test = class_test(proba, codes, 5, False, ["a", "b"])
    breaks = np.quantile(p, np.arange(6) / 5)
    groups = np.clip(np.searchsorted(breaks, p, side="left") - 1, 0, 4)
    o = np.bincount(groups, weights=codes)
    e = np.bincount(groups, weights=p)
    n = np.bincount(groups)
    assert test.statistic == pytest.approx(np.sum((o - e) ** 2 / (e * (1 - e / n))))
    assert test.df == 3


def test_class_tests_refuse_weights(anes96):
    X, y = anes96[["logpopul", "selfLR"]], anes96["PID"]
    m = lk.LogisticRegression().fit(X, y, sample_weight=np.full(len(y), 2.0))
    with pytest.raises(ValueError, match="repeat rows instead of weighting"):
        m.hosmer_lemeshow()


# -- residuals of multinomial and ordinal fits ------------------------------------------

@pytest.mark.parametrize("kind_of_fit", ["multinomial", "ordinal"])
def test_class_residuals(anes96, ucla, kind_of_fit):
    if kind_of_fit == "ordinal":
        X, y = ucla[UCLA], ucla["apply"]
        m = lk.OrdinalLogisticRegression().fit(X, y)
    else:
        X, y = anes96[["logpopul", "selfLR", "age"]], anes96["PID"]
        m = lk.LogisticRegression().fit(X, y)
    proba = m.predict_proba(X)
    indicator = (np.asarray(y)[:, None] == m.classes_).astype(float)
    response = m.residuals("response")
    assert list(response.columns) == list(m.classes_)
    np.testing.assert_allclose(response, indicator - proba, atol=1e-14)
    np.testing.assert_allclose(response.sum(axis=1), 0, atol=1e-13)
    np.testing.assert_allclose(m.residuals("pearson"),
                               (indicator - proba) / np.sqrt(proba * (1 - proba)),
                               rtol=1e-12)
    deviance = m.residuals()
    assert isinstance(deviance, pd.Series) and (deviance >= 0).all()
    assert float(np.sum(deviance**2)) == pytest.approx(-2 * m.log_likelihood_, rel=1e-12)
    with pytest.raises(ValueError, match='kind="working" is defined for binary fits'):
        m.residuals("working")


def test_brant_warns_as_r_brant_when_class_and_level_combinations_are_empty(ucla):
    # level "c" never occurs with "somewhat likely": 1 of the 3 x 3 cells of table(y, grp)
    # is empty (no separation: "c" has rows below and above each cut)
    index = np.arange(len(ucla))
    grp = np.where((ucla["apply"] != "somewhat likely") & (index % 5 == 0), "c",
                   np.where(index % 2 == 1, "a", "b"))
    X = ucla[["gpa"]].assign(grp=grp)
    o = lk.OrdinalLogisticRegression().fit(X, ucla["apply"])
    with pytest.warns(UserWarning, match="1 combination"):
        o.brant_test()


def test_probability_scale_residuals_are_rs_on_ucla(ucla_fit, spector, anes96):
    # Li and Shepherd's P(Y < y) - P(Y > y) of R's polr fit of the UCLA model, the first
    # 20 rows and (mean, min, max, var) as statsmodels stores them
    # (statsmodels/miscmodels/tests/results/results_ordinal_model.py, res_ord_logit.
    # resid_prob and resid_prob_stats; statsmodels compares at atol 1e-4 and 1e-5)
    r_values = [+0.90816202, 0.08707593, -0.77061649, 0.54493358, 0.59541984,
                -0.33907603, 0.59017771, 0.55970937, -0.41190566, 0.01851403,
                -0.73753054, 0.53932241, 0.87609730, 0.56880356, -0.73936739,
                -0.42539653, -0.47329831, -0.29581150, 0.90792753, 0.42811409]
    got = ucla_fit.residuals("probability")
    np.testing.assert_allclose(got[:20], r_values, atol=1e-4)
    np.testing.assert_allclose([got.mean(), got.min(), got.max(), got.var(ddof=1)],
                               [3.5137670974297e-06, -0.7706164931682951,
                                0.9434781714439548, 0.2550630116905416], atol=5e-5)
    binary = lk.LogisticRegression().fit(spector[["GPA"]], spector["GRADE"])
    pd.testing.assert_series_equal(binary.residuals("probability"),
                                   binary.residuals("response"), check_names=False)
    multi = lk.LogisticRegression().fit(anes96[["selfLR"]], anes96["PID"])
    with pytest.raises(ValueError, match="needs ordered classes"):
        multi.residuals("probability")


def test_brant_with_an_offset_and_with_the_probit_link(ucla, ucla_fit):
    # an offset 0.3 gpa moves gpa's slope by 0.3 in every binary model: the differences,
    # and so the test, stay the same
    X, y = ucla[UCLA], ucla["apply"]
    plain = ucla_fit.brant_test()
    shifted = ucla_fit.brant_test(X=X, y=y, offset=0.3 * X["gpa"].to_numpy())
    pd.testing.assert_frame_equal(shifted, plain, rtol=1e-8)
    np.testing.assert_allclose(shifted.attrs["coefficients"]["gpa"],
                               plain.attrs["coefficients"]["gpa"] - 0.3, rtol=1e-8)
    # other links use their own binary models: probit ones here
    probit = lk.OrdinalLogisticRegression(link="probit").fit(X, y).brant_test()
    codes = y.cat.codes.to_numpy()
    for j, row in enumerate(probit.attrs["coefficients"].to_numpy()):
        ref = sm.Probit((codes > j).astype(float), sm.add_constant(X.to_numpy(float)))
        np.testing.assert_allclose(row, ref.fit(disp=0, tol=1e-12).params, rtol=1e-7)
    assert np.isfinite(probit["chi2"]).all() and list(probit["df"]) == [3, 1, 1, 1]
