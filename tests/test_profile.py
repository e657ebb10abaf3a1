"""Profile-likelihood intervals (``conf_int(method="profile")``, logitkit.profile) against
R's ``confint()`` (MASS profile method) on published examples, independent refits by
statsmodels at the bounds, and the exactness of the crossings."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize as so
import scipy.stats as st
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

import logitkit as lk
from logitkit.profile import minimize, refit

REFERENCE = Path(__file__).parent / "reference"
Q95 = st.chi2.ppf(0.95, 1)


def _cold_lr(model, a, c):
    """LR statistic of a' theta fixed at c, refitted from the estimate (not from the
    profile's own warm starts)."""
    objective = model.fitted_objective()
    free = model._free()
    optimum = minimize(objective, model.result_.params, free)
    fixed = refit(objective, optimum, a, c, free)
    assert fixed.converged
    return 2 * objective.total_weight * (fixed.value - optimum.value)


def _check_exact(model, frame, level=0.95, base_class=None):
    """At every finite bound the refit's LR statistic is the chi2(1) quantile to 1e-8."""
    reported = model._reported(base_class)
    q = st.chi2.ppf(level, 1)
    for a, (lower, upper) in zip(reported.matrix, frame.to_numpy(), strict=True):
        for bound in (lower, upper):
            if np.isfinite(bound):
                assert _cold_lr(model, a, bound) == pytest.approx(q, abs=1e-8)


# ------------------------------------------------------------ budworm (binary, weighted)
def _budworm():
    """MASS's confint example (Venables & Ripley's budworm data): 20 moths per dose and
    sex, glm(SF ~ sex + ldose - 1, binomial), as 24 weighted binary rows."""
    ldose = np.tile(np.arange(6.0), 2)
    dead = np.array([1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16.0])
    male = np.r_[np.ones(6), np.zeros(6)]
    X = pd.DataFrame({"sexF": 1 - male, "sexM": male, "ldose": ldose})
    X = pd.concat([X, X], ignore_index=True)
    y = np.r_[np.ones(12), np.zeros(12)]
    return X, y, np.r_[dead, 20 - dead]


@pytest.fixture(scope="module")
def budworm():
    X, y, w = _budworm()
    model = lk.LogisticRegression(fit_intercept=False).fit(X, y, sample_weight=w)
    return model, X, y, w


def test_budworm_matches_r_confint(budworm):
    # R: confint(budworm.lg0), MASS 7.3-58.4 tests/Examples/MASS-Ex.Rout.save lines
    # 1096-1101 (github.com/cran/MASS at f656b68); MASS reads the crossings off a spline
    model = budworm[0]
    frame = model.conf_int(method="profile")
    r = np.array([[-4.4581438, -2.613610], [-3.1728745, -1.655117], [0.8228708, 1.339058]])
    assert list(frame.index) == ["sexF", "sexM", "ldose"]
    assert list(frame.columns) == ["lower", "upper"]
    np.testing.assert_allclose(frame.to_numpy(), r, atol=1e-4)
    assert {k: frame.attrs[k] for k in ("method", "level", "notes")} == {
        "method": "profile", "level": 0.95, "notes": []}
    assert frame.attrs["refits"] >= 6 and frame.attrs["passes"] >= frame.attrs["refits"]
    _check_exact(model, frame)


def test_budworm_bounds_refitted_by_statsmodels(budworm):
    # statsmodels' GLM, the parameter fixed by an offset: 2 (llf - llf at the bound)
    model, X, y, w = budworm
    frame = model.conf_int(method="profile")
    full = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-13)
    for name in X.columns:
        rest = X.drop(columns=name)
        for bound in frame.loc[name]:
            fit = sm.GLM(y, rest, family=sm.families.Binomial(), freq_weights=w,
                         offset=bound * X[name]).fit(tol=1e-13)
            assert 2 * (full.llf - fit.llf) == pytest.approx(Q95, abs=1e-7)


def test_level_and_selected_params(budworm):
    model = budworm[0]
    frame = model.conf_int(method="profile", level=0.9, params=["ldose"])
    assert list(frame.index) == ["ldose"]
    _check_exact_row = model._reported().matrix[2]
    for bound in frame.loc["ldose"]:
        assert _cold_lr(model, _check_exact_row, bound) == pytest.approx(
            st.chi2.ppf(0.9, 1), abs=1e-8)
    wide = model.conf_int(method="profile").loc["ldose"]
    assert wide["lower"] < frame.loc["ldose", "lower"] < frame.loc["ldose", "upper"] \
        < wide["upper"]


def test_weights_equal_repeated_rows(budworm):
    model, X, y, w = budworm
    keep = w > 0
    repeated = lk.LogisticRegression(fit_intercept=False).fit(
        X[keep].loc[X[keep].index.repeat(w[keep].astype(int))],
        np.repeat(y[keep], w[keep].astype(int)))
    np.testing.assert_allclose(repeated.conf_int(method="profile").to_numpy(),
                               model.conf_int(method="profile").to_numpy(), rtol=1e-9)


# ------------------------------------------------------------ housing (ordinal, weighted)
@pytest.fixture(scope="module")
def housing():
    """MASS's housing data (72 cells, Freq their counts), as R's treatment contrasts."""
    frame = pd.read_csv(REFERENCE / "housing.csv")
    levels = {"Infl": ["Low", "Medium", "High"],
              "Type": ["Tower", "Apartment", "Atrium", "Terrace"], "Cont": ["Low", "High"]}
    X = pd.DataFrame({f"{col}{lvl}": (frame[col] == lvl).astype(float)
                      for col, lv in levels.items() for lvl in lv[1:]})
    y = pd.Categorical(frame["Sat"], categories=["Low", "Medium", "High"], ordered=True)
    return X, y, frame["Freq"].to_numpy(float)


def test_housing_matches_r_confint_polr(housing):
    # R: confint(profile(house.plr)), house.plr <- polr(Sat ~ Infl + Type + Cont,
    # weights = Freq, data = housing): MASS 7.3-65 tests/Examples/MASS-Ex.Rout.save lines
    # 4014-4021 (github.com/cran/MASS at b6a2274)
    X, y, w = housing
    model = lk.OrdinalLogisticRegression().fit(X, y, sample_weight=w)
    frame = model.conf_int(method="profile")
    r = np.array([[0.3616415, 0.77195375], [1.0409701, 1.53958138],
                  [-0.8069590, -0.33940432], [-0.6705862, -0.06204495],
                  [-1.3893863, -0.79533958], [0.1733589, 0.54792854]])
    np.testing.assert_allclose(frame.iloc[:6].to_numpy(), r, atol=1e-5)
    assert list(frame.index[6:]) == ["Low|Medium", "Medium|High"]
    _check_exact(model, frame)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_ordinal_links_exact(housing, link):
    X, y, w = housing
    model = lk.OrdinalLogisticRegression(link=link).fit(X, y, sample_weight=w)
    frame = model.conf_int(method="profile")
    estimates = model._reported().matrix @ model.result_.params
    assert np.all(frame["lower"] < estimates) and np.all(estimates < frame["upper"])
    _check_exact(model, frame)


def test_cut_point_bound_refitted_by_statsmodels(housing):
    # statsmodels' OrderedModel keeps increasing cut points as cut_1 and log increments:
    # with the reported cut point "Medium|High" fixed at c, its last parameter is
    # log(c - cut_1), a function of the free cut_1. Maximise its log-likelihood over the
    # slopes and cut_1 at each of our bounds: 2 (llf - that) is the chi2 quantile.
    X, y, w = housing
    model = lk.OrdinalLogisticRegression().fit(X, y, sample_weight=w)
    frame = model.conf_int(method="profile", params="Medium|High")
    counts = w.astype(int)
    om = OrderedModel(np.repeat(np.asarray(y.codes), counts),
                      np.repeat(X.to_numpy(), counts, axis=0), distr="logit")
    start = np.r_[model.coef_, model.thresholds_[0]]

    def negative(free, c):
        with np.errstate(invalid="ignore"):
            if free[-1] >= c:
                return np.inf
            return -om.loglike(np.r_[free, np.log(c - free[-1])])

    for bound in frame.loc["Medium|High"]:
        fit = so.minimize(negative, start, args=(bound,), method="BFGS",
                          options={"gtol": 1e-9})
        assert 2 * (model.log_likelihood_ + fit.fun) == pytest.approx(Q95, abs=1e-5)


def test_bounds_follow_the_units_of_a_column():
    # rows x and -x with the same labels: the slope's estimate is 0 and its SE 1e6 times
    # the first step; its bounds scale exactly with the column (not flagged as flat)
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=40), (rng.random(40) < 0.5).astype(int)
    X, y = np.r_[u, -u][:, None], np.r_[v, v]
    unit = lk.LogisticRegression().fit(X, y).conf_int(method="profile")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = lk.LogisticRegression().fit(X * 1e-6, y).conf_int(method="profile")
    np.testing.assert_allclose(tiny.loc["x0"], unit.loc["x0"] * 1e6, rtol=1e-8)
    np.testing.assert_allclose(tiny.loc["Intercept"], unit.loc["Intercept"], rtol=1e-8)


def test_float32_design_is_profiled_in_float64():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (rng.random(300) < 1 / (1 + np.exp(-X @ [1.0, -1.0, 0.5]))).astype(int)
    exact = lk.LogisticRegression().fit(X.astype(np.float64), y).conf_int(method="profile")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = lk.LogisticRegression().fit(X, y).conf_int(method="profile")
    np.testing.assert_allclose(single.to_numpy(), exact.to_numpy(), rtol=1e-9)


# ------------------------------------------------------------ separation, multinomial
def _separated():
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    group = (rng.random(60) < 0.2).astype(float)
    y = (rng.random(60) < 1 / (1 + np.exp(-x))).astype(int)
    y[group == 1] = 1  # every row of the group is a 1: its slope diverges to +inf
    return np.column_stack([group, x]), y


def test_separated_fit_infinite_on_the_right():
    X, y = _separated()
    with pytest.warns(lk.PerfectSeparationWarning):
        model = lk.LogisticRegression().fit(X, y)
    with pytest.warns(lk.UnboundedIntervalWarning, match=r"\['x0'\]"):
        frame = model.conf_int(method="profile")
    assert frame.loc["x0", "upper"] == np.inf
    assert np.isfinite(frame.loc["x0", "lower"]) and frame.loc["x0", "lower"] > 0
    assert np.isfinite(frame.drop(index="x0").to_numpy()).all()
    assert "infinite" in frame.attrs["notes"][0]
    _check_exact(model, frame)


def test_ordinal_separated_fit_infinite_on_the_right():
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    group = (rng.random(80) < 0.2).astype(float)
    y = np.digitize(x + rng.logistic(size=80), [-1, 1])
    y[group == 1] = 2  # every row of the group is in the top class
    with pytest.warns(lk.PerfectSeparationWarning):
        model = lk.OrdinalLogisticRegression().fit(np.column_stack([group, x]), y)
    with pytest.warns(lk.UnboundedIntervalWarning, match=r"\['x0'\]"):
        frame = model.conf_int(method="profile")
    assert frame.loc["x0", "upper"] == np.inf
    assert np.isfinite(frame.drop(index="x0").to_numpy()).all()
    _check_exact(model, frame)


def test_multinomial_exact_and_base_class():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = np.argmax(X @ rng.normal(size=(3, 3)) + rng.gumbel(size=(200, 3)), axis=1)
    model = lk.LogisticRegression().fit(X, y)
    frame = model.conf_int(method="profile")
    assert frame.index.equals(model.summary().table.index)
    _check_exact(model, frame)
    # the contrast of class 0 against base 1 is minus that of class 1 against base 0
    swapped = model.conf_int(method="profile", base_class=1)
    np.testing.assert_allclose(swapped.loc[0].to_numpy()[:, ::-1], -frame.loc[1].to_numpy(),
                               atol=1e-9)
    _check_exact(model, swapped, base_class=1)
    one = model.conf_int(method="profile", params=[(2, "x1")])
    np.testing.assert_allclose(one.to_numpy(), frame.loc[[(2, "x1")]].to_numpy(), rtol=1e-9)
    with pytest.raises(ValueError, match=r"\(class, term\) tuples"):
        model.conf_int(params=["x1"])


def test_aliased_column_is_nan():
    X, y, w = _budworm()
    twice = X.assign(again=X["ldose"])
    with pytest.warns(lk.AliasedColumnsWarning):
        model = lk.LogisticRegression(fit_intercept=False).fit(twice, y, sample_weight=w)
    frame = model.conf_int(method="profile")
    assert frame.loc["again"].isna().all()
    base = lk.LogisticRegression(fit_intercept=False).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(frame.drop(index="again").to_numpy(),
                               base.conf_int(method="profile").to_numpy(), rtol=1e-9)


# ------------------------------------------------------------ Wald, errors
def test_wald_matches_statsmodels(spector):
    X, y = spector[["GPA", "TUCE", "PSI"]], spector["GRADE"]
    model = lk.LogisticRegression().fit(X, y)
    frame = model.conf_int()
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0).conf_int(0.1)
    mine = model.conf_int(level=0.9).rename(index={"Intercept": "const"})
    np.testing.assert_allclose(mine.loc[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-6)
    table = model.summary().table
    np.testing.assert_array_equal(frame["lower"], table["ci_lower"])
    robust = model.conf_int(cov_type="HC0")
    assert not np.allclose(robust.to_numpy(), frame.to_numpy())


def test_bad_input_and_rows(budworm):
    model, X, y, w = budworm
    with pytest.raises(ValueError, match="method must be one of"):
        model.conf_int(method="spline")
    with pytest.raises(ValueError, match="level must be"):
        model.conf_int(level=95)
    with pytest.raises(ValueError, match="applies to method='wald'"):
        model.conf_int(method="profile", cov_type="HC0")
    with pytest.raises(ValueError, match="not parameters of this fit"):
        model.conf_int(params=["dose"])
    ridge = lk.LogisticRegression(alpha=0.1).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="refit with alpha=0"):
        ridge.conf_int(method="profile")
    wald = ridge.conf_int()
    assert wald.isna().all().all() and "penalised" in wald.attrs["notes"][0]
    restored = pickle.loads(pickle.dumps(model))
    with pytest.raises(ValueError, match="holds no training rows"):
        restored.conf_int(method="profile")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = restored.conf_int(method="profile", X=X, y=y, sample_weight=w)
    pd.testing.assert_frame_equal(again, model.conf_int(method="profile"))
