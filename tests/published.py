"""Checks of fitted models against the published Stata results (tests/reference), shared
by the tests that fit the same data from NumPy, pandas, sparse and Dask input."""

import numpy as np
import pytest

SPECTOR = ["GPA", "TUCE", "PSI"]
ANES = ["logpopul", "selfLR", "age", "educ", "income"]
UCLA = ["pared", "public", "gpa"]


def check_spector(model, X, expected):
    """Stata 11 ``logit grade gpa tuce psi`` and ``glm ..., vce(robust)``: coefficients,
    SEs, p-values, log-likelihoods, fitted probabilities (X: what the model was fitted on;
    its names are GPA, TUCE, PSI or x0, x1, x2)."""
    ref = expected["spector_logit"]["reference"]
    robust = expected["spector_glm_robust"]["reference"]
    terms = [*model.coef_names_, "Intercept"]
    frame = model.summary().to_frame().loc[terms]
    np.testing.assert_allclose(frame["coef"], ref["params"], atol=1e-5)
    np.testing.assert_allclose(frame["std_err"], ref["bse"], atol=1e-5)
    np.testing.assert_allclose(frame["p_value"], ref["pvalues"], atol=1e-5)
    assert model.log_likelihood_ == pytest.approx(ref["llf"], abs=1e-5)
    assert model.null_log_likelihood_ == pytest.approx(ref["llnull"], abs=1e-5)
    np.testing.assert_allclose(np.asarray(model.predict_proba(X))[:, 1], ref["phat"],
                               atol=1e-6)
    stata = model.summary(cov_type="stata-robust").to_frame().loc[terms]
    np.testing.assert_allclose(stata["std_err"], robust["bse"], rtol=1e-6)


def check_anes96(model, expected):
    """Stata 11 ``mlogit`` on anes96 (base PID 0): the 6 equations' coefficients and SEs,
    and the log-likelihood."""
    ref = expected["anes96_mnlogit"]["reference"]
    frame = model.summary().to_frame()
    terms = [*model.coef_names_, "Intercept"]
    for k in range(1, 7):
        block = frame.loc[k].loc[terms]
        np.testing.assert_allclose(block["coef"],
                                   np.array(ref["params_6x6_exog_by_equation"])[:, k - 1],
                                   atol=1e-6)
        np.testing.assert_allclose(block["std_err"],
                                   np.array(ref["bse_6x6_exog_by_equation"])[:, k - 1], atol=1e-6)
    assert model.log_likelihood_ == pytest.approx(ref["llf"], abs=1e-6)


def check_ucla(model, expected):
    """Stata ``ologit apply pared public gpa``: slopes, cut points, their SEs and the
    log-likelihood."""
    stata = expected["ucla_ologit"]["reference"]["stata"]
    assert list(model.classes_) == ["unlikely", "somewhat likely", "very likely"]
    frame = model.summary().to_frame()
    np.testing.assert_allclose(model.coef_, stata["coef_derived_ln_or"], atol=1e-5)
    np.testing.assert_allclose(model.thresholds_, stata["cuts"], atol=1e-5)
    np.testing.assert_allclose(frame["std_err"].iloc[:3], stata["coef_se_derived_orse_over_or"],
                               atol=1e-5)
    np.testing.assert_allclose(frame["std_err"].iloc[3:], stata["cuts_se"], atol=1e-5)
    assert model.log_likelihood_ == pytest.approx(stata["llf"], abs=1e-5)
