"""Offsets for all three kinds: statsmodels' OrderedModel ``test_offset`` cases, binary
fits against statsmodels' GLM with the same offset, the multinomial layout, weights ==
repetition, prediction, files, minibatch training and the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from statsmodels.miscmodels.ordinal_model import OrderedModel

import logitkit as lk
from logitkit.cli import main

UCLA = ["pared", "public", "gpa"]
SM_LINKS = {"logit": sm.families.links.Logit, "probit": sm.families.links.Probit,
            "cloglog": sm.families.links.CLogLog}


def test_ordinal_offset_cases_of_statsmodels(ucla):
    """statsmodels/miscmodels/tests/test_ordinal_model.py ``test_offset`` (probit on the
    UCLA data, offset 1): the slopes stay, the cut points move by 1, the fitted
    probabilities stay; prediction with offset=1 equals the plain fit's, with offset=0 the
    plain fit's with its cut points moved by 1 (statsmodels checks these to 2e-4 after
    BFGS; both fits here are Newton's, so they hold to rounding)."""
    X, y = ucla[UCLA], ucla["apply"]
    plain = lk.OrdinalLogisticRegression(link="probit").fit(X, y)
    shifted = lk.OrdinalLogisticRegression(link="probit").fit(X, y, offset=np.ones(len(y)))
    assert_allclose(shifted.coef_, plain.coef_, rtol=1e-9)
    assert_allclose(shifted.thresholds_, plain.thresholds_ + 1, rtol=1e-9)
    assert_allclose(shifted.predict_proba(X, offset=np.ones(len(y))), plain.predict_proba(X),
                    atol=1e-12)
    assert_allclose(shifted.predict_proba(X[:6], offset=1.0), plain.predict_proba(X[:6]),
                    atol=1e-12)
    at_zero = shifted.predict_proba(X[:6], offset=0)
    assert_allclose(at_zero, plain.predict_proba(X[:6], offset=-np.ones(6)), atol=1e-12)
    assert_allclose(shifted.covariance(), plain.covariance(), rtol=1e-7)
    assert shifted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-12)
    assert shifted.null_log_likelihood_ == pytest.approx(plain.null_log_likelihood_,
                                                         rel=1e-12)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_ordinal_offset_matches_statsmodels_ordered_model(ucla, link):
    """A varying offset: statsmodels' OrderedModel with the same offset (Newton at tol
    1e-14; cloglog as its gumbel_l distribution; its second parameter of the cut points is
    the log of their difference)."""
    X, y = ucla[UCLA], ucla["apply"]
    offset = 0.3 * np.sin(np.arange(len(y)))
    model = lk.OrdinalLogisticRegression(link=link).fit(X, y, offset=offset)
    from scipy import stats

    distr = {"logit": "logit", "probit": "probit", "cloglog": stats.gumbel_l}[link]
    reference = OrderedModel(y, X, offset=offset, distr=distr).fit(
        method="newton", disp=False, tol=1e-14, maxiter=100)
    params = reference.params.to_numpy()
    assert_allclose(model.coef_, params[:3], atol=1e-8)
    assert_allclose(model.thresholds_, [params[3], params[3] + np.exp(params[4])], atol=1e-8)
    assert model.log_likelihood_ == pytest.approx(reference.llf, rel=1e-12)
    assert_allclose(model.predict_proba(X, offset=offset), reference.predict(), atol=1e-8)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_binary_offset_matches_statsmodels_glm(spector, link):
    X, y = spector[["GPA", "TUCE", "PSI"]].to_numpy(), spector["GRADE"].to_numpy()
    offset = np.log(1 + np.arange(len(y)) / 10) - 1
    glm = sm.GLM(y, sm.add_constant(X), offset=offset,
                 family=sm.families.Binomial(link=SM_LINKS[link]()))
    reference = glm.fit(method="newton", tol=1e-14, maxiter=200,
                        start_params=glm.fit(tol=1e-12).params)
    model = lk.LogisticRegression(link=link).fit(X, y, offset=offset)
    ours = np.concatenate([model.intercept_, model.coef_[0]])
    assert_allclose(ours, reference.params, rtol=1e-10)
    assert_allclose(model.covariance().to_numpy(),
                    np.linalg.inv(-glm.hessian(reference.params, observed=True)), rtol=1e-8)
    assert model.log_likelihood_ == pytest.approx(reference.llf, rel=1e-13)
    assert model.null_log_likelihood_ == pytest.approx(reference.llnull, rel=1e-10)
    assert_allclose(model.predict_proba(X, offset=offset)[:, 1], reference.fittedvalues,
                    rtol=1e-10)
    assert_allclose(model.decision_function(X, offset=offset),
                    sm.add_constant(X) @ reference.params + offset, rtol=1e-10)


def test_multinomial_offset_columns(anes96):
    """Column k-1 of an (n, K-1) offset adds to the log-odds of classes_[k] against
    classes_[0]: a constant column moves that class's intercept by minus it; a varying
    one gives a zero score of the log-likelihood written out here; an (n,) vector is
    every column."""
    X, y = anes96[["logpopul", "selfLR", "age"]], anes96["vote"].to_numpy() + 2 * (
        anes96["PID"].to_numpy() > 3)
    K = len(np.unique(y))
    plain = lk.LogisticRegression().fit(X, y)
    constant = np.tile(np.arange(1, K) * 0.5, (len(y), 1))
    moved = lk.LogisticRegression().fit(X, y, offset=constant)
    base = plain.summary().to_frame()["coef"]
    shifted = moved.summary().to_frame()["coef"]
    for k, label in enumerate(plain.classes_[1:]):
        assert shifted[(label, "Intercept")] == pytest.approx(
            base[(label, "Intercept")] - 0.5 * (k + 1), abs=1e-8)
    varying = np.random.default_rng(0).normal(scale=0.5, size=(len(y), K - 1))
    model = lk.LogisticRegression(tol=1e-10).fit(X, y, offset=varying)
    Z = np.column_stack([np.ones(len(y)), X])
    B = np.vstack([model.intercept_, model.coef_.T]).T  # (K, d+1), symmetric form
    eta = Z @ B.T + np.column_stack([np.zeros(len(y)), varying])
    P = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
    Y = (y[:, None] == model.classes_[None, :]).astype(float)
    assert np.abs(Z.T @ (Y - P)).max() < 1e-6 * len(y)
    assert_allclose(model.predict_proba(X, offset=varying), P, atol=1e-12)
    vector = np.linspace(-1, 1, len(y))
    a = lk.LogisticRegression().fit(X, y, offset=vector)
    b = lk.LogisticRegression().fit(X, y, offset=np.repeat(vector[:, None], K - 1, axis=1))
    assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    l1 = dict(alpha=0.01, l1_ratio=0.5, tol=1e-10)  # the symmetric (K-column) layout
    a = lk.LogisticRegression(**l1).fit(X, y, offset=constant)
    b = lk.LogisticRegression(**l1).fit(X, y)
    assert_allclose(a.coef_, b.coef_, atol=1e-6)


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_weights_equal_repeated_rows_with_an_offset(kind):
    rng = np.random.default_rng(1)
    n = 120
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, 2 if kind == "binary" else 3, size=n)
    offset = rng.normal(scale=0.5, size=(n, 2) if kind == "multinomial" else n)
    w = rng.integers(0, 4, size=n)
    rows = np.repeat(np.arange(n), w)
    make = (lambda: lk.OrdinalLogisticRegression()) if kind == "ordinal" else (
        lambda: lk.LogisticRegression())
    weighted = make().fit(X, y, sample_weight=w, offset=offset)
    repeated = make().fit(X[rows], y[rows], offset=offset[rows])
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)
    assert weighted.null_log_likelihood_ == pytest.approx(repeated.null_log_likelihood_,
                                                          rel=1e-10)
    assert_allclose(weighted.covariance("HC1"), repeated.covariance("HC1"), rtol=1e-6)


def test_prediction_needs_the_offset_and_checks_its_shape():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(50, 2)), rng.integers(0, 3, size=50)
    model = lk.LogisticRegression().fit(X, y, offset=np.zeros((50, 2)))
    assert model.has_offset_
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        with pytest.raises(ValueError, match=rf"pass {method}\(X, offset=\.\.\.\)"):
            getattr(model, method)(X)
    with pytest.raises(ValueError, match=r"offset must have shape \(50,\) or \(50, 2\)"):
        model.predict(X, offset=np.zeros((50, 3)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        lk.LogisticRegression().fit(X, y % 2, offset=np.full(50, np.nan))
    with pytest.raises(ValueError, match=r"offset must have shape \(50,\)"):
        lk.LogisticRegression().fit(X, y % 2, offset=np.zeros(49))
    with pytest.raises(ValueError, match="validation_data cannot carry an offset"):
        lk.LogisticRegression(solver="adam", epochs=1).fit(
            X, y, offset=np.zeros(50), validation_data=(X, y))
    plain = lk.LogisticRegression().fit(X, y)
    assert not plain.has_offset_
    assert_allclose(plain.predict_proba(X, offset=0.0), plain.predict_proba(X))


def test_the_fit_keeps_its_offset_for_post_estimation():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(80, 2)), rng.integers(0, 2, size=80)
    offset = rng.normal(size=80)
    model = lk.LogisticRegression(link="probit").fit(X, y, offset=offset)
    assert model.fitted_rows().offset is not None
    assert_allclose(model.fitted_rows().offset, offset)
    objective = model.fitted_objective()
    value, grad, _ = objective.evaluate(model.result_.params, 1)
    assert value == pytest.approx(-model.log_likelihood_ / 80, rel=1e-12)
    assert np.abs(grad).max() < 1e-8
    with pytest.raises(ValueError, match=r"pass fitted_rows\(X, offset=\.\.\.\)"):
        model.fitted_rows(X, y)
    again = model.fitted_objective(X, y, offset=offset)
    assert again.evaluate(model.result_.params, 0)[0] == pytest.approx(value, rel=1e-14)
    assert "offset" in " ".join(model.summary().notes)


def test_model_files_keep_the_offset_flag(tmp_path):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(60, 2)), rng.integers(0, 3, size=60)
    model = lk.OrdinalLogisticRegression(link="cloglog").fit(X, y, offset=X[:, 0] * 0.1)
    model.save(tmp_path / "m.lk")
    loaded = lk.load(tmp_path / "m.lk")
    assert loaded.has_offset_
    assert_allclose(loaded.predict_proba(X, offset=X[:, 0] * 0.1),
                    model.predict_proba(X, offset=X[:, 0] * 0.1), rtol=0, atol=0)
    with pytest.raises(ValueError, match="fitted with an offset"):
        loaded.predict(X)


@pytest.mark.parametrize("kind", ["binary", "multinomial"])
def test_minibatch_training_with_an_offset_reaches_the_exact_fit(kind):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 2))
    y = rng.integers(0, 2 if kind == "binary" else 3, size=200)
    offset = rng.normal(scale=0.5, size=(200, 2) if kind == "multinomial" else 200)
    exact = lk.LogisticRegression().fit(X, y, offset=offset)
    trained = lk.LogisticRegression(solver="sgd", batch_size=None, momentum=0.9,
                                    learning_rate=0.5, epochs=500).fit(X, y, offset=offset)
    assert_allclose(trained.coef_, exact.coef_, atol=1e-4)
    assert trained.evaluate(X, y, offset=offset)["loss"] == pytest.approx(
        -exact.log_likelihood_ / 200, rel=1e-6)
    partial = lk.LogisticRegression(solver="adam", batch_size=50)
    for _ in range(3):
        partial.partial_fit(X, y, classes=np.unique(y), offset=offset)
    with pytest.raises(ValueError, match="on every partial_fit call or on none"):
        partial.partial_fit(X, y)


def test_cli_fit_and_predict_with_an_offset(tmp_path):
    rng = np.random.default_rng(6)
    n = 200
    frame = pd.DataFrame({"x": rng.normal(size=n), "exposure": rng.uniform(0.5, 3, size=n)})
    frame["log_exposure"] = np.log(frame["exposure"])
    eta = -0.5 + 0.8 * frame["x"] + frame["log_exposure"]
    frame["y"] = (rng.random(n) < -np.expm1(-np.exp(eta))).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    runner = CliRunner()
    model_file = str(tmp_path / "m.lk")
    result = runner.invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "y",
                                  "--features", "x", "--link", "cloglog", "--offset",
                                  "log_exposure", "-o", model_file])
    assert result.exit_code == 0, result.output
    assert "binary cloglog" in result.output
    reference = lk.LogisticRegression(link="cloglog").fit(frame[["x"]], frame["y"],
                                                          offset=frame["log_exposure"])
    loaded = lk.load(model_file)
    assert_allclose(loaded.coef_, reference.coef_, rtol=1e-12)
    result = runner.invoke(main, ["predict", model_file, str(tmp_path / "d.csv"), "--proba",
                                  "--offset", "log_exposure"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(pd.io.common.StringIO(result.output))
    assert_allclose(out["proba_1"], reference.predict_proba(frame[["x"]],
                                                            offset=frame["log_exposure"])[:, 1],
                    rtol=1e-12)
    result = runner.invoke(main, ["predict", model_file, str(tmp_path / "d.csv")])
    assert result.exit_code == 2 and "--offset COLUMN" in result.output
    result = runner.invoke(main, ["evaluate", model_file, str(tmp_path / "d.csv"),
                                  "--offset", "log_exposure", "--format", "json"])
    assert result.exit_code == 0, result.output
    accuracy = reference.score(frame[["x"]], frame["y"], offset=frame["log_exposure"])
    assert json.loads(result.output)["accuracy"] == pytest.approx(accuracy, rel=1e-12)
    result = runner.invoke(main, ["evaluate", model_file, str(tmp_path / "d.csv")])
    assert result.exit_code == 2 and "--offset COLUMN" in result.output
    result = runner.invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "y",
                                  "--features", "x,log_exposure", "--offset", "log_exposure",
                                  "-o", model_file])
    assert result.exit_code == 2 and "cannot be both the offset column" in result.output


@pytest.mark.parametrize("solver", ["newton-cg", "lbfgs"])
@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_every_exact_solver_takes_the_offset(kind, solver, monkeypatch):
    """Newton-CG and L-BFGS reach Newton's fit with an offset, and the Hessian-vector
    products (the rows' curvature kept, or recomputed per product when it would not fit
    the memory budget) are the Hessian's."""
    rng = np.random.default_rng(7)
    n = 300
    X = rng.normal(size=(n, 3))
    y = rng.integers(0, 2 if kind == "binary" else 3, size=n)
    offset = rng.normal(scale=0.5, size=(n, 2) if kind == "multinomial" else n)
    make = (lk.OrdinalLogisticRegression if kind == "ordinal" else
            lambda **k: lk.LogisticRegression(link="cloglog" if kind == "binary" else "logit",
                                              **k))
    newton = make(solver="newton", tol=1e-10).fit(X, y, offset=offset)
    other = make(solver=solver, tol=1e-10, max_iter=500).fit(X, y, offset=offset)
    assert_allclose(other.coef_, newton.coef_, atol=1e-6)
    objective = newton.fitted_objective()
    theta = newton.result_.params + 0.1  # (away from the optimum)
    v = rng.normal(size=len(theta))
    hessian = objective.evaluate(theta, 2)[2]
    from logitkit import curvature

    for share in (curvature.KEPT_SHARE, 0.0):  # kept, recomputed
        monkeypatch.setattr(curvature, "KEPT_SHARE", share)
        assert_allclose(objective.hessian_vector_product(theta, v), hessian @ v, rtol=1e-10,
                        atol=1e-12)
