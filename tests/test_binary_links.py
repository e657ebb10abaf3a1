"""Binary probit and cloglog links: Stata's probit on Spector to the published digits,
both links against statsmodels' GLM (observed and expected information), every covariance
type against its formula computed here, and the paths a fit can take (minibatch, sparse,
categorical, L1, Dask, model files)."""

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy.special import ndtr
from statsmodels.discrete.tests.results.results_discrete import Spector

import logitkit as lk
from logitkit.families import LINKS, BinaryLink
from logitkit.solvers import compiled_loop, compiled_pass
from logitkit.solvers.stochastic import TrainingConfig, TrainingProblem

SPECTOR = ["GPA", "TUCE", "PSI"]
SM_LINKS = {"logit": sm.families.links.Logit, "probit": sm.families.links.Probit,
            "cloglog": sm.families.links.CLogLog}


def _data(n=400, seed=0, link="probit"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = X @ [0.8, -0.5, 0.3] + 0.2
    p = ndtr(eta) if link == "probit" else -np.expm1(-np.exp(eta))
    return X, (rng.random(n) < p).astype(int)


def _glm(X, y, link, offset=None, weights=None):
    family = sm.families.Binomial(link=SM_LINKS[link]())
    return sm.GLM(y, sm.add_constant(X, prepend=True), family=family, offset=offset,
                  freq_weights=weights)


def test_probit_on_spector_matches_stata(spector):
    """Stata 11 ``probit grade gpa tuce psi``, as statsmodels stores it
    (statsmodels/discrete/tests/results/results_discrete.py, ``Spector.probit``; order
    GPA, TUCE, PSI, constant). Stata's printed numbers are those of a point near the
    optimum, not at it: the score there is 2e-6 (the exact optimum's log-likelihood is
    -12.818804069, Stata prints -12.8188033249; statsmodels' Probit at tol 1e-14 agrees
    with logitkit to 1e-14), so they are met to their 7th significant digit; LL-Null,
    which has a closed form, to 1e-15."""
    ref = Spector.probit
    X, y = spector[SPECTOR], spector["GRADE"]
    model = lk.LogisticRegression(link="probit").fit(X, y)
    terms = [*SPECTOR, "Intercept"]
    frame = model.summary().to_frame().loc[terms]
    assert_allclose(frame["coef"], ref.params, rtol=2e-7)
    assert_allclose(frame["std_err"], ref.bse, rtol=1e-7)
    assert_allclose(frame["z"], ref.z, rtol=1e-7)
    assert_allclose(frame["p_value"], ref.pvalues, rtol=1e-6)
    assert_allclose(frame[["ci_lower", "ci_upper"]], ref.conf_int, rtol=1e-6)
    assert_allclose(model.covariance().loc[terms, terms], ref.cov_params, rtol=5e-7)
    assert model.log_likelihood_ == pytest.approx(ref.llf, rel=1e-7)
    assert model.null_log_likelihood_ == pytest.approx(ref.llnull, rel=1e-15)
    assert model.pseudo_r2_ == pytest.approx(ref.prsquared, rel=2e-7)
    assert model.aic_ == pytest.approx(ref.aic, rel=1e-7)
    assert model.bic_ == pytest.approx(ref.bic, rel=1e-7)
    assert model.df_model_ == ref.df_model
    assert_allclose(model.predict_proba(X)[:, 1], ref.phat, atol=1e-7)  # (7 digits printed)
    assert_allclose(model.decision_function(X), ref.yhat, atol=2e-6)
    summary = model.summary()
    assert summary.title == "Probit regression results"
    assert summary.header_values()["link"] == "probit"
    assert np.isnan(summary.table["odds_ratio"]).all()  # exp(coef) is no odds ratio
    assert "observed information" in " ".join(summary.notes)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_links_match_statsmodels_glm_with_observed_and_expected_information(spector, link):
    """statsmodels' GLM: its IRLS fit polished by Newton at tol 1e-14 (IRLS alone stops
    with a score of 1.6e-7), its log-likelihood, and SEs from its observed Hessian
    (Stata's) and from its expected information (R glm's, IRLS's weights)."""
    X, y = spector[SPECTOR].to_numpy(), spector["GRADE"].to_numpy()
    glm = _glm(X, y, link)
    irls = glm.fit(tol=1e-14, maxiter=200)
    reference = glm.fit(method="newton", tol=1e-14, maxiter=200, start_params=irls.params)
    observed = lk.LogisticRegression(link=link).fit(X, y)
    expected = lk.LogisticRegression(link=link, information="expected").fit(X, y)
    order = ["Intercept", "x0", "x1", "x2"]
    for model in (observed, expected):
        assert_allclose(model.summary().to_frame().loc[order, "coef"], reference.params,
                        rtol=1e-12)
        assert model.log_likelihood_ == pytest.approx(reference.llf, rel=1e-14)
    oim = np.linalg.inv(-glm.hessian(reference.params, observed=True))
    eim = np.linalg.inv(-glm.hessian(reference.params, observed=False))
    assert_allclose(observed.covariance().loc[order, order], oim, rtol=1e-10)
    assert_allclose(expected.covariance().loc[order, order], eim, rtol=1e-10)
    assert_allclose(expected.summary().to_frame().loc[order, "std_err"], irls.bse, rtol=1e-6)
    assert not np.allclose(oim, eim, rtol=1e-3)  # non-canonical links: they differ
    assert "expected (Fisher) information" in " ".join(expected.summary().notes)


def test_the_logit_information_is_the_same_either_way(spector):
    X, y = spector[SPECTOR], spector["GRADE"]
    a = lk.LogisticRegression().fit(X, y).covariance()
    b = lk.LogisticRegression(information="expected").fit(X, y).covariance()
    assert_allclose(a, b, rtol=1e-12)


def _sandwich_by_hand(X, y, coef, link, information, clusters):
    """R sandwich's estimators for a glm (bread the information chosen, HC2/HC3 hat values
    from the same weights), written out with per-row scores."""
    Z = np.column_stack([np.ones(len(y)), X])
    eta = Z @ coef
    F = LINKS[link]
    cdf, sf, pdf = np.exp(F.log_cdf(eta)), np.exp(F.log_sf(eta)), np.exp(F.log_pdf(eta))
    score = Z * (((y - cdf) * pdf / (cdf * sf))[:, None])
    if information == "expected":
        v = pdf**2 / (cdf * sf)
    else:  # minus the second derivative of the row's log-likelihood
        g = F.dlog_pdf(eta)
        r = np.where(y == 1, pdf / cdf, pdf / sf)
        v = r * (r + np.where(y == 1, -g, g))
    B = np.linalg.inv(Z.T @ (Z * v[:, None]))
    h = v * np.einsum("ij,jk,ik->i", Z, B, Z)
    n, p = Z.shape
    M = score.T @ score
    groups = np.unique(clusters)
    S = np.array([score[clusters == g].sum(axis=0) for g in groups])
    G = len(groups)
    return {
        "nonrobust": B, "HC0": B @ M @ B, "HC1": n / (n - p) * B @ M @ B,
        "HC2": B @ (score.T @ (score / (1 - h)[:, None])) @ B,
        "HC3": B @ (score.T @ (score / ((1 - h) ** 2)[:, None])) @ B,
        "stata-robust": n / (n - 1) * B @ M @ B,
        "cluster": G / (G - 1) * (n - 1) / (n - p) * B @ S.T @ S @ B,
        "stata-cluster": G / (G - 1) * B @ S.T @ S @ B,
    }


@pytest.mark.parametrize("link", ["probit", "cloglog"])
@pytest.mark.parametrize("information", ["observed", "expected"])
def test_every_cov_type_follows_its_formula(link, information):
    X, y = _data(300, seed=3, link=link)
    clusters = np.arange(300) % 17
    model = lk.LogisticRegression(link=link, information=information).fit(
        X, y, clusters=clusters)
    coef = np.concatenate([model.intercept_, model.coef_[0]])
    by_hand = _sandwich_by_hand(X, y, coef, link, information, clusters)
    for cov_type, matrix in by_hand.items():
        assert_allclose(model.covariance(cov_type), matrix, rtol=1e-7, err_msg=cov_type)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_weights_equal_repeated_rows(link):
    X, y = _data(150, seed=4, link=link)
    w = np.random.default_rng(5).integers(0, 4, size=150)
    offset = np.linspace(-0.5, 0.5, 150)
    rows = np.repeat(np.arange(150), w)
    weighted = lk.LogisticRegression(link=link).fit(X, y, sample_weight=w, offset=offset)
    repeated = lk.LogisticRegression(link=link).fit(X[rows], y[rows], offset=offset[rows])
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-10)
    assert weighted.null_log_likelihood_ == pytest.approx(repeated.null_log_likelihood_,
                                                          rel=1e-10)
    for cov_type in ("nonrobust", "HC0", "HC1", "HC3"):
        assert_allclose(weighted.covariance(cov_type), repeated.covariance(cov_type),
                        rtol=1e-6, err_msg=cov_type)


def test_more_than_two_classes_and_bad_settings_are_refused():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="link='probit' applies to binary fits"):
        lk.LogisticRegression(link="probit").fit(X, np.arange(30) % 3)
    with pytest.raises(ValueError, match="link must be one of"):
        lk.LogisticRegression(link="loglog").fit(X, np.arange(30) % 2)
    with pytest.raises(ValueError, match="information must be one of"):
        lk.LogisticRegression(link="probit", information="fisher").fit(X, np.arange(30) % 2)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_family_derivatives_are_finite_and_match_differences(link):
    family = BinaryLink(link)
    z = np.concatenate([np.linspace(-30, 30 if link == "probit" else 5, 61), [-1e3]])
    for y in (0.0, 1.0):
        codes = np.full(len(z), y)
        w = np.ones(len(z))
        der = family.derivatives(z[:, None], np.zeros(0), codes, w, 2)
        assert np.all(np.isfinite(der.grad_eta)) and np.all(np.isfinite(der.hess_eta_diag))
        assert np.all(der.hess_eta_diag >= 0)  # both links' log F and log S are concave
        step = 1e-6
        losses = [family.derivatives((z + s)[:, None], np.zeros(0), codes, w, 0)
                  for s in (-step, step)]
        middle = slice(10, 50)  # (differences of the loss lose digits in the far tails)
        per_row = np.array([[-(family._log_parts(np, zz, codes == 1)[0])
                             for zz in (z - step, z + step)]])[0]
        assert_allclose(((per_row[1] - per_row[0]) / (2 * step))[middle],
                        der.grad_eta[middle, 0], rtol=1e-5, atol=1e-9)
        assert losses[0].loss > 0


def test_compiled_logit_paths_are_bypassed():
    X, y = _data(200)
    for link in ("probit", "cloglog"):
        ob = lk.LogisticRegression(link=link).fit(X, y).fitted_objective()
        assert not compiled_pass.supports(ob, 1)
        config = TrainingConfig.from_params("adam", lk.LogisticRegression(solver="adam")
                                            .get_params())
        assert not compiled_loop.supports(TrainingProblem(ob), config)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_minibatch_training_reaches_the_exact_fit(link):
    X, y = _data(300, seed=6, link=link)
    exact = lk.LogisticRegression(link=link).fit(X, y)
    trained = lk.LogisticRegression(link=link, solver="sgd", batch_size=None, momentum=0.9,
                                    learning_rate=0.5, epochs=400).fit(X, y)
    assert_allclose(trained.coef_, exact.coef_, atol=1e-4)
    assert trained.converged_
    assert_allclose(trained.covariance(), exact.covariance(), rtol=1e-3)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_sparse_and_categorical_designs_give_the_dense_fit(link):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.normal(size=300),
                          "g": pd.Categorical(rng.choice(["a", "b", "c"], size=300))})
    y = (rng.random(300) < 0.3 + 0.3 * (frame["g"] == "b") + 0.1 * frame["x"].clip(-1, 1)
         ).astype(int)
    dense = np.column_stack([frame["x"], frame["g"] == "b", frame["g"] == "c"]).astype(float)
    reference = lk.LogisticRegression(link=link).fit(dense, y)
    categorical = lk.LogisticRegression(link=link).fit(frame, y)
    sparse = lk.LogisticRegression(link=link).fit(sp.csr_array(dense), y)
    for model in (categorical, sparse):
        assert_allclose(model.coef_, reference.coef_, rtol=1e-8)
        assert_allclose(model.covariance("HC1").to_numpy(),
                        reference.covariance("HC1").to_numpy(), rtol=1e-7)
    assert categorical.coef_names_ == ["x", "g[b]", "g[c]"]


def test_l1_fits_on_sparse_rows_equal_the_dense_ones():
    """Sparse binary L1 fits step by coordinate descent on the rows (data_space_cd), dense
    ones by the working set's Hessian: the same optimum for a non-logit link."""
    X, y = _data(400, seed=8, link="cloglog")
    X = np.column_stack([X, np.random.default_rng(9).normal(size=(400, 5))])
    offset = np.linspace(-0.3, 0.3, 400)
    params = dict(link="cloglog", alpha=0.02, l1_ratio=1.0, tol=1e-10)
    dense = lk.LogisticRegression(**params).fit(X, y, offset=offset)
    sparse = lk.LogisticRegression(**params).fit(sp.csr_array(X), y, offset=offset)
    assert_allclose(sparse.coef_, dense.coef_, atol=1e-7)
    assert np.count_nonzero(dense.coef_) < X.shape[1]


def test_dask_input_fits_the_link_and_refuses_an_offset():
    X, y = _data(600, seed=10, link="cloglog")
    memory = lk.LogisticRegression(link="cloglog", information="expected").fit(X, y)
    Xd, yd = da.from_array(X, chunks=(200, 3)), da.from_array(y, chunks=200)
    with dask.config.set(scheduler="threads"):
        lazy = lk.LogisticRegression(link="cloglog", information="expected").fit(Xd, yd)
        assert_allclose(lazy.coef_, memory.coef_, rtol=1e-9)
        assert_allclose(lazy.covariance("HC0"), memory.covariance("HC0"), rtol=1e-8)
        assert_allclose(lazy.predict_proba(Xd).compute(), memory.predict_proba(X), rtol=1e-12)
        with pytest.raises(ValueError, match="offset is not supported on Dask input"):
            lk.LogisticRegression(link="cloglog").fit(Xd, yd, offset=np.zeros(600))


def test_model_files_keep_the_link_and_information(tmp_path):
    X, y = _data(200, seed=11, link="cloglog")
    model = lk.LogisticRegression(link="cloglog", information="expected").fit(X, y)
    model.save(tmp_path / "m.lk")
    loaded = lk.load(tmp_path / "m.lk")
    assert (loaded.link, loaded.information) == ("cloglog", "expected")
    assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=0, atol=0)
    assert str(loaded.summary()) == str(model.summary())


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_torch_tensors_give_the_numpy_fit_with_an_offset(link):
    """The torch namespace of the family (device="cpu"), exact and minibatch (the device
    loop, offsets gathered with the shuffled rows: the host loop's steps)."""
    pytest.importorskip("torch")
    X, y = _data(500, seed=12, link=link)
    offset = np.linspace(-0.4, 0.4, 500)
    host = lk.LogisticRegression(link=link, information="expected").fit(X, y, offset=offset)
    torch_fit = lk.LogisticRegression(link=link, information="expected", device="cpu").fit(
        X, y, offset=offset)
    assert_allclose(torch_fit.coef_, host.coef_, rtol=1e-10)
    assert_allclose(torch_fit.covariance("HC3"), host.covariance("HC3"), rtol=1e-9)
    settings = dict(link=link, solver="adam", batch_size=64, epochs=5, random_state=0)
    on_torch = lk.LogisticRegression(device="cpu", **settings).fit(X, y, offset=offset)
    on_host = lk.LogisticRegression(**settings).fit(X, y, offset=offset)
    assert_allclose(on_torch.coef_, on_host.coef_, rtol=1e-10)


def test_describe_names_the_link():
    X, y = _data(100, seed=13)
    text = str(lk.LogisticRegression(link="probit").fit(X, y).describe())
    assert "binary probit regression" in text and "dense (Dense, probit CDF)" in text


def test_cross_validation_keeps_the_link():
    X, y = _data(300, seed=14, link="cloglog")
    cv = lk.LogisticRegressionCV(link="cloglog", information="expected", n_alphas=5, cv=3,
                                 random_state=0).fit(X, y)
    refit = cv.best_estimator_
    assert (refit.link, refit.information) == ("cloglog", "expected")
    direct = lk.LogisticRegression(link="cloglog", alpha=cv.alpha_, l1_ratio=cv.l1_ratio_,
                                   tol=1e-10).fit(X, y)
    assert_allclose(refit.coef_, direct.coef_, atol=1e-6)
