"""Standard errors, robust covariances, summaries and LR tests."""

import numpy as np
import pytest
import statsmodels.api as sm

import logitkit as lk
from published import check_anes96

SPECTOR = ["GPA", "TUCE", "PSI"]
ANES = ["logpopul", "selfLR", "age", "educ", "income"]


@pytest.fixture(scope="module")
def spector_fit(spector):
    return lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])


def test_spector_inference_matches_stata(spector_fit, expected):
    ref = expected["spector_logit"]["reference"]
    frame = spector_fit.summary().to_frame().loc[SPECTOR + ["Intercept"]]
    np.testing.assert_allclose(frame["coef"], ref["params"], atol=1e-5)
    np.testing.assert_allclose(frame["std_err"], ref["bse"], atol=1e-5)
    np.testing.assert_allclose(frame["z"], ref["z"], atol=1e-5)
    np.testing.assert_allclose(frame["p_value"], ref["pvalues"], atol=1e-5)
    np.testing.assert_allclose(frame[["ci_lower", "ci_upper"]], ref["conf_int_95"], atol=1e-5)
    cov = spector_fit.covariance_.loc[SPECTOR + ["Intercept"], SPECTOR + ["Intercept"]]
    np.testing.assert_allclose(cov, ref["cov_params"], rtol=1e-5)
    assert spector_fit.log_likelihood_ == pytest.approx(ref["llf"], abs=1e-5)
    assert spector_fit.null_log_likelihood_ == pytest.approx(ref["llnull"], abs=1e-5)
    assert spector_fit.aic_ == pytest.approx(ref["aic"], abs=1e-5)
    assert spector_fit.bic_ == pytest.approx(ref["bic"], abs=1e-5)
    assert spector_fit.pseudo_r2_ == pytest.approx(ref["prsquared"], abs=1e-5)
    assert spector_fit.df_model_ == ref["df_model"]


def test_anes96_standard_errors_match_stata(anes96, expected):
    ref = expected["anes96_mnlogit"]["reference"]
    m = lk.LogisticRegression().fit(anes96[ANES], anes96["PID"])
    assert m.summary().to_frame().index.names == ["PID", "term"]
    check_anes96(m, expected)
    assert m.df_model_ == ref["df_model"]
    assert m.pseudo_r2_ == pytest.approx(ref["prsquared"], abs=1e-8)


def test_multinomial_base_class_changes_the_contrasts(anes96):
    m = lk.LogisticRegression().fit(anes96[ANES], anes96["PID"])
    base3 = m.summary(base_class=3).to_frame()
    default = m.summary().to_frame()
    assert 3 not in base3.index.get_level_values(0) and 0 in base3.index.get_level_values(0)
    # class 0 against base 3 is minus class 3 against base 0, with the same standard errors
    np.testing.assert_allclose(base3.loc[0, "coef"], -default.loc[3, "coef"], atol=1e-12)
    np.testing.assert_allclose(base3.loc[0, "std_err"], default.loc[3, "std_err"], rtol=1e-10)
    # coef_ differences give the same contrasts
    np.testing.assert_allclose(base3.loc[5, "coef"].iloc[1:], m.coef_[5] - m.coef_[3], atol=1e-10)
    with pytest.raises(ValueError, match="base_class 9"):
        m.summary(base_class=9)


def test_ucla_ordinal_inference_matches_stata(ucla, expected):
    stata = expected["ucla_ologit"]["reference"]["stata"]
    m = lk.OrdinalLogisticRegression().fit(ucla[["pared", "public", "gpa"]], ucla["apply"])
    frame = m.summary().to_frame()
    assert list(frame.index) == ["pared", "public", "gpa", "unlikely|somewhat likely",
                                 "somewhat likely|very likely"]
    np.testing.assert_allclose(frame["std_err"].iloc[:3], stata["coef_se_derived_orse_over_or"],
                               atol=1e-5)
    np.testing.assert_allclose(frame["std_err"].iloc[3:], stata["cuts_se"], atol=1e-5)
    np.testing.assert_allclose(frame["odds_ratio"].iloc[:3], stata["odds_ratio"], atol=1e-5)
    assert frame["odds_ratio"].iloc[3:].isna().all()  # cut points have no odds ratio
    assert m.pseudo_r2_ == pytest.approx(stata["pseudo_r2"], abs=5e-5)


def test_sandwich_matches_statsmodels(spector, spector_fit):
    X = sm.add_constant(spector[SPECTOR])
    sm_fit = sm.Logit(spector["GRADE"], X).fit(disp=0, cov_type="HC0")
    hc0 = spector_fit.summary(cov_type="HC0").to_frame()
    np.testing.assert_allclose(hc0.loc[["Intercept"] + SPECTOR, "std_err"],
                               sm_fit.bse[["const"] + SPECTOR], rtol=1e-6)
    # HC1 is HC0 with the n / (n - p) small-sample factor (R sandwich::vcovHC type "HC1")
    hc1 = spector_fit.summary(cov_type="HC1").to_frame()
    np.testing.assert_allclose(hc1["std_err"], hc0["std_err"] * np.sqrt(32 / 28), rtol=1e-12)


def test_cluster_robust_matches_statsmodels(spector):
    groups = np.arange(len(spector)) % 8
    X = sm.add_constant(spector[SPECTOR])
    sm_fit = sm.Logit(spector["GRADE"], X).fit(disp=0, cov_type="cluster",
                                               cov_kwds={"groups": groups})
    m = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"], clusters=groups)
    ours = m.summary(cov_type="cluster")
    np.testing.assert_allclose(ours.to_frame().loc[["Intercept"] + SPECTOR, "std_err"],
                               sm_fit.bse[["const"] + SPECTOR], rtol=1e-6)
    assert "8 clusters" in str(ours)
    with pytest.raises(ValueError, match="clusters="):
        lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"]).summary(cov_type="cluster")


def test_ordinal_sandwich_matches_statsmodels(ucla):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    X = ucla[["pared", "public", "gpa"]]
    m = lk.OrdinalLogisticRegression().fit(X, ucla["apply"])
    # statsmodels parametrises the cut points as (first, log increments); start it at our
    # optimum so that its own optimiser only confirms it
    start = np.r_[m.coef_, m.thresholds_[0], np.log(np.diff(m.thresholds_))]
    sm_fit = OrderedModel(ucla["apply"], X, distr="logit").fit(
        start_params=start, method="newton", disp=0, cov_type="HC0")
    np.testing.assert_allclose(sm_fit.params.iloc[:3], m.coef_, atol=1e-7)
    # OrderedModel's score and Hessian are numerical derivatives: agree to their accuracy
    np.testing.assert_allclose(m.summary(cov_type="HC0").to_frame()["std_err"].iloc[:3],
                               sm_fit.bse.iloc[:3], rtol=5e-5)


def test_interval_level_and_text_and_html(spector_fit):
    s90 = spector_fit.summary(alpha=0.1).to_frame()
    s95 = spector_fit.summary().to_frame()
    assert (s90["ci_upper"] - s90["ci_lower"] < s95["ci_upper"] - s95["ci_lower"]).all()
    text = str(spector_fit.summary(alpha=0.1))
    for piece in ("Logit regression results", "No. observations", "LR chi2(3)", "[0.05",
                  "Pseudo R2 (McFadden)", "Covariance type", "nonrobust", "GPA"):
        assert piece in text
    html = spector_fit.summary()._repr_html_()
    assert "<table" in html and "GPA" in html


def test_penalised_fit_refuses_inference(spector):
    m = lk.LogisticRegression(alpha=0.1).fit(spector[SPECTOR], spector["GRADE"])
    frame = m.summary().to_frame()
    assert frame["std_err"].isna().all() and frame["coef"].notna().all()
    assert "penalised fit" in str(m.summary())
    with pytest.raises(ValueError, match="is penalised"):
        m.covariance()
    # the attribute is absent, with the reason: hasattr and dir (tab completion) work
    with pytest.raises(AttributeError, match="is penalised"):
        m.covariance_  # noqa: B018
    assert not hasattr(m, "covariance_") and "coef_" in dir(m)


def test_lr_test_of_nested_models(spector):
    full = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    small = lk.LogisticRegression().fit(spector[["GPA"]], spector["GRADE"])
    test = full.lr_test(small)
    assert test.df == 2
    assert test.statistic == pytest.approx(2 * (full.log_likelihood_ - small.log_likelihood_))
    assert 0 < test.p_value < 1
    assert small.lr_test(full) == test
    with pytest.raises(ValueError, match="same kind"):
        full.lr_test(lk.OrdinalLogisticRegression().fit(spector[SPECTOR], spector["GRADE"]))


def test_inference_false_skips_the_matrices_and_says_so(spector):
    m = lk.LogisticRegression(inference=False).fit(spector[SPECTOR], spector["GRADE"])
    full = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    assert m.inference_ is None
    np.testing.assert_array_equal(m.coef_, full.coef_)
    assert m.log_likelihood_ == full.log_likelihood_
    assert m.summary().to_frame()["std_err"].isna().all()
    assert "inference=False" in str(m.summary())
    with pytest.raises(AttributeError, match="inference=True"):
        m.covariance_  # noqa: B018


def test_an_exactly_singular_information_is_reported_singular():
    """A constant column beside the intercept: Cholesky may pass it with a pivot of
    rounding size; the inverse is then a pseudo-inverse, reported as singular."""
    from logitkit.inference import inverse_information

    rng = np.random.default_rng(0)
    Z = np.column_stack([np.ones(32), np.full(32, 1.0), rng.normal(size=32)])
    weights = rng.uniform(0.05, 0.25, 32)
    information = (Z * weights[:, None]).T @ Z / 32
    inverse, singular = inverse_information(information)
    assert singular and np.all(np.isfinite(inverse))
    # a generalised inverse (of the equilibrated matrix, scaled back): A G A = A
    np.testing.assert_allclose(information @ inverse @ information, information,
                               atol=1e-12)
    regular = information[np.ix_([0, 2], [0, 2])]
    inverse, singular = inverse_information(regular)
    assert not singular
    np.testing.assert_allclose(inverse @ regular, np.eye(2), atol=1e-12)
