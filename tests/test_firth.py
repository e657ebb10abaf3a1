"""penalty="firth": published logistf and brglm2 results, firthmodels on random problems,
weights, model files and the errors for what is not supported (tests/reference/README.md
gives the sources of the data and numbers)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import logitkit as lk
from logitkit.exceptions import AliasedColumnsWarning, PerfectSeparationWarning
from logitkit.families import Multinomial
from logitkit.firth import FirthObjective
from logitkit.objective import Objective

REF = Path(__file__).parent / "reference"
SEX2_TERMS = ["Intercept", "age", "oc", "vic", "vicl", "vis", "dia"]


def sex2():
    d = pd.read_csv(REF / "sex2.csv")
    return d[SEX2_TERMS[1:]], d["case"]


@pytest.fixture(scope="module")
def sex2_fit():
    X, y = sex2()
    return lk.LogisticRegression(penalty="firth").fit(X, y)


def test_sex2_matches_logistf_summary_alpha_01(sex2_fit):
    """summary(logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2, alpha = 0.1))
    as printed in TalhoukLab/biostatUtil's logistfPrint example (tests/reference/README.md)."""
    table = sex2_fit.summary(alpha=0.1).table.loc[SEX2_TERMS]
    coef = [0.12025405, -1.10598131, -0.06881673, 2.26887464, -2.11140817, -0.78831694,
            3.09601166]
    se = [0.4763429, 0.4149021, 0.4344026, 0.5384872, 0.5320395, 0.4089620, 1.5052197]
    lower = [-0.6673577, -1.8277045, -0.7986318, 1.4248338, -3.0613215, -1.4743338, 1.0835108]
    upper = [0.9177303, -0.4328451, 0.6507581, 3.2325326, -1.2704704, -0.1137542, 6.8752016]
    chi2 = [0.06286298, 7.50773092, 0.02467044, 22.93139022, 19.10407252, 3.69740975,
            7.89693139]
    p = [8.020268e-01, 6.143472e-03, 8.751911e-01, 1.678877e-06, 1.237805e-05, 5.449701e-02,
         4.951873e-03]
    # logistf stops at xconv = lconv = 1e-5, so its 8th decimal of coef is not converged
    # (ours is: 3e-8 apart), and it takes the SEs from the step before its last
    # (dia: 1.4e-6 apart); the profile limits, chi2 and p agree to every printed digit
    np.testing.assert_allclose(table["coef"], coef, atol=5e-8)
    np.testing.assert_allclose(table["std_err"], se, rtol=1e-6)
    np.testing.assert_allclose(table["ci_lower"], lower, atol=5e-8)
    np.testing.assert_allclose(table["ci_upper"], upper, atol=5e-8)
    np.testing.assert_allclose(table["chi2"], chi2, atol=5e-9)
    np.testing.assert_allclose(table["p_value"], p, rtol=5e-7)
    header = sex2_fit.summary(alpha=0.1).header_values()
    assert header["lr_chi2"] == pytest.approx(49.09064, abs=5e-6)
    assert header["lr_pvalue"] == pytest.approx(7.15089e-09, rel=1e-5)
    # logistf's printed "Wald test = 31.96835 on 6 df" is b' V^-1 b over every
    # coefficient, the intercept included; the summary's tests the slopes
    b = table["coef"].to_numpy()
    V = sex2_fit.covariance().loc[SEX2_TERMS, SEX2_TERMS].to_numpy()
    assert b @ np.linalg.solve(V, b) == pytest.approx(31.96835, abs=2e-5)


def test_sex2_matches_logistf_95_intervals(sex2_fit):
    """95% profile penalised-likelihood limits from logistf (jzluo/firthlogist's tests)."""
    ci = sex2_fit.conf_int().loc[SEX2_TERMS[1:] + ["Intercept"]]
    expected = np.array([[-1.9737884, -0.30742514], [-0.9414363, 0.78920202],
                         [1.2730216, 3.43543273], [-3.2608611, -1.11773495],
                         [-1.6080879, 0.01518468], [0.7745682, 8.03029352],
                         [-0.8185591, 1.07315122]])
    np.testing.assert_allclose(ci.to_numpy(), expected, atol=5e-8)


def test_endometrial_matches_brglm2():
    """brglm2's README: glm(HG ~ NV + PI + EH, binomial, method = "brglm_fit") (mean bias
    reduction, which for the logit link is Firth's), estimates and Fisher SEs."""
    d = pd.read_csv(REF / "endometrial.csv")
    fit = lk.LogisticRegression(penalty="firth").fit(d[["NV", "PI", "EH"]], d["HG"])
    table = fit.summary(method="wald", cov_type="fisher").table
    np.testing.assert_allclose(table["coef"], [3.77456, 2.92927, -0.03475, -2.60416], atol=5e-6)
    np.testing.assert_allclose(table["std_err"], [1.48869, 1.55076, 0.03958, 0.77602],
                               atol=5e-6)
    # brglm2 stops at epsilon = 1e-6: its z of PI is 2e-6 from the optimum's (p: 6e-7)
    np.testing.assert_allclose(table["p_value"], [0.011229, 0.058902, 0.379915, 0.000791],
                               atol=1e-6)


def hepatitis():
    h = pd.read_csv(REF / "hepatitis.csv")
    kind = (1 - h.HCV * h.nonABC + h.HCV + 2 * h.nonABC).astype(int)
    y = pd.Categorical(kind.map({1: "noDisease", 2: "C", 3: "nonABC"}),
                       categories=["noDisease", "C", "nonABC"])
    X = pd.DataFrame({"group": (h.group == "withhold").astype(float),
                      "time": (h.time == "post").astype(float)})
    X["group:time"] = X.group * X.time
    return X, y, h["counts"].to_numpy()


def test_hepatitis_multinomial_matches_bull_et_al_table_3():
    """brmultinom(type ~ group * time, weights = counts) reproduces Bull et al. (2002)
    Table 3 to its two decimals (brglm2's inst/tinytest/test-multinom.R)."""
    X, y, counts = hepatitis()
    fit = lk.LogisticRegression(penalty="firth").fit(X, y, sample_weight=counts)
    coef = fit.summary(method="wald").table["coef"]
    terms = ["group", "time", "group:time"]
    np.testing.assert_allclose(coef.loc["C"].loc[terms], [-2.43, -1.57, 1.96], atol=0.005)
    np.testing.assert_allclose(coef.loc["nonABC"].loc[terms], [-0.36, -0.38, 0.26], atol=0.005)


def test_weights_equal_repeated_rows():
    X, y, counts = hepatitis()
    weighted = lk.LogisticRegression(penalty="firth").fit(X, y, sample_weight=counts)
    repeat = np.repeat(np.arange(len(counts)), counts.astype(int))
    repeated = lk.LogisticRegression(penalty="firth").fit(X.iloc[repeat], y[repeat])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-9)
    a, b = weighted.summary().table, repeated.summary().table
    for column in ("std_err", "chi2", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-7, atol=1e-9)
    Xs, ys = sex2()
    w = np.random.default_rng(0).integers(1, 4, len(ys))
    binary = lk.LogisticRegression(penalty="firth").fit(Xs, ys, sample_weight=w)
    rows = np.repeat(np.arange(len(w)), w)
    copies = lk.LogisticRegression(penalty="firth").fit(Xs.iloc[rows], ys.iloc[rows])
    np.testing.assert_allclose(binary.summary().table[["coef", "std_err", "ci_lower"]],
                               copies.summary().table[["coef", "std_err", "ci_lower"]],
                               rtol=1e-7, atol=1e-9)


def test_multinomial_penalty_is_half_log_det_fisher_information():
    """The multinomial objective against a direct computation of log L + 1/2 log det I
    (I = sum_i w_i kron(V_i, x_i x_i')), and its gradient against finite differences."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 2))
    y = rng.integers(0, 3, 60)
    w = rng.integers(1, 3, 60).astype(float)
    problem = FirthObjective(Objective(Multinomial(), X, y, w, 3, True))
    theta = rng.normal(0, 0.3, problem.n_params)
    W = theta.reshape(2, 3)
    Xa = np.column_stack([X, np.ones(60)])
    logits = np.column_stack([np.zeros(60), Xa @ W.T])
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    pi = np.exp(log_p[:, 1:])
    info = sum(wi * np.kron(np.diag(p) - np.outer(p, p), np.outer(x, x))
               for wi, p, x in zip(w, pi, Xa, strict=True))
    direct = w @ log_p[np.arange(60), y] + 0.5 * np.linalg.slogdet(info)[1]
    value, grad, _ = problem.evaluate(theta, 1)
    assert -value * problem.total_weight == pytest.approx(direct, rel=1e-12)
    steps = np.eye(problem.n_params) * 1e-6
    numeric = [(problem.evaluate(theta + e, 0)[0] - problem.evaluate(theta - e, 0)[0]) / 2e-6
               for e in steps]
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def random_problem(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta = rng.normal(0, 0.8, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 0.5)))).astype(int)
    return X, y


@pytest.mark.parametrize("seed, n, d", [(0, 80, 3), (1, 300, 8), (2, 40, 5)])
def test_agrees_with_firthmodels(seed, n, d):
    firthmodels = pytest.importorskip("firthmodels")
    X, y = random_problem(seed, n, d)
    ours = lk.LogisticRegression(penalty="firth").fit(X, y)
    peer = firthmodels.FirthLogisticRegression(backend="numpy", gtol=1e-8, xtol=1e-8,
                                               max_iter=100).fit(X, y)
    peer.lrt()
    ci = peer.conf_int(method="pl", tol=1e-9, max_iter=200)
    order = [f"x{j}" for j in range(d)] + ["Intercept"]
    table = ours.summary().table.loc[order]
    np.testing.assert_allclose(table["coef"], np.r_[peer.coef_, peer.intercept_], atol=1e-8)
    np.testing.assert_allclose(table["std_err"], peer.bse_, rtol=1e-7)
    np.testing.assert_allclose(table["p_value"], peer.lrt_pvalues_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(table[["ci_lower", "ci_upper"]], ci, atol=1e-7)


def separated():
    """firthmodels' make_separation_data (tests/conftest.py): x0 = 1 implies y = 1."""
    rng = np.random.default_rng(42)
    separator = rng.choice([0, 1], 100, p=[0.8, 0.2])
    x1, x2, x3 = rng.standard_normal(100), rng.uniform(-1, 1, 100), rng.exponential(2.0, 100)
    prob = 1 / (1 + np.exp(-(-0.5 + 0.8 * x1 - 0.6 * x2 + 0.3 * x3)))
    y = rng.binomial(1, prob)
    y[separator == 1] = 1
    return np.column_stack([separator, x1, x2, x3]), y


def test_separated_data_matches_logistf_and_warning_suggests_firth():
    """logistf's results on firthmodels' quasi-separated data (hard-coded in firthmodels'
    tests/test_logistic.py, test_matches_logistf_with_separation, to 10 digits; logistf
    stops at xconv = 1e-5, and its estimates are within 1e-7 relative of the optimum)."""
    X, y = separated()
    with pytest.warns(PerfectSeparationWarning, match='penalty="firth"'):
        lk.LogisticRegression().fit(X, y)
    fit = lk.LogisticRegression(penalty="firth").fit(X, y)
    table = fit.summary().table.loc[["x0", "x1", "x2", "x3", "Intercept"]]
    np.testing.assert_allclose(table["coef"], [3.6577140153, 0.6759781501, -0.8633119501,
                                               0.3385788510, -0.4434562830], rtol=2e-7)
    # logistf takes its SEs from the step before its last (as on sex2): 1.1e-6 apart
    np.testing.assert_allclose(table["std_err"], [1.4822786334, 0.2687886213, 0.3874453554,
                                                  0.1370778814, 0.3452906671], rtol=2e-6)
    np.testing.assert_allclose(table["p_value"], [0.0002084147149, 0.0093173148959,
                                                  0.0236385713206, 0.0055887969164,
                                                  0.1997147194], rtol=2e-7)
    np.testing.assert_allclose(table["ci_lower"], [1.3901042899, 0.1602568036, -1.6677883758,
                                                   0.0893054012, -1.16089382506], rtol=2e-7)
    np.testing.assert_allclose(table["ci_upper"], [8.5876062114, 1.2568999211, -0.1135186948,
                                                   0.6572681313, 0.2295139209], rtol=2e-7)


def test_aliased_column_is_left_out():
    X, y = sex2()
    X2 = X.assign(age2=X["age"])
    with pytest.warns(AliasedColumnsWarning):
        fit = lk.LogisticRegression(penalty="firth").fit(X2, y)
    base = lk.LogisticRegression(penalty="firth").fit(X, y)
    a, b = fit.summary().table, base.summary().table
    np.testing.assert_allclose(a.loc[SEX2_TERMS, ["coef", "std_err", "ci_lower", "chi2"]],
                               b.loc[SEX2_TERMS, ["coef", "std_err", "ci_lower", "chi2"]],
                               rtol=1e-9, atol=1e-12)
    assert np.isnan(a.loc["age2", "coef"]) and a.loc["age2", "note"] == "aliased"


def test_model_file_keeps_fit_and_intervals(sex2_fit, tmp_path):
    path = tmp_path / "firth.lkm"
    sex2_fit.save(path)
    loaded = lk.load(path)
    pd.testing.assert_frame_equal(loaded.summary().table, sex2_fit.summary().table)
    pd.testing.assert_frame_equal(loaded.summary(method="wald").table,
                                  sex2_fit.summary(method="wald").table)
    with pytest.raises(ValueError, match="need the fitting rows"):
        loaded.summary(alpha=0.2)
    X, y = sex2()
    np.testing.assert_allclose(loaded.firth_tests(0.8, X=X, y=y).lower,
                               sex2_fit.firth_tests(0.8).lower, atol=1e-10)


def test_wald_and_fisher_options(sex2_fit):
    wald = sex2_fit.conf_int(method="wald", level=0.9)
    table = sex2_fit.summary(method="wald", alpha=0.1).table
    z = st.norm.ppf(0.95)
    np.testing.assert_allclose(wald["lower"], table["coef"] - z * table["std_err"])
    fisher = sex2_fit.covariance(cov_type="fisher")
    objective = sex2_fit.firth_objective()
    info = objective.information(sex2_fit.result_.params)
    natural = np.sqrt(np.diag(np.linalg.inv(info)))
    np.testing.assert_allclose(np.sqrt(np.diag(fisher))[1:], natural[:6], rtol=1e-10)
    with pytest.raises(ValueError, match="sandwich"):
        sex2_fit.summary(cov_type="HC0")


@pytest.mark.parametrize("make, message", [
    (lambda: lk.OrdinalLogisticRegression(penalty="firth"), "cumulative-link"),
    (lambda: lk.LogisticRegression(penalty="firth", alpha=1.0), "alpha=0"),
    (lambda: lk.LogisticRegression(penalty="firth", solver="lbfgs"), "own Newton"),
    (lambda: lk.LogisticRegression(penalty="ridge"), "None or 'firth'"),
])
def test_unsupported_settings_are_refused(make, message):
    X, y = sex2()
    with pytest.raises(ValueError, match=message):
        make().fit(X, y)


def test_multinomial_profile_ends_are_crossings():
    """At each end of a multinomial fit's profile interval, a refit with that parameter
    held there falls short of the maximum by chi2_1(level) / 2."""
    from logitkit.firth_profile import refit_fixed

    X, y, counts = hepatitis()
    fit = lk.LogisticRegression(penalty="firth").fit(X, y, sample_weight=counts)
    tests = fit.firth_tests(0.9, tests=False)
    problem = fit.firth_objective()
    natural = fit._natural_index(fit._reported())
    theta, pll = fit.result_.params, fit.firth_.penalised_log_likelihood
    for row in (1, 6):  # (C, group) and (nonABC, time)
        for end in (tests.lower[row], tests.upper[row]):
            point = refit_fixed(problem, theta, pll, natural[row], end)
            assert point.statistic == pytest.approx(st.chi2.ppf(0.9, 1), abs=1e-8)


def test_root_finder_fallback_finds_the_same_ends(sex2_fit):
    """The fallback root-finder on constrained refits agrees with the Venzon-Moolgavkar
    iteration that finds the ends first."""
    import logitkit.profile as P
    from logitkit.profile_joint import JointEnd, lockstep

    problem = sex2_fit.firth_objective()
    theta = sex2_fit.result_.params
    value, grad, hess = problem.evaluate(theta, 2)
    optimum = P.Solution(theta, value, grad, hess)
    z = st.norm.ppf(0.975)
    for j in (0, 5):  # age, dia (the skewed profile)
        a = np.eye(problem.n_params)[j]
        side = P._Side(problem, optimum, a, np.ones(problem.n_params, bool))
        ses, tangents = P.wald_directions(optimum, a[None], side.free, side.W)
        for sign in (-1, 1):
            end = JointEnd(side, sign, z, z * ses[0], ses[0], tangents[0])
            lockstep([end])
            nested = P._bound(side, sign, z, z * ses[0], z * ses[0])[0]
            assert nested == pytest.approx(end.result[0], abs=1e-8)


def test_either_newton_matrix_reaches_the_same_optimum(sex2_fit):
    """Newton with I (the default) or logistf's augmented information: one optimum; the
    augmented information is X' diag((1 + h) p (1 - p)) X."""
    from logitkit.firth import fit_firth
    from logitkit.fitting import null_parameters

    base = sex2_fit.fitted_objective()
    fits = [fit_firth(FirthObjective(base, newton=kind), null_parameters(base))
            for kind in ("fisher", "augmented")]
    np.testing.assert_allclose(fits[0].theta, fits[1].theta, atol=1e-8)
    problem = FirthObjective(base, newton="augmented")
    theta = sex2_fit.result_.params
    X, _ = sex2()
    Xa = np.column_stack([X.to_numpy(float), np.ones(len(X))])
    p = sex2_fit.predict_proba(X)[:, 1]
    h = problem.hat_values(theta)
    np.testing.assert_allclose(problem.augmented_information(theta),
                               Xa.T @ (((1 + h) * p * (1 - p))[:, None] * Xa), rtol=1e-10)
    with pytest.raises(ValueError, match="newton"):
        FirthObjective(base, newton="exact")


def _weighted_offset_aliased_fit(rng):
    """A Firth fit of sex2 with random frequency weights, an offset and an aliased column
    (a copy of age)."""
    X, y = sex2()
    w = rng.integers(1, 4, len(y)).astype(float)
    offset = rng.normal(0, 0.3, len(y))
    with pytest.warns(AliasedColumnsWarning):
        return lk.LogisticRegression(penalty="firth").fit(X.assign(age2=X["age"]), y,
                                                           sample_weight=w, offset=offset)


@pytest.mark.parametrize("newton", ["fisher", "augmented"])
def test_batched_evaluation_equals_single_evaluations(newton):
    """evaluate_batch (the lockstep profile's evaluation of many points in one pair of
    passes) returns each point's evaluate(theta, 2): with weights, an offset, an aliased
    column held out, and a point where I is singular (+inf); multinomial fits too."""
    rng = np.random.default_rng(3)
    fit = _weighted_offset_aliased_fit(rng)
    problem = fit.firth_objective()
    problem = FirthObjective(problem.base, problem.free, newton)
    theta = fit.result_.params
    points = theta + rng.normal(0, 0.4, (5, theta.size)) * problem.free
    points[2] = np.where(problem.free, 1e3, 0.0)  # every p = 1: I = 0
    values, grads, hessians = problem.evaluate_batch(points)
    for point, value, grad, hess in zip(points, values, grads, hessians, strict=True):
        one = problem.evaluate(point, 2)
        assert value == pytest.approx(one[0], rel=1e-13)
        if np.isfinite(one[0]):
            np.testing.assert_allclose(grad, one[1], rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(hess, one[2], rtol=1e-10, atol=1e-14)
    assert values[2] == np.inf and np.isnan(grads[2]).all()
    Xh, yh, counts = hepatitis()
    multi = lk.LogisticRegression(penalty="firth").fit(Xh, yh, sample_weight=counts)
    problem = multi.firth_objective()
    points = multi.result_.params + rng.normal(0, 0.1, (3, multi.result_.params.size))
    values, grads, hessians = problem.evaluate_batch(points)
    for point, value, grad, hess in zip(points, values, grads, hessians, strict=True):
        one = problem.evaluate(point, 2)
        assert value == one[0]
        np.testing.assert_array_equal(grad, one[1])
        np.testing.assert_array_equal(hess, one[2])


def test_lockstep_tests_equal_one_at_a_time(sex2_fit):
    """The penalised LR tests stepped in lockstep (lr_tests) are each parameter's own
    refit (lr_test)."""
    from logitkit.firth_profile import lr_test, lr_tests

    problem = sex2_fit.firth_objective()
    theta, pll = sex2_fit.result_.params, sex2_fit.firth_.penalised_log_likelihood
    value, grad, hess = problem.evaluate(theta, 2)
    cov = np.linalg.inv(hess * problem.total_weight)
    indices = np.arange(theta.size)
    together = lr_tests(problem, theta, pll, indices, cov)
    correction = problem.exact_hessian(theta) - hess  # as lr_tests corrects its refits
    alone = [lr_test(problem, theta, pll, j, cov[:, j], correction).statistic
             for j in indices]
    np.testing.assert_allclose(together, alone, rtol=1e-9, atol=1e-10)


def test_exact_hessian_and_the_profile_ends_it_corrects(monkeypatch):
    """exact_hessian (the penalty's curvature included, kept for the latest theta) equals
    central differences of the gradient, with weights, an offset and an aliased column
    held out; with it the profile
    ends of a fit with few rows per coefficient are the same, in fewer evaluations."""
    import logitkit.profile as P

    rng = np.random.default_rng(5)
    fit = _weighted_offset_aliased_fit(rng)
    problem = fit.firth_objective()
    assert problem.exact_hessian_pays  # 239 rows, 7 coefficients
    theta = fit.result_.params + rng.normal(0, 0.2, fit.result_.params.size) * problem.free
    hess = problem.exact_hessian(theta)
    import logitkit.firth_batch as FB

    monkeypatch.setattr(FB, "exact_hessian", lambda *args: pytest.fail("recomputed"))
    np.testing.assert_array_equal(problem.exact_hessian(theta.copy()), hess)  # kept
    monkeypatch.undo()
    step = 1e-5
    gradient = lambda point: problem.evaluate(point, 1)[1]  # noqa: E731
    columns = [(gradient(theta + step * e) - gradient(theta - step * e)) / (2 * step)
               for e in np.eye(theta.size)[problem.free]]
    index = np.flatnonzero(problem.free)
    np.testing.assert_allclose(hess[np.ix_(index, index)], np.array(columns)[:, index],
                               rtol=1e-6, atol=1e-9)
    assert not np.allclose(hess, problem.evaluate(theta, 2)[2], rtol=1e-3)  # I alone

    problem = FirthObjective(problem.base, problem.free)
    optimum = P.minimize(problem, fit.result_.params, problem.free)
    A = np.eye(theta.size)[problem.free]
    evaluated, batch = [], problem.evaluate_batch
    problem.evaluate_batch = lambda thetas: evaluated.append(len(thetas)) or batch(thetas)
    corrected = P.profile_interval_set(problem, optimum, A, free=problem.free)
    points_corrected = sum(evaluated)
    evaluated.clear()
    problem.exact_hessian_pays = False
    plain = P.profile_interval_set(problem, optimum, A, free=problem.free)
    for one, other in zip(corrected, plain, strict=True):
        assert one.lower == pytest.approx(other.lower, abs=1e-9)
        assert one.upper == pytest.approx(other.upper, abs=1e-9)
    assert points_corrected < sum(evaluated)  # measured: 44 points against 49


def test_second_order_starts_and_fast_landings_keep_the_ends(monkeypatch):
    """The ends' second-order starting points (path_starts, from third_derivatives) and
    last steps taken unevaluated when the steps contract fast give the ends of the
    plain iteration (tangent starts, only tiny last steps unevaluated) to 1e-9, in fewer
    evaluations; third_derivatives equals central differences of the log-likelihood's
    gradient."""
    import logitkit.profile_joint as J

    rng = np.random.default_rng(11)
    # 400 x 20, columns on scales 0.1 to 10: 20 rows a coefficient (the Newton matrix
    # corrected), where landing on the path's step alone had left ends 1e-7 off
    X = rng.standard_normal((400, 20)) * rng.choice([0.1, 1.0, 10.0], 20)
    beta = rng.normal(0, 1.5, 20) / X.std(axis=0)
    y = (rng.random(400) < 1 / (1 + np.exp(-(X @ beta - 0.5)))).astype(int)
    fit = lk.LogisticRegression(penalty="firth").fit(X, y, sample_weight=rng.integers(1, 3, 400))
    problem = fit.firth_objective()
    theta, V = fit.result_.params, rng.normal(size=(3, fit.result_.params.size))
    V[:, :20] /= X.std(axis=0)  # directions of unit size in each column's scale
    base = problem.base  # -log L / N, whose gradient's second derivative along v is wanted
    step = 1e-4
    for v, third in zip(V, problem.third_derivatives(theta, V), strict=True):
        gradient = lambda t, v=v: base.evaluate(theta + t * v, 1)[1]  # noqa: E731
        numeric = (gradient(step) - 2 * gradient(0.0) + gradient(-step)) / step**2
        np.testing.assert_allclose(third, numeric, rtol=1e-5, atol=1e-7)

    import logitkit.firth_profile as FP

    evaluated, batch = [], problem.evaluate_batch
    problem.evaluate_batch = lambda thetas: evaluated.append(len(thetas)) or batch(thetas)
    quick = FP.profile_limits(problem, theta, np.arange(theta.size), 0.95)
    points_quick = sum(evaluated)
    evaluated.clear()
    monkeypatch.setattr(J, "_FAST_RATE", 0.0)
    monkeypatch.setattr(type(problem), "third_derivatives", lambda self, theta, V: None)
    plain = FP.profile_limits(problem, theta, np.arange(theta.size), 0.95)
    np.testing.assert_allclose(quick, plain, rtol=0, atol=1e-9)
    assert points_quick < sum(evaluated)
