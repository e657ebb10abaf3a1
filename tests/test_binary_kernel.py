"""The binomial pass kernel (in place, in preallocated arrays), its by-product for the
separation check, and the choice of a sampled Hessian for binary fits with few columns."""

import numpy as np
import pytest

import logitkit as lk
import logitkit.objective as objective_module
from logitkit import fitting, hessian_samples
from logitkit.families import Binomial
from logitkit.families.base import Scratch
from logitkit.objective import Objective


@pytest.mark.parametrize("order", [0, 1, 2])
def test_block_kernel_equals_the_plain_derivatives(order):
    rng = np.random.default_rng(order)
    n = 2000
    eta = rng.normal(scale=4.0, size=(n, 1))
    eta[:6, 0] = [-800.0, 800.0, -40.0, 40.0, 0.0, -0.0]
    y = rng.integers(0, 2, size=n).astype(float)
    y[::7] = 0.3  # the loss is defined for fractional targets too
    w = rng.uniform(0.0, 3.0, size=n)
    w[::5] = 0.0
    family, scratch = Binomial(), Scratch()
    plain = family.derivatives(eta, None, y, w, order)
    # a scratch that first served a larger block, then a smaller one
    family.block_derivatives(rng.normal(size=(n + 10, 1)), None, np.ones(n + 10),
                             np.ones(n + 10), order, scratch)
    fused = family.block_derivatives(eta, None, y, w, order, scratch)
    assert fused.loss == pytest.approx(float(plain.loss), rel=1e-14)
    losses = np.maximum(eta[:, 0], 0) - y * eta[:, 0] + np.log1p(np.exp(-np.abs(eta[:, 0])))
    assert fused.least_loss == np.min(losses[w > 0])
    if order >= 1:
        np.testing.assert_allclose(fused.grad_eta, plain.grad_eta, rtol=1e-14, atol=0)
        assert fused.grad_aux.shape == (0,) and fused.grad_aux_rows.shape == (n, 0)
    if order >= 2:
        np.testing.assert_allclose(fused.hess_eta_diag, plain.hess_eta_diag, rtol=1e-14,
                                   atol=0)
        assert fused.hess_eta.shape == (n, 1, 1) and fused.hess_eta_aux.shape == (n, 1, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pass_values_match_a_direct_computation(dtype):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 4)).astype(dtype)
    y = (rng.random(5000) < 0.4).astype(float)
    w = rng.uniform(0.5, 2.0, size=5000)
    ob = Objective(Binomial(), X, y, w, 2, True)
    ob.block_rows = 700  # several blocks, the last one short
    theta = np.array([0.3, -0.2, 0.1, 0.5, -0.4])
    value, grad, hess = ob.loss_terms(theta, 2)
    eta = X.astype(np.float64) @ theta[:4].astype(dtype).astype(np.float64) + theta[4]
    p = 1.0 / (1.0 + np.exp(-eta))
    Z = np.hstack([X.astype(np.float64), np.ones((5000, 1))])
    rel = 1e-12 if dtype == np.float64 else 1e-5
    assert value == pytest.approx(np.sum(w * (np.logaddexp(0, eta) - y * eta)), rel=rel)
    np.testing.assert_allclose(grad, Z.T @ (w * (p - y)), rtol=rel * 10, atol=rel)
    np.testing.assert_allclose(hess, Z.T @ (Z * (w * p * (1 - p))[:, None]), rtol=rel * 10)


def test_separation_check_reuses_the_fits_last_pass(monkeypatch):
    """The largest fitted probability of a row's own class comes from the solver's pass
    at the optimum (no extra read of X), and equals the one computed from the model."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 3))
    y = (X @ [3.0, -2.0, 1.0] + rng.logistic(size=3000) > 0).astype(int)
    weights = np.ones(3000)
    weights[np.argmax(X @ [3.0, -2.0, 1.0])] = 0.0  # the most extreme row does not count
    model = lk.LogisticRegression().fit(X, y, sample_weight=weights)
    expected = model._max_observed_proba(X, y, weights)

    def no_pass(*args):
        raise AssertionError("the separation check read X again")

    monkeypatch.setattr(lk.LogisticRegression, "_observed_log_proba", no_pass)
    again = lk.LogisticRegression().fit(X, y, sample_weight=weights)
    objective = Objective(Binomial(), X, y.astype(float), weights, 2, True)
    objective.loss_terms(again.result_.params, 1)
    assert objective.largest_observed_proba(again.result_.params) == pytest.approx(
        expected, rel=1e-12)
    assert objective.largest_observed_proba(again.result_.params + 1.0) is None


def test_few_columns_sample_the_hessian_only_on_many_rows():
    rng = np.random.default_rng(5)

    def objective(n, d):
        X = rng.normal(size=(n, d))
        return Objective(Binomial(), X, np.zeros(n), np.ones(n), 2, True)

    low, high = objective_module.HESSIAN_SAMPLE_ROWS
    few = objective(hessian_samples._FEW_PARAMS_STEP * low + 1, 4)
    assert hessian_samples.hessian_objective(few).n <= low
    assert hessian_samples.hessian_objective(objective(4 * low, 4)).n == 4 * low
    assert hessian_samples.hessian_objective(objective(4 * low, 60)).n < 4 * low


def test_sampled_few_column_fit_reaches_the_full_newton_optimum(monkeypatch):
    rng = np.random.default_rng(6)
    n = 30_000
    X = rng.normal(size=(n, 4)) * [1.0, 10.0, 0.1, 1.0] + [0.0, 5.0, 0.0, -1.0]
    y = (X @ [0.5, 0.05, -3.0, 0.2] + rng.logistic(size=n) > 0).astype(float)
    full = Objective(Binomial(), X, y, np.ones(n), 2, True)
    exact = fitting.fit_objective(full, "newton", 1e-10, 100)
    monkeypatch.setattr(objective_module, "HESSIAN_SAMPLE_ROWS", (2000, 2000))
    sampled_objective = Objective(Binomial(), X, y, np.ones(n), 2, True)
    assert hessian_samples.hessian_objective(sampled_objective).n <= 2000
    sampled = fitting.fit_objective(sampled_objective, "newton", 1e-10, 100)
    assert exact.converged and sampled.converged
    assert sampled.objective_value == pytest.approx(exact.objective_value, rel=1e-14)
    np.testing.assert_allclose(sampled.params, exact.params, rtol=1e-7, atol=1e-8)
