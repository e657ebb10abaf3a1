"""Predictions with delta-method intervals: statsmodels' get_prediction for Logit (link-
scale intervals) and OrderedModel (probability SEs), an independent multinomial delta
method, weights == repetition, offsets and the CLI."""

import numpy as np
import pandas as pd
import pytest
import scipy.special as sc
import scipy.stats as st
from click.testing import CliRunner

import logitkit as lk
from logitkit.cli import main

sm = pytest.importorskip("statsmodels.api")

SPECTOR = ["GPA", "TUCE", "PSI"]
UCLA = ["pared", "public", "gpa"]


@pytest.mark.parametrize("cov_type, sm_kwargs", [
    ("nonrobust", {}),
    ("HC0", {"cov_type": "HC0"}),
    ("cluster", {"cov_type": "cluster", "cov_kwds": {"groups": np.arange(32) % 8}}),
])
def test_binary_matches_statsmodels_get_prediction(spector, cov_type, sm_kwargs):
    """statsmodels Logit get_prediction().summary_frame(): probability, its delta SE
    and the interval expit(eta +- z se(eta)), for each covariance."""
    clusters = np.arange(32) % 8 if cov_type == "cluster" else None
    fit = lk.LogisticRegression(tol=1e-10).fit(spector[SPECTOR], spector["GRADE"],
                                               clusters=clusters)
    exog = sm.add_constant(spector[SPECTOR], prepend=False)
    res = sm.Logit(spector["GRADE"], exog).fit(disp=0, **sm_kwargs)
    theirs = res.get_prediction(exog).summary_frame(alpha=0.1)
    ours = fit.predict_interval(spector[SPECTOR], level=0.9, cov_type=cov_type)[1]
    np.testing.assert_allclose(ours["proba"], theirs["predicted"], rtol=1e-8)
    np.testing.assert_allclose(ours["std_err"], theirs["se"], rtol=1e-6)
    np.testing.assert_allclose(ours["lower"], theirs["ci_lower"], rtol=1e-6)
    np.testing.assert_allclose(ours["upper"], theirs["ci_upper"], rtol=1e-6)
    zero = fit.predict_interval(spector[SPECTOR], level=0.9, cov_type=cov_type)[0]
    np.testing.assert_allclose(zero["lower"], 1 - ours["upper"], rtol=1e-12)
    np.testing.assert_allclose(zero["std_err"], ours["std_err"], rtol=1e-12)


def test_ordinal_probability_se_match_statsmodels(ucla):
    """statsmodels OrderedModel get_prediction(which="prob").se (its numerical delta
    method in its own parametrisation) equals ours."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    with np.errstate(invalid="ignore", divide="ignore"):  # (statsmodels' cut-point -inf)
        res = OrderedModel(ucla["apply"], ucla[UCLA], distr="logit").fit(
            method="newton", disp=0, maxiter=100)
        theirs = res.get_prediction(exog=ucla[UCLA].iloc[:20], which="prob")
    fit = lk.OrdinalLogisticRegression(tol=1e-10).fit(ucla[UCLA], ucla["apply"])
    ours = fit.predict_interval(ucla[UCLA].iloc[:20])
    np.testing.assert_allclose(ours.xs("proba", axis=1, level=1), theirs.predicted, rtol=1e-6)
    np.testing.assert_allclose(ours.xs("std_err", axis=1, level=1), theirs.se, rtol=1e-5)


def test_multinomial_delta_method_and_logit_scale_interval(anes96):
    """SEs equal the delta method with a finite-difference Jacobian of the softmax in the
    reported (baseline) parameters; the interval is symmetric on logit(P_k)."""
    cols = ["logpopul", "selfLR", "age", "educ", "income"]
    fit = lk.LogisticRegression(tol=1e-10).fit(anes96[cols], anes96["PID"])
    X = anes96[cols].iloc[:10]
    ours = fit.predict_interval(X, level=0.95)
    design = np.hstack([np.ones((10, 1)), X.to_numpy(float)])  # summary order
    beta = fit.summary().to_frame()["coef"].to_numpy()

    def proba(b):
        logits = np.hstack([np.zeros((10, 1)), design @ b.reshape(6, 6).T])
        return sc.softmax(logits, axis=1)

    J = np.empty((10, 7, len(beta)))
    for i in range(len(beta)):
        h = 1e-6 * max(1.0, abs(beta[i]))
        up, down = beta.copy(), beta.copy()
        up[i] += h
        down[i] -= h
        J[:, :, i] = (proba(up) - proba(down)) / (2 * h)
    V = fit.covariance().to_numpy()
    se = np.sqrt(np.einsum("bkp,pq,bkq->bk", J, V, J))
    np.testing.assert_allclose(ours.xs("std_err", axis=1, level=1), se, rtol=1e-6)
    P = ours.xs("proba", axis=1, level=1).to_numpy()
    half = st.norm.ppf(0.975) * se / (P * (1 - P))
    np.testing.assert_allclose(sc.logit(ours.xs("upper", axis=1, level=1)),
                               sc.logit(P) + half, rtol=1e-6)
    np.testing.assert_allclose(sc.logit(ours.xs("lower", axis=1, level=1)),
                               sc.logit(P) - half, rtol=1e-6)


@pytest.mark.parametrize("ordinal", [False, True])
def test_weights_equal_repetition(ucla, ordinal):
    X, y = ucla[UCLA], ucla["apply"]
    make = lk.OrdinalLogisticRegression if ordinal else lk.LogisticRegression
    counts = np.arange(len(X)) % 3 + 1
    weighted = make(tol=1e-10).fit(X, y, sample_weight=counts)
    repeated = make(tol=1e-10).fit(X.loc[X.index.repeat(counts)], y.loc[y.index.repeat(counts)])
    np.testing.assert_allclose(weighted.predict_interval(X.iloc[:30]),
                               repeated.predict_interval(X.iloc[:30]), rtol=1e-6)


def test_offset_shifts_the_link_scale(spector):
    fit = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    plain = fit.predict_interval(spector[SPECTOR])[1]
    shifted = fit.predict_interval(spector[SPECTOR], offset=np.full(32, 0.5))[1]
    eta = fit.decision_function(spector[SPECTOR])
    np.testing.assert_allclose(shifted["proba"], sc.expit(eta + 0.5), rtol=1e-12)
    np.testing.assert_allclose(sc.logit(shifted["upper"]) - sc.logit(shifted["proba"]),
                               sc.logit(plain["upper"]) - sc.logit(plain["proba"]), rtol=1e-9)


def test_errors_are_named(spector):
    fit = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    with pytest.raises(ValueError, match="level"):
        fit.predict_interval(spector[SPECTOR], level=1.0)
    with pytest.raises(ValueError, match=r"offset has shape \(3,\)"):
        fit.predict_interval(spector[SPECTOR], offset=np.zeros(3))
    penalised = lk.LogisticRegression(alpha=1.0).fit(spector[SPECTOR], spector["GRADE"])
    with pytest.raises(ValueError, match="need standard errors: the fit is penalised"):
        penalised.predict_interval(spector[SPECTOR])


def test_cli_predict_interval(spector, tmp_path):
    data = tmp_path / "spector.csv"
    spector.to_csv(data, index=False)
    runner = CliRunner()
    model = tmp_path / "m.lkm"
    result = runner.invoke(main, ["fit", str(data), "--target", "GRADE", "--features",
                                  "GPA,TUCE,PSI", "-o", str(model)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "pred.csv"
    result = runner.invoke(main, ["predict", str(model), str(data), "--interval", "0.9",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns[2:]) == ["proba_0", "proba_1", "se_0", "lower_0", "upper_0",
                                       "se_1", "lower_1", "upper_1"]
    fit = lk.load(model)
    expected = fit.predict_interval(spector[SPECTOR], level=0.9)[1]
    np.testing.assert_allclose(frame["lower_1"], expected["lower"], rtol=1e-12)
    np.testing.assert_allclose(frame["upper_1"], expected["upper"], rtol=1e-12)
