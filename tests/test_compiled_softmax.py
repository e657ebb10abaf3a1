"""The fused, compiled multinomial pass (logitkit.solvers.compiled_softmax) against the
NumPy pass it replaces: the same loss, gradient and least row loss to rounding (float64
X; float32 X to the NumPy pass's float32 rounding of eta), both forms, weights with
zeros, with and without intercepts, extreme predictors; the same fits (Stata's mlogit
on anes96 is reproduced by tests/test_inference.py through it); every other X and
family stays on NumPy."""

import numpy as np
import pytest

import logitkit as lk
from compiled_checks import assert_same_terms
from logitkit.families import Binomial, Multinomial
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop, compiled_softmax

pytest.importorskip("numba")


def _objective(full, n_classes, intercept, dtype=np.float64, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(3_000, 9)) * scale).astype(dtype)
    y = rng.integers(0, n_classes, 3_000).astype(np.int8)
    w = rng.choice([0.0, 0.5, 1.0, 3.0], size=3_000)
    return Objective(Multinomial(full), X, y, w, n_classes, intercept, alpha=1e-3)


def _terms(objective, theta, order, enabled, monkeypatch):
    monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
    assert compiled_softmax.applies(objective, order) == enabled
    loss, grad, _ = objective.loss_terms(theta, order)
    return loss, grad, objective._least_losses[-1][1]


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3, 11])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("extreme", [False, True])
def test_pass_equals_numpy(full, n_classes, intercept, extreme, monkeypatch):
    ob = _objective(full, n_classes, intercept, seed=n_classes, scale=300.0 if extreme else 1)
    theta = np.random.default_rng(n_classes).normal(size=ob.n_params) * 0.5
    for order in (0, 1):
        assert_same_terms(_terms(ob, theta, order, True, monkeypatch),
                          _terms(ob, theta, order, False, monkeypatch), ob.n_params,
                          least_rtol=1e-10, grad_rtol=1e-11, grad_atol=1e-9)


def test_float32_pass_is_float64_arithmetic(monkeypatch):
    """float32 X's entries are converted as they are read: the compiled pass equals the
    NumPy pass over the same X in float64 (which the float32 NumPy pass rounds)."""
    ob = _objective(False, 4, True, dtype=np.float32)
    wide = Objective(Multinomial(), ob.X.astype(np.float64), ob.y, ob.w, 4, True, alpha=1e-3)
    theta = np.random.default_rng(1).normal(size=ob.n_params)
    loss, grad, _ = _terms(ob, theta, 1, True, monkeypatch)
    loss0, grad0, _ = _terms(wide, theta, 1, False, monkeypatch)
    np.testing.assert_allclose(loss, loss0, rtol=1e-12)
    np.testing.assert_allclose(grad, grad0, rtol=1e-10, atol=1e-9 * np.abs(grad0).max())


def test_the_gate_keeps_other_passes_on_numpy():
    ob = _objective(False, 3, True)
    assert compiled_softmax.applies(ob, 1) and not compiled_softmax.applies(ob, 2)
    column_order = Objective(Multinomial(), np.asfortranarray(ob.X), ob.y, ob.w, 3, True)
    binary = Objective(Binomial(), ob.X, (ob.y > 0).astype(float), ob.w, 2, True)
    offset = Objective(Multinomial(), ob.X, ob.y, ob.w, 3, True, offset=np.zeros((3_000, 2)))
    assert not any(compiled_softmax.applies(o, 1) for o in (column_order, binary, offset))


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_fits_equal_the_numpy_fits(alpha, monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 12))
    y = np.argmax(X @ rng.normal(size=(12, 4)) + rng.gumbel(size=(20_000, 4)), axis=1)
    fitted = lk.LogisticRegression(alpha=alpha, tol=1e-10).fit(X, y)
    monkeypatch.setattr(compiled_loop, "ENABLED", False)
    expected = lk.LogisticRegression(alpha=alpha, tol=1e-10).fit(X, y)
    assert fitted.n_iter_ == expected.n_iter_ and fitted.n_passes_ == expected.n_passes_
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fitted.intercept_, expected.intercept_, rtol=1e-9, atol=1e-11)
