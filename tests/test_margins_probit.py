"""Binary probit and cloglog post-estimation against statsmodels (get_margeff,
get_prediction). Needs ``LogisticRegression(link=...)`` (the links branch)."""

import numpy as np
import pytest

import logitkit as lk

sm = pytest.importorskip("statsmodels.api")

SPECTOR = ["GPA", "TUCE", "PSI"]


@pytest.fixture(scope="module")
def probit_pair(spector):
    fit = lk.LogisticRegression(link="probit", tol=1e-10).fit(spector[SPECTOR],
                                                              spector["GRADE"])
    exog = sm.add_constant(spector[SPECTOR], prepend=False)
    return fit, sm.Probit(spector["GRADE"], exog).fit(disp=0, method="newton", tol=1e-12)


CASES = ([(at, method, False) for at in ("overall", "mean", "median", "zero")
          for method in ("dydx", "eyex", "dyex", "eydx")]
         # statsmodels allows dummy=True with dydx and eydx, overall and at the means
         + [(at, method, True) for at in ("overall", "mean") for method in ("dydx", "eydx")])


@pytest.mark.parametrize("at, method, dummy", CASES)
def test_probit_effects_match_statsmodels_get_margeff(probit_pair, at, method, dummy):
    fit, res = probit_pair
    theirs = res.get_margeff(at=at, method=method, dummy=dummy)
    ours = fit.marginal_effects(at=at, method=method, discrete=dummy).to_frame()
    np.testing.assert_allclose(ours["effect"], theirs.margeff, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours["std_err"], theirs.margeff_se, rtol=1e-5, atol=1e-10)


def test_probit_prediction_intervals_match_statsmodels(probit_pair, spector):
    fit, res = probit_pair
    exog = sm.add_constant(spector[SPECTOR], prepend=False)
    theirs = res.get_prediction(exog).summary_frame()
    ours = fit.predict_interval(spector[SPECTOR])[1]
    np.testing.assert_allclose(ours["proba"], theirs["predicted"], rtol=1e-7)
    np.testing.assert_allclose(ours["std_err"], theirs["se"], rtol=1e-5)
    np.testing.assert_allclose(ours["lower"], theirs["ci_lower"], rtol=1e-5)
    np.testing.assert_allclose(ours["upper"], theirs["ci_upper"], rtol=1e-5)


def test_cloglog_effects_equal_the_derivative_of_the_fitted_probabilities(spector):
    """dydx at the means of a cloglog fit: f(eta) b with f(x) = exp(x - e^x)."""
    fit = lk.LogisticRegression(link="cloglog", tol=1e-10).fit(spector[SPECTOR],
                                                               spector["GRADE"])
    me = fit.marginal_effects(at="mean", discrete=False).to_frame()
    x = spector[SPECTOR].mean().to_numpy()
    eta = x @ fit.coef_[0] + fit.intercept_[0]
    np.testing.assert_allclose(me["effect"], np.exp(eta - np.exp(eta)) * fit.coef_[0],
                               rtol=1e-10)
