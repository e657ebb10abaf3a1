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
from logitkit import curvature as curvature_module
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
@pytest.mark.parametrize("n_classes", [2, 3, 11, 20])  # (20: the BLAS products)
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
    # Hessian-vector products: many classes and float64 X only
    assert not compiled_softmax.hessian_applies(ob)
    assert compiled_softmax.hessian_applies(_objective(False, 20, True))
    assert not compiled_softmax.hessian_applies(_objective(False, 20, True, np.float32))
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


def _curvature(ob, theta, monkeypatch, mode):
    """The :class:`RowCurvature` of ``ob`` at ``theta`` in ``mode``: "compiled", "recompute"
    (NumPy) or "float64" (the factors kept)."""
    monkeypatch.setattr(compiled_loop, "ENABLED", mode == "compiled")
    monkeypatch.setattr(curvature_module, "KEPT_SHARE", 1e6 if mode == "float64" else 0.125)
    value, grad, rows = ob.curvature(theta)
    assert rows.mode == mode
    return value, grad, rows


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
def test_compiled_hessian_products_equal_numpy(full, intercept, monkeypatch):
    """Many classes (K=20): the compiled Hessian-vector products equal the NumPy passes'
    (recomputed and kept factors) and the dense Hessian's; the value and gradient of the
    curvature pass are :meth:`Objective.evaluate`'s; the preconditioner's sampled blocks
    (from merged recomputed blocks) equal those of the kept blocks."""
    ob = _objective(full, 20, intercept, seed=4)
    theta = np.random.default_rng(4).normal(size=ob.n_params) * 0.3
    dense = ob.evaluate(theta, 2)[2]
    passes = {mode: _curvature(ob, theta, monkeypatch, mode)
              for mode in ("compiled", "recompute", "float64")}
    value, grad, _ = ob.evaluate(theta, 1)
    rng = np.random.default_rng(5)
    for v in rng.normal(size=(3, ob.n_params)):
        expected = dense @ v
        for value_m, grad_m, rows in passes.values():
            np.testing.assert_allclose(value_m, value, rtol=1e-12)
            np.testing.assert_allclose(grad_m, grad, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(rows.times(v), expected, rtol=1e-9,
                                       atol=1e-11 * np.abs(expected).max())
    for step in (1, 3, 7):
        kept = passes["float64"][2].class_blocks(step)
        for mode in ("compiled", "recompute"):
            for got, want in zip(passes[mode][2].class_blocks(step), kept, strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
        diagonals = passes["float64"][2].class_diagonals(step)[0]
        np.testing.assert_allclose(passes["compiled"][2].class_diagonals(step)[0], diagonals,
                                   rtol=1e-10, atol=1e-12 * diagonals.max())


def test_many_class_fits_equal_the_numpy_fits(monkeypatch):
    """A K=20 Newton-CG fit with compiled passes and products: the NumPy fit's iterations,
    passes and coefficients."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(20_000, 8))
    y = np.argmax(X @ rng.normal(size=(8, 20)) + rng.gumbel(size=(20_000, 20)), axis=1)
    fitted = lk.LogisticRegression(solver="newton-cg", alpha=1e-4).fit(X, y)
    assert fitted.result_.report.converged
    monkeypatch.setattr(compiled_loop, "ENABLED", False)
    expected = lk.LogisticRegression(solver="newton-cg", alpha=1e-4).fit(X, y)
    assert fitted.n_iter_ == expected.n_iter_ and fitted.n_passes_ == expected.n_passes_
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-7, atol=1e-9)
