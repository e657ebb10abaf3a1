"""Binary Newton fits far from the null model start from the fit on every 8th row (a
probe of the rows decides: fitting._far_from_null), reach the optimum of the start from
the null model in fewer passes, and take the same start from sparse, float32 and
DataFrame input, and fits without an intercept (a design with its own column of ones)
alike; weak-signal fits and fits with many parameters start from the null model."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import logitkit as lk
from logitkit import fitting, hessian_samples
from logitkit.families import Binomial
from logitkit.objective import Objective


def _data(n, d, signal, seed=0, dtype=np.float64):
    """X (n, d) standard normal, y from log-odds of sd ``signal``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    eta = X @ (rng.normal(size=d) * signal / np.sqrt(d)) + 0.3
    return X, (eta + rng.logistic(size=n) > 0).astype(int)


def _objective(X, y, fit_intercept=True):
    return Objective(Binomial(), X, y, np.ones(len(y)), 2, fit_intercept)


def _free(objective):
    return np.ones(objective.n_params, dtype=bool)


def test_the_probe_tells_strong_from_weak_signal():
    """Newton's first step from the null model moves eta by about the signal's log-odds
    (mean square: about 7 at sd 4, 0.06 at sd 0.3; the threshold is 0.3)."""
    strong, weak = _data(60_000, 10, 4.0), _data(60_000, 10, 0.3)
    assert fitting._far_from_null(_objective(*strong), _free(_objective(*strong)))
    assert not fitting._far_from_null(_objective(*weak), _free(_objective(*weak)))


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_a_warm_started_fit_reaches_the_optimum_in_fewer_passes(monkeypatch, alpha):
    X, y = _data(60_000, 10, 4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm = lk.LogisticRegression(alpha=alpha).fit(X, y)
        monkeypatch.setattr(fitting, "WARM_START_NULL_STEP", np.inf)  # the null start
        cold = lk.LogisticRegression(alpha=alpha).fit(X, y)
    assert warm.converged_ and cold.converged_
    assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, rel=1e-13)
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-6)
    np.testing.assert_allclose(warm.intercept_, cold.intercept_, rtol=1e-6)
    assert warm.n_iter_ < cold.n_iter_ and warm.n_passes_ < cold.n_passes_
    if alpha == 0:
        np.testing.assert_allclose(warm.summary().table["std_err"],
                                   cold.summary().table["std_err"], rtol=1e-6)


def test_sparse_float32_and_frame_input_take_the_same_start():
    """The probe and the sample are the same rows whatever holds them: sparse and
    DataFrame fits agree with the dense one to rounding, the float32 fit (the same values;
    its Hessians' products in float32) to the fit's tolerance, in as many iterations."""
    X, y = _data(60_000, 10, 4.0, dtype=np.float32)
    X64 = X.astype(np.float64)
    dense = lk.LogisticRegression().fit(X64, y)
    for other, rtol in ((sp.csr_array(X64), 1e-12),
                        (pd.DataFrame(X64, columns=[f"x{j}" for j in range(10)]), 1e-12),
                        (X, 1e-6)):
        fitted = lk.LogisticRegression().fit(other, y)
        assert fitted.n_iter_ == dense.n_iter_ and fitted.n_passes_ == dense.n_passes_
        np.testing.assert_allclose(fitted.coef_, dense.coef_, rtol=rtol)


def test_no_warm_start_with_many_parameters(monkeypatch):
    """Beyond WARM_START_BINARY_PARAMS parameters the probe's Hessian costs too much: the
    fit starts from the null model without asking the probe."""
    calls = []
    probe = fitting._far_from_null
    monkeypatch.setattr(fitting, "_far_from_null", lambda *a: calls.append(1) or probe(*a))
    X, y = _data(60_000, 10, 4.0)
    objective = _objective(X, y)
    sums = fitting.class_weight_sums(objective)
    monkeypatch.setattr(fitting, "WARM_START_BINARY_PARAMS", 10)
    assert fitting._warm_start(objective, "newton", 1e-8, None, sums, True) is None
    assert calls == []
    monkeypatch.setattr(fitting, "WARM_START_BINARY_PARAMS", 11)
    assert fitting._warm_start(objective, "newton", 1e-8, None, sums, True) is not None
    assert calls == [1]


def _with_ones(X):
    """X with a first column of ones (a statsmodels-style design, fitted without an
    intercept)."""
    return np.column_stack([np.ones(len(X), X.dtype), X])


def test_without_an_intercept_the_probe_measures_from_zero():
    """Without an intercept the null model is all zeros and its rows' Hessian weight (1/4
    for the logit at eta = 0) is the probe's yardstick: the intercept's entry of the
    mean Hessian when the design has a column of ones, so the answer is the intercept
    fit's on the same data."""
    for signal, far in ((4.0, True), (0.3, False)):
        X, y = _data(60_000, 10, signal)
        objective = _objective(_with_ones(X), y, fit_intercept=False)
        probe = fitting._row_sample(objective, fitting.probe_step(objective.n, objective.d))
        assert fitting._null_row_weight(probe) == pytest.approx(0.25, rel=1e-12)
        _, _, hess = probe.evaluate(np.zeros(objective.n_params), 2)
        assert hess[0, 0] == pytest.approx(0.25, rel=1e-12)
        assert fitting._far_from_null(objective, _free(objective)) is far


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_a_fit_without_an_intercept_takes_the_warm_start(monkeypatch, alpha):
    """A design with its own column of ones fitted without an intercept reaches the
    optimum of the start from zero in fewer iterations and passes, as a fit with an
    intercept does (strong signal: 10 -> 5 iterations at 200k x 50)."""
    X, y = _data(60_000, 10, 4.0)
    X1 = _with_ones(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm = lk.LogisticRegression(alpha=alpha, fit_intercept=False).fit(X1, y)
        monkeypatch.setattr(fitting, "WARM_START_NULL_STEP", np.inf)  # the zero start
        cold = lk.LogisticRegression(alpha=alpha, fit_intercept=False).fit(X1, y)
    assert warm.converged_ and cold.converged_
    assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, rel=1e-13)
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-6)
    assert warm.n_iter_ < cold.n_iter_ and warm.n_passes_ < cold.n_passes_
    if alpha == 0:  # the intercept fit's model: the same optimum
        fitted = lk.LogisticRegression(alpha=0).fit(X, y)
        np.testing.assert_allclose(warm.coef_[0], [*fitted.intercept_, *fitted.coef_[0]],
                                   rtol=1e-6)


def test_a_sample_that_misses_a_class_gives_no_warm_start():
    X, y = _data(60_000, 10, 4.0)
    y[:: fitting.WARM_START_STEP] = 0
    objective = _objective(X, y)
    assert fitting._warm_start(objective, "newton", 1e-8, None,
                               fitting.class_weight_sums(objective), True) is None


@pytest.mark.parametrize(("persist", "fit_intercept"),
                         [("auto", True), (False, True), ("auto", False)])
def test_a_dask_fit_takes_the_same_start_without_a_graph_for_it(dask_client, monkeypatch,
                                                                persist, fit_intercept):
    """The probe's rows and the innermost sample come back with the scan: the Dask fit
    asks and fits them on the client (no graph over a sample), and equals the NumPy fit,
    iteration for iteration (without an intercept too, on a design with a column of
    ones)."""
    da = pytest.importorskip("dask.array")
    dask_objective = pytest.importorskip("logitkit.dask.objective")
    X, y = _data(60_000, 10, 4.0)
    if not fit_intercept:
        X = _with_ones(X)
    expected = lk.LogisticRegression(fit_intercept=fit_intercept).fit(X, y)
    monkeypatch.setattr(fitting, "WARM_START_NULL_STEP", np.inf)
    cold = lk.LogisticRegression(fit_intercept=fit_intercept).fit(X, y)
    monkeypatch.undo()
    steps = []
    compute = dask_objective._compute

    def spy(*passes):
        steps.extend(p.objective.step for p in passes)
        return compute(*passes)

    monkeypatch.setattr(dask_objective, "_compute", spy)
    chunks = ((25_000, 1, 34_999), X.shape[1])
    fitted = lk.LogisticRegression(fit_intercept=fit_intercept).fit(
        da.from_array(X, chunks=chunks), y, persist=persist)
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
    np.testing.assert_allclose(fitted.intercept_, expected.intercept_, rtol=1e-10)
    assert fitted.n_iter_ == expected.n_iter_ < cold.n_iter_
    assert steps and all(step in (1, hessian_samples.hessian_step(60_000, 11)) for step in steps)
