"""Published Stata results (tests/reference) reproduced by fits on Dask: each data set
as a dask DataFrame of uneven partitions on a LocalCluster of 2 worker processes."""

import numpy as np
import pytest

import logitkit as lk

dd = pytest.importorskip("dask.dataframe")

SPECTOR = ["GPA", "TUCE", "PSI"]
ANES = ["logpopul", "selfLR", "age", "educ", "income"]
UCLA = ["pared", "public", "gpa"]


def _partitioned(frame, npartitions=3):
    return dd.from_pandas(frame, npartitions=npartitions, sort=False)


def test_spector_logit_and_stata_robust_on_dask(dask_client, spector, expected):
    ref = expected["spector_logit"]["reference"]
    robust = expected["spector_glm_robust"]["reference"]
    df = _partitioned(spector)
    m = lk.LogisticRegression().fit(df[SPECTOR], df["GRADE"])
    frame = m.summary().to_frame().loc[SPECTOR + ["Intercept"]]
    np.testing.assert_allclose(frame["coef"], ref["params"], atol=1e-5)
    np.testing.assert_allclose(frame["std_err"], ref["bse"], atol=1e-5)
    np.testing.assert_allclose(frame["p_value"], ref["pvalues"], atol=1e-5)
    assert m.log_likelihood_ == pytest.approx(ref["llf"], abs=1e-5)
    assert m.null_log_likelihood_ == pytest.approx(ref["llnull"], abs=1e-5)
    np.testing.assert_allclose(m.predict_proba(df[SPECTOR]).compute()[:, 1], ref["phat"],
                               atol=1e-6)
    stata = m.summary(cov_type="stata-robust").to_frame().loc[SPECTOR + ["Intercept"]]
    np.testing.assert_allclose(stata["std_err"], robust["bse"], rtol=1e-6)


def test_anes96_mlogit_on_dask(dask_client, anes96, expected):
    ref = expected["anes96_mnlogit"]["reference"]
    df = _partitioned(anes96, 4)
    m = lk.LogisticRegression().fit(df[ANES], df["PID"])
    frame = m.summary().to_frame()
    for k in range(1, 7):
        block = frame.loc[k].loc[ANES + ["Intercept"]]
        np.testing.assert_allclose(block["coef"],
                                   np.array(ref["params_6x6_exog_by_equation"])[:, k - 1],
                                   atol=1e-6)
        np.testing.assert_allclose(block["std_err"],
                                   np.array(ref["bse_6x6_exog_by_equation"])[:, k - 1], atol=1e-6)
    assert m.log_likelihood_ == pytest.approx(ref["llf"], abs=1e-6)


def test_ucla_ologit_on_dask(dask_client, ucla, expected):
    stata = expected["ucla_ologit"]["reference"]["stata"]
    df = _partitioned(ucla)
    m = lk.OrdinalLogisticRegression().fit(df[UCLA], df["apply"])
    assert list(m.classes_) == ["unlikely", "somewhat likely", "very likely"]
    frame = m.summary().to_frame()
    np.testing.assert_allclose(m.coef_, stata["coef_derived_ln_or"], atol=1e-5)
    np.testing.assert_allclose(m.thresholds_, stata["cuts"], atol=1e-5)
    np.testing.assert_allclose(frame["std_err"].iloc[:3], stata["coef_se_derived_orse_over_or"],
                               atol=1e-5)
    np.testing.assert_allclose(frame["std_err"].iloc[3:], stata["cuts_se"], atol=1e-5)
    assert m.log_likelihood_ == pytest.approx(stata["llf"], abs=1e-5)
