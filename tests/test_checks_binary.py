"""Residuals, influence measures and the Hosmer-Lemeshow test of binary fits
(logitkit.checks), against Stata, SAS, R's definitions and statsmodels."""

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import logitkit as lk
from logitkit import row_fits
from logitkit.hosmer_lemeshow import stata_groups

SPECTOR = ["GPA", "TUCE", "PSI"]
REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def spector_fit(spector):
    X, y = spector[SPECTOR], spector["GRADE"]
    return lk.LogisticRegression().fit(X, y), X, y


def _weights(n):
    return np.arange(n) % 3 + 1.0


def _glm(X, y, w=None):
    """statsmodels' GLM (Binomial), w as R's prior weights (var_weights), fitted tight."""
    kw = {} if w is None else {"var_weights": w}
    return sm.GLM(np.asarray(y, float), sm.add_constant(np.asarray(X, float)),
                  family=sm.families.Binomial(), **kw).fit(tol=1e-14)


# -- Hosmer-Lemeshow -----------------------------------------------------------------

def test_hosmer_lemeshow_is_statas_estat_gof_on_spector(spector_fit):
    # Stata 14 `estat gof, group(5) table` after `logit grade gpa tuce psi`, as statsmodels
    # stores it: statsmodels/discrete/tests/test_discrete.py, TestLogitNewton.test_diagnostic
    # (chi2 = 1.630883318257913, df 3, p 0.6524, group sizes 7 6 7 6 6)
    m, _, _ = spector_fit
    test = m.hosmer_lemeshow(groups=5)
    assert test.statistic == pytest.approx(1.630883318257913, rel=1e-11)
    assert test.df == 3 and test.groups == 5
    assert test.p_value == pytest.approx(0.6524, abs=6e-5)
    assert test.table["total"].tolist() == [7, 6, 7, 6, 6]
    assert test.table["obs_1"].sum() == 11
    np.testing.assert_allclose(test.table["exp_1"].sum(), 11, rtol=1e-12)
    assert "chi2(3)" in repr(test)


def test_stata_groups_keep_ties_together_and_drop_empty_groups():
    # sorted p with cumulative counts 3, 5, 6, 10 of 10 rows, 5 groups (boundaries at
    # 2, 4, 6, 8, 10): the tie of 0.1 closes group 1, 0.2 group 2, 0.3 meets 6 exactly
    # and closes group 3, the tie of 0.4 spans 8 and 10 and closes group 5: group 4 is empty
    p = np.array([0.4, 0.1, 0.2, 0.4, 0.1, 0.3, 0.4, 0.2, 0.1, 0.4])
    labels = stata_groups(p, np.ones(10), 5)
    assert labels.tolist() == [5, 1, 2, 5, 1, 3, 5, 2, 1, 5]
    # frequency weights are counts: the same rows aggregated give the same groups
    units = np.array([0.1, 0.2, 0.3, 0.4])
    assert stata_groups(units, np.array([3.0, 2, 1, 4]), 5).tolist() == [1, 2, 3, 5]


def test_hosmer_lemeshow_with_ties_counts_only_groups_present():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(200, 1)).astype(float)  # 3 covariate patterns
    y = (rng.random(200) < 0.3 + 0.2 * X[:, 0]).astype(int)
    m = lk.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="only 2 group"):
        m.hosmer_lemeshow(groups=3, X=X[X[:, 0] > 0], y=y[X[:, 0] > 0])
    X4 = np.column_stack([X, rng.integers(0, 2, size=200)])
    m4 = lk.LogisticRegression().fit(X4, y)
    test = m4.hosmer_lemeshow(groups=10)  # 6 patterns: at most 6 groups
    assert test.groups <= 6 and test.df == test.groups - 2
    assert test.table["total"].sum() == 200


def test_hosmer_lemeshow_weights_are_frequencies(spector_fit, spector):
    X, y = spector[SPECTOR].to_numpy(), spector["GRADE"].to_numpy()
    w = _weights(len(y))
    weighted = lk.LogisticRegression().fit(X, y, sample_weight=w).hosmer_lemeshow()
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    repeated = lk.LogisticRegression().fit(X[rows], y[rows]).hosmer_lemeshow()
    assert weighted.statistic == pytest.approx(repeated.statistic, rel=1e-9)
    assert weighted.df == repeated.df
    pd.testing.assert_frame_equal(weighted.table, repeated.table, rtol=1e-9)


def test_hosmer_lemeshow_rejects_bad_groups(spector_fit):
    m, X, y = spector_fit
    for bad in (2, 4.5, "10"):
        with pytest.raises(ValueError, match="groups must be an integer >= 3"):
            m.hosmer_lemeshow(groups=bad)
    with pytest.raises(ValueError, match="more than the 32 rows"):
        m.hosmer_lemeshow(groups=40)


# -- residuals ---------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_residuals_are_rs_residuals_glm(spector, weighted):
    # R's residuals.glm, as statsmodels' GLM gives them (prior weights = var_weights)
    X, y = spector[SPECTOR], spector["GRADE"]
    w = _weights(len(y)) if weighted else None
    m = lk.LogisticRegression(tol=1e-10).fit(X, y, sample_weight=w)
    ref = _glm(X, y, w)
    expected = {"pearson": ref.resid_pearson, "deviance": ref.resid_deviance,
                "response": ref.resid_response, "working": ref.resid_working}
    for kind, values in expected.items():
        got = m.residuals(kind)
        assert isinstance(got, pd.Series) and got.name == kind
        np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-12, err_msg=kind)
    assert (m.residuals() == m.residuals("deviance")).all()  # R's default


def test_residuals_of_rows_given_keep_their_index(spector_fit):
    m, X, y = spector_fit
    part = X.iloc[5:15].set_axis([f"r{i}" for i in range(10)])
    got = m.residuals("pearson", X=part, y=y.iloc[5:15])
    assert list(got.index) == list(part.index)
    np.testing.assert_allclose(got, m.residuals("pearson").iloc[5:15], rtol=1e-12)


def test_the_offset_enters_the_linear_predictor(spector_fit):
    m, X, y = spector_fit
    shifted = copy.deepcopy(m)  # a copy holds no rows (as a pickle)
    shifted.intercept_ = m.intercept_ + 0.7
    offset = np.full(len(y), 0.7)
    for kind in ("pearson", "working"):
        np.testing.assert_allclose(m.residuals(kind, X=X, y=y, offset=offset),
                                   shifted.residuals(kind, X=X, y=y), rtol=1e-12)
    # the fit's own offset (FitRows.offset) is used by default
    with_offset = copy.deepcopy(m)
    with_offset._fit_rows = dataclasses.replace(m.fitted_rows(), offset=offset)
    np.testing.assert_allclose(with_offset.residuals(), shifted.residuals(X=X, y=y),
                               rtol=1e-12)
    np.testing.assert_allclose(with_offset.influence(), shifted.influence(X=X, y=y),
                               rtol=1e-10)
    with pytest.raises(ValueError, match=r"offset has shape \(3,\); X has 32 rows"):
        m.residuals(X=X, y=y, offset=np.zeros(3))
    # a fit with a constant offset: the same fitted values, the intercept moved
    fitted = lk.LogisticRegression().fit(X, y, offset=offset)
    np.testing.assert_allclose(fitted.intercept_, m.intercept_ - 0.7, atol=1e-8)
    np.testing.assert_allclose(fitted.residuals(), m.residuals(), atol=1e-8)
    np.testing.assert_allclose(fitted.influence(), m.influence(), atol=1e-7)
    with pytest.raises(ValueError, match="fitted with an offset"):
        fitted.residuals(X=X, y=y)


def test_residuals_reject_an_unknown_kind(spector_fit):
    with pytest.raises(ValueError, match="kind must be one of"):
        spector_fit[0].residuals("studentized")


# -- influence -----------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_influence_is_statsmodels_glm_influence(spector, weighted):
    X, y = spector[SPECTOR], spector["GRADE"]
    w = _weights(len(y)) if weighted else None
    m = lk.LogisticRegression(tol=1e-10).fit(X, y, sample_weight=w)
    ref = _glm(X, y, w).get_influence()
    got = m.influence(dfbetas="one-step")
    assert list(got.columns) == ["hat", "cooks_distance", "pearson", "deviance",
                                 "dfb_Intercept", "dfb_GPA", "dfb_TUCE", "dfb_PSI"]
    np.testing.assert_allclose(got["hat"], ref.hat_matrix_diag, rtol=1e-9)
    np.testing.assert_allclose(got["cooks_distance"], ref.cooks_distance[0], rtol=1e-8)
    np.testing.assert_allclose(got.iloc[:, 4:], ref.dfbetas, rtol=1e-7, atol=1e-9)
    # the hat values sum to the number of parameters
    assert got["hat"].sum() == pytest.approx(4, rel=1e-12)


def test_influence_matches_sas_on_finneys_vasoconstriction_data():
    # SAS PROC LOGISTIC, INFLUENCE option (Pregibon 1981's example), as statsmodels stores
    # it: statsmodels/stats/tests/results/{binary_constrict,results_influence_logit}.csv
    # (copied to tests/reference/finney_*.csv), printed to 4 digits
    data = pd.read_csv(REFERENCE / "finney_constrict.csv", index_col=0)
    sas = pd.read_csv(REFERENCE / "finney_sas_influence.csv", index_col=0)
    m = lk.LogisticRegression().fit(data[["log_rate", "log_volumne"]], data["constrict"])
    got = m.influence(dfbetas="one-step")
    np.testing.assert_allclose(got["hat"], sas["hat_matrix_diagonal"], atol=6e-5)
    np.testing.assert_allclose(got["pearson"], sas["resid_pearson"], atol=6e-5)
    np.testing.assert_allclose(got["deviance"], sas["resid_deviance"], atol=6e-5)
    np.testing.assert_allclose(got.iloc[:, 4:], sas[["dfb_intercept", "dfb_lograte",
                                                     "dfb_logvolumne"]], atol=1e-4)
    # SAS's C is Cook's distance times the number of parameters
    np.testing.assert_allclose(got["cooks_distance"] * 3, sas["Cooks C"], atol=6e-5)


def _r_dfbetas(X, y, w, beta):
    """R's dfbetas(glm) for a binary logit fit, as lm.influence computes it (R's
    src/library/stats/R/lm.influence.R and lminfl.f): the QR of sqrt(W) X, deviance
    residuals e, coefficients = Q R^-T e / (1 - h), sigma_i^2 = (sum e^2 - e_i^2 /
    (1 - h_i)) / (n - p - 1), divided by outer(sigma, sqrt(diag((R'R)^-1)))."""
    keep = w > 0
    X1 = np.column_stack([np.ones(len(y)), X])[keep]
    y, w = y[keep], w[keep]
    mu = 1 / (1 + np.exp(-X1 @ beta))
    W = w * mu * (1 - mu)
    Q, R = np.linalg.qr(np.sqrt(W)[:, None] * X1)
    h = np.sum(Q * Q, axis=1)
    e = np.sign(y - mu) * np.sqrt(-2 * w * np.log(np.where(y == 1, mu, 1 - mu)))
    coefficients = (Q @ np.linalg.inv(R).T) * (e / (1 - h))[:, None]
    n, p = X1.shape
    sigma = np.sqrt((np.sum(e**2) - e**2 / (1 - h)) / (n - p - 1))
    xxi = np.linalg.inv(R.T @ R)
    return coefficients / np.outer(sigma, np.sqrt(np.diag(xxi))), keep


@pytest.mark.parametrize("weighted", [False, True])
def test_influence_dfbetas_are_rs(spector, weighted):
    X, y = spector[SPECTOR].to_numpy(), spector["GRADE"].to_numpy()
    w = _weights(len(y))
    if weighted:
        w[4] = 0.0  # R leaves rows of weight 0 out: no influence
    else:
        w[:] = 1.0
    m = lk.LogisticRegression(tol=1e-10).fit(X, y, sample_weight=w)
    beta = np.r_[m.intercept_, m.coef_[0]]
    expected, keep = _r_dfbetas(X, y, w, beta)
    got = m.influence()  # dfbetas="R", the default
    assert list(got.columns[4:]) == ["dfb_Intercept", "dfb_x0", "dfb_x1", "dfb_x2"]
    np.testing.assert_allclose(got.iloc[:, 4:].to_numpy()[keep], expected, rtol=1e-9,
                               atol=1e-12)
    if weighted:
        assert (got.iloc[4] == 0).all()


def test_influence_over_many_row_blocks_equals_one_block(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1500, 4))
    y = (X @ [0.8, -0.4, 0.3, 0.0] + rng.logistic(size=1500) > 0).astype(int)
    w = rng.integers(1, 4, size=1500).astype(float)
    m = lk.LogisticRegression().fit(X, y, sample_weight=w)
    whole = m.influence(), m.residuals("pearson"), m.hosmer_lemeshow()
    monkeypatch.setattr(row_fits, "_BLOCK_BYTES", 256 * 8 * 4)  # 256 rows a block
    assert len(list(row_fits.host_rows(m.fitted_rows()).blocks())) == 6
    blocks = m.influence(), m.residuals("pearson"), m.hosmer_lemeshow()
    pd.testing.assert_frame_equal(whole[0], blocks[0], rtol=1e-12)
    pd.testing.assert_series_equal(whole[1], blocks[1], rtol=1e-12)
    assert whole[2].statistic == pytest.approx(blocks[2].statistic, rel=1e-12)


def test_influence_leaves_out_aliased_columns(spector):
    X = spector[SPECTOR].assign(GPA2=2 * spector["GPA"])
    with pytest.warns(lk.exceptions.AliasedColumnsWarning):
        m = lk.LogisticRegression().fit(X, spector["GRADE"])
    plain = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"])
    got = m.influence()
    assert "dfb_GPA2" not in got.columns
    pd.testing.assert_frame_equal(got, plain.influence(), rtol=1e-8)


def test_influence_refuses_what_it_does_not_define(spector_fit, spector, anes96, ucla):
    m, X, y = spector_fit
    with pytest.raises(ValueError, match="dfbetas must be one of"):
        m.influence(dfbetas="sas")
    ridge = lk.LogisticRegression(alpha=0.1).fit(X, y)
    with pytest.raises(ValueError, match="refit with alpha=0"):
        ridge.influence()
    multi = lk.LogisticRegression().fit(anes96[["logpopul", "selfLR"]], anes96["PID"])
    with pytest.raises(ValueError, match="defined for binary fits"):
        multi.influence()
    ordinal = lk.OrdinalLogisticRegression().fit(ucla[["pared", "gpa"]], ucla["apply"])
    with pytest.raises(ValueError, match="defined for binary fits"):
        ordinal.influence()
    one_column = lk.LogisticRegression().fit(X[["GPA"]], y)
    constant = X[["GPA"]].assign(GPA=1.0)
    with pytest.raises(ValueError, match="is singular"):
        one_column.influence(X=constant, y=y)


def test_every_kind_of_design_gives_the_same_checks():
    """A DataFrame with a categorical column (CategoricalDesign), its one-hot array, a
    scipy.sparse matrix and a torch tensor: the same rows, the same measures."""
    import scipy.sparse as sparse

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400),
                          "g": pd.Categorical(rng.choice(list("xyz"), 400))})
    y = (frame["a"] + (frame["g"] == "y") + rng.logistic(size=400) > 0.5).astype(int)
    dense = pd.get_dummies(frame, columns=["g"], drop_first=True).to_numpy(float)
    reference = lk.LogisticRegression().fit(dense, y).influence()
    designs = [frame, sparse.csr_matrix(dense)]
    torch = pytest.importorskip("torch")
    designs.append(torch.tensor(dense))
    for X in designs:
        got = lk.LogisticRegression().fit(X, y).influence()
        np.testing.assert_allclose(got.to_numpy(), reference.to_numpy(), rtol=1e-9,
                                   atol=1e-12)
