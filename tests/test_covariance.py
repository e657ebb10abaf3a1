"""Covariance types: Stata's and R's conventions, HC2/HC3 hat values, weights as repeats."""

import numpy as np
import pytest
import scipy.special as sc
import statsmodels.api as sm

import logitkit as lk
from logitkit.inference import COV_TYPES, available_cov_types

SPECTOR = ["GPA", "TUCE", "PSI"]
ORDER = SPECTOR + ["Intercept"]  # Stata's order: slopes, then _cons


@pytest.fixture(scope="module")
def spector_fit(spector):
    groups = np.arange(len(spector)) % 8
    return lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"], clusters=groups)


def test_stata_robust_reproduces_stata_glm_vce_robust(spector_fit, expected):
    """Stata's `glm ..., family(binomial) vce(robust)` is HC0 times n/(n-1)."""
    ref = expected["spector_glm_robust"]["reference"]
    frame = spector_fit.summary(cov_type="stata-robust").to_frame().loc[ORDER]
    np.testing.assert_allclose(frame["coef"], ref["params"], rtol=1e-6)
    np.testing.assert_allclose(frame["std_err"], ref["bse"], rtol=1e-6)
    np.testing.assert_allclose(frame["z"], ref["z"], rtol=1e-6)
    np.testing.assert_allclose(frame["p_value"], ref["pvalues"], rtol=1e-5)
    np.testing.assert_allclose(frame[["ci_lower", "ci_upper"]], ref["conf_int_95"], rtol=1e-6)
    cov = spector_fit.covariance("stata-robust").loc[ORDER, ORDER]
    # Stata stopped ~1e-7 from the optimum: small entries agree to ~1e-8 absolute
    np.testing.assert_allclose(cov, ref["cov_params"], rtol=1e-6, atol=2e-8)
    # HC1 (R's sandwich) differs from Stata by (n-1)/(n-p) = 31/28
    np.testing.assert_allclose(spector_fit.covariance("HC1"), cov.loc[
        spector_fit.covariance().index, spector_fit.covariance().index] * 31 / 28, rtol=1e-12)


@pytest.mark.parametrize("model", ["Logit", "GLM"])
def test_hc0_and_cluster_match_statsmodels(spector, spector_fit, model):
    X = sm.add_constant(spector[SPECTOR])
    groups = np.arange(len(spector)) % 8

    def bse(cov_type, **kwds):
        if model == "GLM":
            fit = sm.GLM(spector["GRADE"], X, family=sm.families.Binomial()).fit(
                cov_type=cov_type, **kwds)
        else:
            fit = sm.Logit(spector["GRADE"], X).fit(disp=0, cov_type=cov_type, **kwds)
        return fit.bse[["const"] + SPECTOR].to_numpy()

    ours = {t: spector_fit.summary(cov_type=t).to_frame()["std_err"].to_numpy()
            for t in ("HC0", "cluster", "stata-cluster")}
    np.testing.assert_allclose(ours["HC0"], bse("HC0"), rtol=1e-6)
    np.testing.assert_allclose(ours["cluster"], bse("cluster", cov_kwds={"groups": groups}),
                               rtol=1e-6)
    # Stata's vce(cluster): G/(G-1) alone, i.e. statsmodels' cluster without (n-1)/(n-p)
    np.testing.assert_allclose(ours["stata-cluster"], ours["cluster"] * np.sqrt(28 / 31),
                               rtol=1e-12)


def _dense_sandwich(X, y, coef, kind):
    """R sandwich::vcovHC(glm(y ~ X, binomial), type=kind), written out densely:
    bread (X'WX)^-1, hat values diag(W^1/2 X bread X' W^1/2), scores (y - mu) x_i."""
    Z = np.column_stack([X, np.ones(len(X))])  # logitkit's layout: slopes, then intercept
    mu = sc.expit(Z @ coef)
    root_w = np.sqrt(mu * (1 - mu))
    bread = np.linalg.inv(Z.T @ (Z * (mu * (1 - mu))[:, None]))
    hat = np.diag((Z * root_w[:, None]) @ bread @ (Z * root_w[:, None]).T)
    scores = (y - mu)[:, None] * Z
    omega = {"HC0": np.ones(len(y)), "HC2": 1 / (1 - hat), "HC3": 1 / (1 - hat) ** 2}[kind]
    return bread @ (scores * omega[:, None]).T @ scores @ bread, hat


@pytest.mark.parametrize("kind", ["HC2", "HC3"])
def test_hc2_hc3_equal_a_dense_implementation_of_sandwich(kind):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3)) * [1.0, 2.0, 0.5]
    X[:3] *= 4  # a few high-leverage rows
    y = (X @ [0.8, -0.4, 1.0] + rng.logistic(size=40) > 0).astype(float)
    m = lk.LogisticRegression(tol=1e-13).fit(X, y)  # at the optimum, as statsmodels' below
    coef = np.r_[m.coef_[0], m.intercept_]
    expected, hat = _dense_sandwich(X, y, coef, kind)
    # the dense hat values are statsmodels' GLM hat values (an independent check of them)
    glm = sm.GLM(y, sm.add_constant(X, prepend=False), family=sm.families.Binomial()).fit(
        tol=1e-14)
    np.testing.assert_allclose(hat, glm.get_hat_matrix_diag(), rtol=1e-8)
    assert hat.max() > 0.3  # the test sees leverage, not only HC0
    names = ["x0", "x1", "x2", "Intercept"]
    np.testing.assert_allclose(m.covariance(kind).loc[names, names], expected, rtol=1e-9)
    ordered = {"HC0": 0, "HC2": 1, "HC3": 2}
    se = {t: np.sqrt(np.diag(m.covariance(t))) for t in ordered}
    assert (se["HC0"] < se["HC2"]).all() and (se["HC2"] < se["HC3"]).all()


def _kind_data(kind, rng, n=120):
    X = rng.normal(size=(n, 2))
    n_classes = 2 if kind == "binary" else 3
    cuts = [0.0] if n_classes == 2 else [-0.7, 0.7]
    y = np.digitize(X @ [1.0, -1.0] + rng.logistic(size=n), cuts)
    make = lk.OrdinalLogisticRegression if kind == "ordinal" else lk.LogisticRegression
    return X, y, make


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_weighted_fits_equal_repeated_rows_for_every_cov_type(kind):
    rng = np.random.default_rng(0)
    X, y, make = _kind_data(kind, rng)
    w = rng.integers(0, 4, size=len(y))
    w[:5] = [3, 2, 0, 1, 2]
    clusters = rng.integers(0, 12, size=len(y))
    clusters[2] = 99  # a cluster of weight 0 only: absent from the repeated rows
    weighted = make().fit(X, y, sample_weight=w, clusters=clusters)
    repeated = make().fit(np.repeat(X, w, axis=0), np.repeat(y, w),
                          clusters=np.repeat(clusters, w))
    available = available_cov_types(weighted.inference_)
    expected = COV_TYPES if kind == "binary" else tuple(
        t for t in COV_TYPES if t not in ("HC2", "HC3"))
    assert available == expected == available_cov_types(repeated.inference_)
    assert weighted.inference_.n_clusters == repeated.inference_.n_clusters == 12
    for cov_type in available:
        np.testing.assert_allclose(weighted.covariance(cov_type), repeated.covariance(cov_type),
                                   rtol=1e-7, err_msg=cov_type)


@pytest.mark.parametrize("kind", ["multinomial", "ordinal"])
def test_hc2_hc3_are_refused_where_there_are_no_glm_hat_values(kind):
    X, y, make = _kind_data(kind, np.random.default_rng(1))
    m = make().fit(X, y)
    for cov_type in ("HC2", "HC3"):
        with pytest.raises(ValueError, match=f'"{cov_type}" needs GLM hat values.*binary fits'
                                             r'.*available for this fit: "nonrobust", "HC0", '
                                             r'"HC1", "stata-robust"$'):
            m.summary(cov_type=cov_type)
    with pytest.raises(ValueError, match='"stata-cluster" needs the cluster labels'):
        m.covariance("stata-cluster")
    with pytest.raises(ValueError, match="cov_type must be one of"):
        m.covariance("HC4")


def test_summary_names_the_type_and_states_its_formula(spector_fit):
    for cov_type in COV_TYPES:
        summary = spector_fit.summary(cov_type=cov_type)
        label = summary.header_values()["cov_type"]
        assert label == cov_type + (" (8 clusters)" if "cluster" in cov_type else "")
        if cov_type == "nonrobust":
            assert summary.notes == ()
            continue
        assert summary.notes[-1].startswith(f"Covariance {cov_type} = ")
    assert "G/(G-1) B [sum_g S_g S_g'] B (Stata's vce(cluster); R vcovCL's default)" in str(
        spector_fit.summary(cov_type="stata-cluster")).replace("\n", " ")
    assert "s_i'/(1-h_i)^2" in spector_fit.summary(cov_type="HC3").notes[-1]


def test_degenerate_corrections_are_refused(spector):
    one = lk.LogisticRegression().fit(spector[SPECTOR], spector["GRADE"],
                                      clusters=np.zeros(len(spector)))
    with pytest.raises(ValueError, match="needs at least 2 clusters, got 1"):
        one.covariance("stata-cluster")

