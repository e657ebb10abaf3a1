"""Marginal effects against Stata's margins (published in statsmodels'
statsmodels/discrete/tests/results/results_discrete.py), an independent computation for
ordinal models, statsmodels' get_margeff for cluster-robust SEs, and weights ==
repetition."""

import numpy as np
import pandas as pd
import pytest
import scipy.special as sc

import logitkit as lk
from logitkit import margins

results = pytest.importorskip("statsmodels.discrete.tests.results.results_discrete")
sm = pytest.importorskip("statsmodels.api")

SPECTOR = ["GPA", "TUCE", "PSI"]
ANES = ["logpopul", "selfLR", "age", "educ", "income"]
AT_SUFFIX = {"overall": "", "mean": "mean", "median": "median", "zero": "zero"}


def close(effect, se, ref, ref_se, atol_effect=1e-6, atol_se=5e-7):
    """Stata's published estimates are 1.5e-6 from the MLE (its convergence), its SEs
    printed to 7 significant digits: effects to 1e-6, SEs to a unit of the 7th digit."""
    np.testing.assert_allclose(effect, ref, rtol=0, atol=atol_effect)
    np.testing.assert_allclose(se, ref_se, rtol=1e-6, atol=atol_se)


@pytest.fixture(scope="module")
def spector_fit(spector):
    return lk.LogisticRegression(tol=1e-10).fit(spector[SPECTOR], spector["GRADE"])


@pytest.mark.parametrize("at", list(AT_SUFFIX))
@pytest.mark.parametrize("method", ["dydx", "eyex", "dyex", "eydx"])
def test_spector_derivatives_match_stata(spector_fit, at, method):
    """results_discrete.py Spector.logit margeff_nodummy_* (Stata margins, dydx(*) etc.)."""
    ref = results.Spector.logit
    key = f"margeff_nodummy_{method}{AT_SUFFIX[at]}"
    table = spector_fit.marginal_effects(at=at, method=method, discrete=False).to_frame()
    assert list(table.index) == SPECTOR
    assert (table["kind"] == "derivative").all()
    close(table["effect"], table["std_err"], getattr(ref, key), getattr(ref, key + "_se"))


@pytest.mark.parametrize("at, method, key", [
    ("overall", "dydx", "margeff_dummy_dydx"),
    ("mean", "dydx", "margeff_dummy_dydxmean"),
    ("overall", "eydx", "margeff_dummy_eydx"),
    ("mean", "eydx", "margeff_dummy_eydxmean"),
])
def test_spector_discrete_change_matches_stata_factor_variable(spector_fit, at, method, key):
    """Stata's i.psi (results_discrete.py margeff_dummy_*): PSI's effect is P(PSI=1) -
    P(PSI=0) (ey/dx: the change in log P)."""
    ref = results.Spector.logit
    table = spector_fit.marginal_effects(at=at, method=method).to_frame()
    assert list(table["kind"]) == ["derivative", "derivative", "discrete change"]
    close(table["effect"], table["std_err"], getattr(ref, key), getattr(ref, key + "_se"))


@pytest.mark.parametrize("discrete, name", [(False, "nodummy"), (True, "dummy")])
def test_spector_at_given_values_match_stata(spector_fit, discrete, name):
    """margins, at(gpa=2 psi=1) (averaged over TUCE as observed) and at GPA's mean with
    tuce=21 psi=0 (results_discrete.py margeff_*_atexog1/2)."""
    ref = results.Spector.logit
    one = spector_fit.marginal_effects(at={"GPA": 2.0, "PSI": 1}, discrete=discrete)
    close(one.table["effect"], one.table["std_err"], getattr(ref, f"margeff_{name}_atexog1"),
          getattr(ref, f"margeff_{name}_atexog1_se"))
    two = spector_fit.marginal_effects(at={"GPA": "mean", "TUCE": 21, "PSI": 0},
                                       discrete=discrete)
    close(two.table["effect"], two.table["std_err"], getattr(ref, f"margeff_{name}_atexog2"),
          getattr(ref, f"margeff_{name}_atexog2_se"))


@pytest.fixture(scope="module")
def anes_fit(anes96):
    return lk.LogisticRegression(tol=1e-10).fit(anes96[ANES], anes96["PID"])


def _by_term(me, n_terms):
    """(terms, classes) arrays, the layout of results_discrete.py's anes96 margins."""
    shape = (len(me.table) // n_terms, n_terms)
    return (me.table["effect"].to_numpy().reshape(shape).T,
            me.table["std_err"].to_numpy().reshape(shape).T)


@pytest.mark.parametrize("at", ["overall", "mean"])
def test_anes96_mlogit_margins_match_stata(anes_fit, at):
    """Stata 11 mlogit + margins, dydx(*) predict(outcome(#)), every outcome
    (results_discrete.py Anes.mnlogit_basezero margeff_dydx_overall / _mean)."""
    ref = results.Anes.mnlogit_basezero
    me = anes_fit.marginal_effects(at=at)
    assert me.table.index.names == ["PID", "term"]
    effect, se = _by_term(me, 5)
    key = f"margeff_dydx_{at}"
    close(effect, se, getattr(ref, key), getattr(ref, key + "_se"))
    # probabilities sum to 1: the effects on all classes sum to 0
    np.testing.assert_allclose(effect.sum(axis=1), 0, atol=1e-12)


@pytest.mark.parametrize("method, atol", [("dydx", 1e-6), ("eydx", 1e-5)])
def test_anes96_mlogit_discrete_change_matches_stata(anes96, method, atol):
    """anes96 with the 0/1 column vote as a factor (margeff_{dydx,eydx}_dummy_overall;
    statsmodels checks the eydx estimates to 1e-5 and their SEs to 1.5e-6
    (test_discrete.py, test_margeff_dummy): Stata's numerical derivatives of log P)."""
    ref = results.Anes.mnlogit_basezero
    fit = lk.LogisticRegression(tol=1e-10).fit(anes96[ANES + ["vote"]], anes96["PID"])
    effect, se = _by_term(fit.marginal_effects(method=method), 6)
    key = f"margeff_{method}_dummy_overall"
    close(effect, se, getattr(ref, key), getattr(ref, key + "_se"), atol_effect=atol,
          atol_se=atol / 10 if method == "dydx" else 1.5e-6)


def _ucla_probabilities(beta, cuts, X):
    """(n, K) ordered-logit probabilities, written out for this test."""
    cdf = sc.expit(np.concatenate([[-np.inf], cuts, [np.inf]])[None, :] - (X @ beta)[:, None])
    return np.diff(cdf, axis=1)


def _ucla_effects(theta, X, discrete):
    """(K, 3) average effects of pared, public, gpa: the derivative by central
    differences in x, or the change from 0 to 1 of pared and public."""
    beta, cuts = theta[:3], theta[3:]
    out = []
    for j in range(3):
        if discrete and j < 2:
            hi, lo, step = X.copy(), X.copy(), 0.5
            hi[:, j], lo[:, j] = 1.0, 0.0
        else:
            hi, lo, step = X.copy(), X.copy(), 1e-5
            hi[:, j] += step
            lo[:, j] -= step
        change = _ucla_probabilities(beta, cuts, hi) - _ucla_probabilities(beta, cuts, lo)
        out.append(change.mean(axis=0) / (2 * step))
    return np.array(out).T


@pytest.mark.parametrize("discrete", [False, True])
def test_ucla_ordinal_effects_match_finite_differences(ucla, discrete):
    """Ordinal effects per class equal the finite-difference derivative (or discrete
    change) of the averaged probabilities, and their SEs the delta method with that
    function's Jacobian (central differences) and the fit's covariance."""
    X = ucla[["pared", "public", "gpa"]].to_numpy(float)
    fit = lk.OrdinalLogisticRegression(tol=1e-10).fit(ucla[["pared", "public", "gpa"]],
                                                      ucla["apply"])
    me = fit.marginal_effects(discrete=discrete)
    theta = np.concatenate([fit.coef_, fit.thresholds_])
    expected = _ucla_effects(theta, X, discrete)
    np.testing.assert_allclose(me.table["effect"].to_numpy().reshape(3, 3), expected,
                               rtol=1e-8, atol=1e-10)
    J = np.empty((9, len(theta)))
    for i in range(len(theta)):
        h = 1e-5 * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        J[:, i] = (_ucla_effects(up, X, discrete) - _ucla_effects(down, X, discrete)).ravel() / (
            2 * h)
    se = np.sqrt(np.diag(J @ fit.covariance().to_numpy() @ J.T))
    np.testing.assert_allclose(me.table["std_err"], se, rtol=1e-6)
    assert list(me.table.index.get_level_values(0).unique()) == list(fit.classes_)


@pytest.mark.parametrize("at", ["overall", "mean"])
def test_cluster_robust_effects_match_statsmodels(spector, at):
    """cov_type="cluster" is statsmodels' cluster covariance, so the SEs equal those of
    statsmodels' get_margeff on a cluster-robust Logit fit."""
    groups = np.arange(len(spector)) % 8
    fit = lk.LogisticRegression(tol=1e-10).fit(spector[SPECTOR], spector["GRADE"],
                                               clusters=groups)
    exog = sm.add_constant(spector[SPECTOR], prepend=False)
    res = sm.Logit(spector["GRADE"], exog).fit(disp=0, cov_type="cluster",
                                               cov_kwds={"groups": groups})
    theirs = res.get_margeff(at=at, dummy=True)
    ours = fit.marginal_effects(at=at, cov_type="cluster").to_frame()
    np.testing.assert_allclose(ours["effect"], theirs.margeff, rtol=1e-7)
    np.testing.assert_allclose(ours["std_err"], theirs.margeff_se, rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: lk.LogisticRegression(tol=1e-10),
    lambda: lk.OrdinalLogisticRegression(tol=1e-10),
])
@pytest.mark.parametrize("at", ["overall", "mean", "median", {"gpa": 3.0}])
def test_weights_equal_repetition(ucla, make, at):
    X, y = ucla[["pared", "public", "gpa"]], ucla["apply"]
    if isinstance(make(), lk.LogisticRegression):
        y = (y == "unlikely").astype(int)
    counts = np.arange(len(X)) % 3 + 1
    weighted = make().fit(X, y, sample_weight=counts)
    repeated = make().fit(X.loc[X.index.repeat(counts)], y.loc[y.index.repeat(counts)])
    for method in ("dydx", "eyex"):
        a = weighted.marginal_effects(at=at, method=method).to_frame()
        b = repeated.marginal_effects(at=at, method=method).to_frame()
        np.testing.assert_allclose(a["effect"], b["effect"], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=1e-6)


def test_factor_columns_get_changes_from_the_reference_level(ucla):
    """A categorical column's levels: P(level) - P(reference) with the other columns as
    observed (Stata's i.rank), checked against predict_proba; at= takes a level."""
    frame = ucla.assign(band=pd.cut(ucla["gpa"], [0, 2.8, 3.2, 5],
                                    labels=["low", "mid", "high"]).astype(str))
    X, y = frame[["pared", "band"]], (frame["apply"] != "unlikely").astype(int)
    fit = lk.LogisticRegression().fit(X, y)
    table = fit.marginal_effects().to_frame()
    assert list(table.index) == ["pared", "band[low]", "band[mid]"]
    assert (table["kind"] == "discrete change").all()
    base = fit.predict_proba(X.assign(band="high"))[:, 1].mean()
    for level in ("low", "mid"):
        changed = fit.predict_proba(X.assign(band=level))[:, 1].mean()
        assert table.loc[f"band[{level}]", "effect"] == pytest.approx(changed - base, rel=1e-12)
    at_mid = fit.marginal_effects(at={"band": "mid"}).to_frame()
    pared = (fit.predict_proba(X.assign(band="mid", pared=1))[:, 1]
             - fit.predict_proba(X.assign(band="mid", pared=0))[:, 1]).mean()
    assert at_mid.loc["pared", "effect"] == pytest.approx(pared, rel=1e-12)


def test_formula_style_one_hot_names_are_factor_groups(ucla):
    """Columns named like formulaic's C(x)[T.level] form one factor when one-hot."""
    rank = np.arange(len(ucla)) % 3
    X = pd.DataFrame({"gpa": ucla["gpa"], "C(rank)[T.1]": (rank == 1) * 1.0,
                      "C(rank)[T.2]": (rank == 2) * 1.0})
    y = (ucla["apply"] != "unlikely").astype(int)
    fit = lk.LogisticRegression().fit(X, y)
    table = fit.marginal_effects().to_frame()
    base = fit.predict_proba(X.assign(**{"C(rank)[T.1]": 0.0, "C(rank)[T.2]": 0.0}))[:, 1]
    level2 = fit.predict_proba(X.assign(**{"C(rank)[T.1]": 0.0, "C(rank)[T.2]": 1.0}))[:, 1]
    assert table.loc["C(rank)[T.2]", "effect"] == pytest.approx((level2 - base).mean(),
                                                                rel=1e-12)


def test_row_blocks_give_the_same_answer(anes_fit, monkeypatch):
    """Effects and SEs do not depend on the row-block size (no (n, p) array), up to the
    rounding of the central differences (~1e-9 relative)."""
    whole = anes_fit.marginal_effects(method="eyex").to_frame()
    monkeypatch.setattr(margins, "_BLOCK_VALUES", 1)  # 64-row blocks
    blocked = anes_fit.marginal_effects(method="eyex").to_frame()
    np.testing.assert_allclose(blocked["effect"], whole["effect"], rtol=1e-12)
    np.testing.assert_allclose(blocked["std_err"], whole["std_err"], rtol=1e-8)


def test_summary_and_new_rows(spector_fit, spector):
    me = spector_fit.marginal_effects(at="mean", method="eydx")
    text = str(me.summary())
    assert "ey/dx" in text and "(discrete)" in text and "at the means" in text
    again = spector_fit.marginal_effects(at="mean", method="eydx", X=spector[SPECTOR])
    pd.testing.assert_frame_equal(again.to_frame(), me.to_frame())
    assert me.cov.shape == (3, 3)
    np.testing.assert_allclose(np.sqrt(np.diag(me.cov)), me.table["std_err"])


def test_penalised_fit_has_effects_without_standard_errors(spector):
    fit = lk.LogisticRegression(alpha=0.1).fit(spector[SPECTOR], spector["GRADE"])
    me = fit.marginal_effects()
    assert np.isfinite(me.table["effect"]).all() and me.table["std_err"].isna().all()
    assert "penalised" in str(me.summary())


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "dx"}, "method must be one of"),
    ({"at": "mode"}, "at must be one of"),
    ({"at": {"SAT": 1}}, "not a column of the model"),
    ({"at": {"GPA": "x"}}, "finite number"),
    ({"at": {}}, "fixes nothing"),
    ({"discrete": "yes"}, "discrete must be True"),
    ({"level": 95}, "level"),
    ({"sample_weight": np.ones(32)}, "go with X"),
])
def test_bad_arguments_are_named(spector_fit, kwargs, message):
    with pytest.raises(ValueError, match=message):
        spector_fit.marginal_effects(**kwargs)


def test_loaded_model_needs_rows(spector_fit, spector, tmp_path):
    spector_fit.save(tmp_path / "m.lkm")
    loaded = lk.load(tmp_path / "m.lkm")
    with pytest.raises(ValueError, match="holds no training rows"):
        loaded.marginal_effects()
    mine = loaded.marginal_effects(X=spector[SPECTOR]).to_frame()
    pd.testing.assert_frame_equal(mine, spector_fit.marginal_effects().to_frame())


def test_no_elasticity_in_a_discrete_column(spector_fit):
    me = spector_fit.marginal_effects(method="eyex")
    table = me.to_frame()
    assert table.loc["PSI", ["effect", "std_err"]].isna().all()
    assert np.isfinite(table.loc[["GPA", "TUCE"], ["effect", "std_err"]]).all().all()
    assert "not defined" in str(me.summary())


def test_aliased_columns_have_no_effect_reported():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    X["c"] = X["a"] + X["b"]
    y = (X["a"] + rng.logistic(size=100) > 0).astype(int)
    with pytest.warns(lk.AliasedColumnsWarning):
        fit = lk.LogisticRegression().fit(X, y)
    table = fit.marginal_effects().to_frame()
    assert table.loc["c", ["effect", "std_err"]].isna().all()
    assert np.isfinite(table.loc[["a", "b"], ["effect", "std_err"]]).all().all()


def test_sparse_and_tensor_inputs_give_the_same_effects():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:, 3] = rng.integers(0, 2, 300)
    y = (X @ [1.0, 0.5, 0.0, 1.0] + rng.logistic(size=300) > 0).astype(int)
    dense = lk.LogisticRegression().fit(X, y).marginal_effects().to_frame()
    scipy_sparse = pytest.importorskip("scipy.sparse")
    sparse = lk.LogisticRegression().fit(scipy_sparse.csr_array(X), y).marginal_effects()
    np.testing.assert_allclose(sparse.table[["effect", "std_err"]],
                               dense[["effect", "std_err"]], rtol=1e-9)
    torch = pytest.importorskip("torch")
    tensor = lk.LogisticRegression().fit(torch.tensor(X), torch.tensor(y)).marginal_effects()
    np.testing.assert_allclose(tensor.table[["effect", "std_err"]],
                               dense[["effect", "std_err"]], rtol=1e-9)
