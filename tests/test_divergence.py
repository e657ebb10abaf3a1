"""The separation linear program runs only for fits that show divergence: not for
non-separated probit/cloglog fits whose thin tails put fitted probabilities within 1e-8
of 1, and still for every separated fit, thin tails included."""

import numpy as np
import pytest

import logitkit as lk
from logitkit import diagnosis
from logitkit.divergence import DIVERGING_MOVE, frozen_parameters, newton_move
from logitkit.families import Multinomial, Ordinal
from logitkit.objective import Objective


@pytest.fixture
def no_linear_program(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the separation linear program ran on a non-separated fit")

    monkeypatch.setattr(diagnosis, "detect_separation", refuse)


def _latent(rng, n, d, link, strength, K):
    X = rng.normal(size=(n, d))
    eta = strength * X @ rng.normal(size=d)
    noise = {"probit": rng.normal(size=n), "logit": rng.logistic(size=n),
             "cloglog": np.log(-np.log(rng.uniform(size=n)))}[link]
    latent = eta + noise
    return X, np.digitize(latent, np.quantile(latent, np.arange(1, K) / K))


@pytest.mark.parametrize("link", ["probit", "cloglog"])
@pytest.mark.parametrize("K", [2, 5])
def test_thin_tails_without_separation_skip_the_linear_program(no_linear_program, link, K):
    X, y = _latent(np.random.default_rng(K), 5000, 6, link, 2.0, K)
    model = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    # the old trigger (one fitted probability beyond 1 - 1e-8) would have fired
    assert model._max_observed_proba(X, y, np.ones(len(y))) > 1 - 1e-8
    assert model.converged_ and model.separation_ is None
    assert model.separation_status_ == "none"


def _dummy_separated(rng, n, link, top):
    """Ordinal data where a rare dummy puts its rows in the top (or bottom) class."""
    X, y = _latent(rng, n, 2, link, 1.0, 4)
    flag = np.zeros(n)
    flag[rng.choice(n, size=max(2, n // 100), replace=False)] = 1.0
    y[flag == 1] = 3 if top else 0
    return np.column_stack([X, flag]), y


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
@pytest.mark.parametrize("top", [True, False])
def test_quasi_separation_by_a_dummy_is_found_with_every_link(link, top):
    # cloglog's upper tail (the bottom class) fits the flagged rows with probability
    # exactly 1 within a few steps: the symptom there is a singular Hessian
    X, y = _dummy_separated(np.random.default_rng(1), 2000, link, top)
    with pytest.warns(lk.PerfectSeparationWarning, match="quasi-completely separated by x2"):
        model = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    assert model.separation_.separated and model.separation_.features == (2,)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_complete_separation_of_two_classes_with_every_link(link):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(lk.PerfectSeparationWarning, match="completely separated by x0"):
        model = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    assert model.separation_.complete and np.all(np.isfinite(model.coef_))


def test_few_separated_rows_among_many_are_found():
    """5 separated rows in 40,000: the fit stops (tol 1e-8) with their probabilities
    only about 1 - 3e-8, which the old 1 - 1e-8 trigger missed."""
    rng = np.random.default_rng(0)
    n = 40_000
    X = rng.normal(size=(n, 2))
    flag = np.zeros(n)
    flag[:5] = 1.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X[:, 0]))).astype(int)
    y[:5] = 1
    X = np.column_stack([X, flag])
    with pytest.warns(lk.PerfectSeparationWarning, match="quasi-completely separated by x2"):
        model = lk.LogisticRegression().fit(X, y)
    assert 1 - model._max_observed_proba(X, y, np.ones(n)) > 1e-8


def test_newton_move_is_tiny_at_an_optimum_and_large_when_diverging():
    rng = np.random.default_rng(3)
    X, y = _latent(rng, 3000, 4, "probit", 2.0, 4)
    objective = Objective(Ordinal("probit"), X, y, np.ones(len(y)), 4, False)
    fit = lk.OrdinalLogisticRegression(link="probit").fit(X, y).result_
    movable = np.ones(objective.n_params, dtype=bool)
    assert newton_move(objective, fit.params, movable) < 1e-6 * DIVERGING_MOVE
    # the same with the Hessian handed in (one gradient pass)
    _, _, hess = objective.evaluate(fit.params, 2)
    assert newton_move(objective, fit.params, movable, hess) < 1e-6 * DIVERGING_MOVE
    Xs, ys = _dummy_separated(rng, 2000, "probit", True)
    with pytest.warns(lk.PerfectSeparationWarning):
        diverged = lk.OrdinalLogisticRegression(link="probit").fit(Xs, ys).result_
    separated = Objective(Ordinal("probit"), Xs, ys, np.ones(len(ys)), 4, False)
    movable = np.ones(separated.n_params, dtype=bool)
    assert newton_move(separated, diverged.params, movable) > 10 * DIVERGING_MOVE


def test_parameters_of_classes_without_weight_are_frozen():
    X = np.zeros((4, 2))
    y = np.array([0, 1, 2, 3])
    multinomial = Objective(Multinomial(), X, y, np.ones(4), 4, True)  # d1 = 3
    frozen = frozen_parameters(multinomial, np.array([True, False, True, False]))
    np.testing.assert_array_equal(np.flatnonzero(frozen), [3, 4, 5])  # class 2's row
    ordinal = Objective(Ordinal("logit"), X, y, np.ones(4), 4, False)  # 2 slopes, 3 cuts
    frozen = frozen_parameters(ordinal, np.array([True, True, False, True]))
    np.testing.assert_array_equal(np.flatnonzero(frozen), [2, 3, 4])


@pytest.mark.parametrize(("link", "empty"), [("probit", 3), ("cloglog", 0), ("cloglog", 3)])
def test_class_weight_zero_is_not_taken_for_separation(no_linear_program, link, empty):
    """A class without weight has its MLE at probability 0 by design (its cut point goes
    to infinity): a strong thin-tailed fit with one does not run the linear program (which
    would call the class separated by the cut points alone)."""
    X, y = _latent(np.random.default_rng(5), 3000, 4, link, 2.0, 4)
    weights = {k: 1.0 for k in range(4)} | {empty: 0.0}
    with pytest.warns(UserWarning, match="zero total weight"):
        model = lk.OrdinalLogisticRegression(link=link, class_weight=weights).fit(X, y)
    assert model.converged_ and model.separation_ is None


def test_many_parameters_without_a_hessian_fall_back_to_the_extreme_probability(monkeypatch):
    """Past _PROBE_MAX_PARAMS, with no Hessian from the fit, the probe is not formed and
    an extreme fitted probability alone runs the linear program, as before."""
    from logitkit import divergence

    monkeypatch.setattr(divergence, "_PROBE_MAX_PARAMS", 2)
    X, y = _latent(np.random.default_rng(2), 2000, 3, "probit", 2.0, 2)
    calls = []
    real = diagnosis.detect_separation
    monkeypatch.setattr(diagnosis, "detect_separation",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    model = lk.OrdinalLogisticRegression(link="probit", solver="lbfgs").fit(X, y)
    assert model.result_.hessian is None and calls == [1]
    assert model.separation_ is not None and not model.separation_.separated
