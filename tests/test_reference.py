"""Published Stata / R results (shared/reference) reproduced to the published digits."""

import numpy as np
import pytest

import logitkit as lk


def test_spector_binary_logit(spector, expected):
    ref = expected["spector_logit"]["reference"]
    m = lk.LogisticRegression().fit(spector[["GPA", "TUCE", "PSI"]], spector["GRADE"])
    params = np.concatenate([m.coef_[0], m.intercept_])
    np.testing.assert_allclose(params, ref["params"], rtol=0, atol=1e-5)
    assert m.result_.log_likelihood == pytest.approx(ref["llf"], abs=1e-6)
    assert m.result_.null_log_likelihood == pytest.approx(ref["llnull"], abs=1e-6)
    proba = m.predict_proba(spector[["GPA", "TUCE", "PSI"]])[:, 1]
    np.testing.assert_allclose(proba, ref["phat"], atol=1e-6)
    assert m.converged_


def test_anes96_multinomial_logit(anes96, expected):
    ref = expected["anes96_mnlogit"]["reference"]
    cols = ["logpopul", "selfLR", "age", "educ", "income"]
    m = lk.LogisticRegression().fit(anes96[cols], anes96["PID"])
    assert list(m.classes_) == list(range(7))
    baseline = np.hstack([m.coef_, m.intercept_[:, None]])
    baseline = baseline[1:] - baseline[0]  # (6 equations, 5 slopes + const)
    np.testing.assert_allclose(baseline.T, ref["params_6x6_exog_by_equation"], rtol=0,
                               atol=1e-6)
    assert m.result_.log_likelihood == pytest.approx(ref["llf"], abs=1e-6)
    assert m.result_.null_log_likelihood == pytest.approx(ref["llnull"], abs=1e-6)


def test_ucla_ordinal_logit_against_stata(ucla, expected):
    stata = expected["ucla_ologit"]["reference"]["stata"]
    m = lk.OrdinalLogisticRegression().fit(ucla[["pared", "public", "gpa"]], ucla["apply"])
    assert list(m.classes_) == ["unlikely", "somewhat likely", "very likely"]
    np.testing.assert_allclose(m.coef_, stata["coef_derived_ln_or"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.exp(m.coef_), stata["odds_ratio"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(m.thresholds_, stata["cuts"], rtol=0, atol=1e-5)
    assert m.result_.log_likelihood == pytest.approx(stata["llf"], abs=1e-5)
    lr = 2 * (m.result_.log_likelihood - m.result_.null_log_likelihood)
    assert lr == pytest.approx(stata["lr_chi2"], abs=5e-3)  # published to 2 decimals


def test_ucla_ordinal_logit_against_r_polr(ucla, expected):
    polr = expected["ucla_ologit"]["reference"]["R_polr_statsmodels_tests"]
    m = lk.OrdinalLogisticRegression().fit(ucla[["pared", "public", "gpa"]], ucla["apply"])
    np.testing.assert_allclose(m.coef_, polr["coef"], atol=1e-3)
    np.testing.assert_allclose(m.thresholds_, polr["cuts"], atol=1e-3)
    proba = m.predict_proba(ucla[["pared", "public", "gpa"]])[:7]
    np.testing.assert_allclose(proba, polr["pred_prob_first7"], atol=1e-4)
