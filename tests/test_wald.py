"""Wald tests against statsmodels' wald_test with the same covariance; the string and
matrix forms; weights == repetition; errors."""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk

sm = pytest.importorskip("statsmodels.api")

SPECTOR = ["GPA", "TUCE", "PSI"]


@pytest.mark.parametrize("cov_type, sm_kwargs", [
    ("nonrobust", {}),
    ("HC0", {"cov_type": "HC0"}),
    ("cluster", {"cov_type": "cluster", "cov_kwds": {"groups": np.arange(32) % 8}}),
])
@pytest.mark.parametrize("hypotheses", ["GPA = 0, TUCE = PSI", "GPA + 2 * TUCE = 1",
                                        "const = -13, PSI = 2"])
def test_binary_matches_statsmodels(spector, cov_type, sm_kwargs, hypotheses):
    clusters = np.arange(32) % 8 if cov_type == "cluster" else None
    fit = lk.LogisticRegression(tol=1e-10).fit(spector[SPECTOR], spector["GRADE"],
                                               clusters=clusters)
    exog = sm.add_constant(spector[SPECTOR], prepend=False)
    res = sm.Logit(spector["GRADE"], exog).fit(disp=0, **sm_kwargs)
    theirs = res.wald_test(hypotheses, use_f=False, scalar=True)
    ours = fit.wald_test(hypotheses.replace("const", "Intercept"), cov_type=cov_type)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-6)
    assert ours.df == len(hypotheses.split(","))
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-5)


def test_multinomial_matches_statsmodels(anes96):
    """``[class]term`` names; statsmodels' MNLogit params are (exog, equation), their
    covariance ordered equation by equation."""
    cols = ["logpopul", "selfLR", "age", "educ", "income"]
    fit = lk.LogisticRegression(tol=1e-10).fit(anes96[cols], anes96["PID"])
    exog = sm.add_constant(anes96[cols], prepend=False)
    res = sm.MNLogit(anes96["PID"], exog).fit(disp=0, method="newton")
    R = np.zeros((2, 36))
    R[0, 0 * 6 + 2], R[0, 1 * 6 + 2] = 1, -1  # age in equations 1 and 2
    R[1, 5 * 6 + 1] = 1  # selfLR in equation 6
    theirs = res.wald_test((R, np.array([0.0, 0.5])), use_f=False, scalar=True)
    ours = fit.wald_test("[1]age = [2]age, [6]selfLR = 0.5")
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-6)
    assert ours.df == 2


def test_string_and_matrix_forms_agree(ucla):
    fit = lk.OrdinalLogisticRegression().fit(ucla[["pared", "public", "gpa"]], ucla["apply"])
    names = list(fit.summary().to_frame().index)
    assert names[3:] == ["unlikely|somewhat likely", "somewhat likely|very likely"]
    text = fit.wald_test("pared - 2*gpa = 0.1, unlikely|somewhat likely = 2")
    R = np.zeros((2, 5))
    R[0, 0], R[0, 2], R[1, 3] = 1, -2, 1
    matrix = fit.wald_test((R, [0.1, 2.0]))
    assert text.statistic == pytest.approx(matrix.statistic, rel=1e-14)
    np.testing.assert_array_equal(text.R, R)
    assert "chi2(2)" in str(text)


def test_weights_equal_repetition(ucla):
    X, y = ucla[["pared", "public", "gpa"]], ucla["apply"]
    counts = np.arange(len(X)) % 3 + 1
    weighted = lk.OrdinalLogisticRegression(tol=1e-10).fit(X, y, sample_weight=counts)
    repeated = lk.OrdinalLogisticRegression(tol=1e-10).fit(X.loc[X.index.repeat(counts)],
                                                           y.loc[y.index.repeat(counts)])
    for cov_type in ("nonrobust", "HC0"):
        a = weighted.wald_test("pared = public, gpa = 0", cov_type=cov_type)
        b = repeated.wald_test("pared = public, gpa = 0", cov_type=cov_type)
        assert a.statistic == pytest.approx(b.statistic, rel=1e-7)


def test_names_with_operators_are_read_whole():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"I(x**2)": rng.normal(size=200), "a:b": rng.normal(size=200)})
    y = (X.sum(axis=1) + rng.logistic(size=200) > 0).astype(int)
    fit = lk.LogisticRegression().fit(X, y)
    result = fit.wald_test("I(x**2) = a:b")
    np.testing.assert_array_equal(result.R, [[0.0, 1.0, -1.0]])


@pytest.mark.parametrize("hypotheses, message", [
    ("GPA = 0, SAT = 1", "expected a parameter name"),
    ("GPA = 0 = TUCE", "a second '='"),
    ("1 = 2", "names no parameter"),
    ("GPA = ", "ends without a term"),
    ("GPA = 0, GPA = 0", "linearly dependent"),
    ("", "non-empty string"),
    ((np.ones((1, 3)), [0.0]), r"R must have shape \(r, 4\)"),
])
def test_errors_are_named(spector, hypotheses, message):
    fit = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    with pytest.raises(ValueError, match=message):
        fit.wald_test(hypotheses)
