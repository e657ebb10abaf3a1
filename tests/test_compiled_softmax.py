"""The fused, compiled multinomial pass (logitkit.solvers.compiled_softmax) against the
NumPy pass it replaces: the same loss, gradient and least row loss to rounding (float64
X; float32 X to the NumPy pass's float32 rounding of eta), both forms, weights with
zeros, with and without intercepts, extreme predictors; the same fits (Stata's mlogit
on anes96 is reproduced by tests/test_inference.py through it); every other X and
family stays on NumPy."""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from compiled_checks import assert_same_terms
from logitkit import curvature as curvature_module
from logitkit.families import Binomial, Multinomial
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop, compiled_softmax

pytest.importorskip("numba")


def _objective(full, n_classes, intercept, dtype=np.float64, seed=0, scale=1.0, order="C"):
    rng = np.random.default_rng(seed)
    X = np.asarray((rng.normal(size=(3_000, 9)) * scale).astype(dtype), order=order)
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
@pytest.mark.parametrize("order", ["C", "F"])  # (F: X in column order, the column loop)
def test_pass_equals_numpy(full, n_classes, intercept, extreme, order, monkeypatch):
    ob = _objective(full, n_classes, intercept, seed=n_classes, scale=300.0 if extreme else 1,
                    order=order)
    theta = np.random.default_rng(n_classes).normal(size=ob.n_params) * 0.5
    for order in (0, 1):
        assert_same_terms(_terms(ob, theta, order, True, monkeypatch),
                          _terms(ob, theta, order, False, monkeypatch), ob.n_params,
                          least_rtol=1e-10, grad_rtol=1e-11, grad_atol=1e-9)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("n_classes", [2, 5, 11])
def test_row_and_column_loops_give_the_same_bits(full, n_classes):
    """The row loop (X in C order) and the column loop (the same X in column order) sum
    the same row losses in the same order: loss and least loss equal to the last bit
    (the logits' dot products may add in another order: K=11 differs there), gradients to
    rounding; the row loop's kept factors are the rows' w p. 3,001 rows: partial blocks
    and a partial group of four rows."""
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(3_001, 7))
    y = rng.integers(0, n_classes, 3_001)
    w = rng.choice([0.0, 0.5, 1.0, 3.0], size=3_001)
    m = n_classes if full else n_classes - 1
    W, c = rng.normal(size=(m, 7)) * 0.7, rng.normal(size=m)
    kept = np.empty((3_001, m))
    rows = compiled_softmax.softmax_terms(X, y, w, W, c, not full, 1, kept)
    columns = compiled_softmax.softmax_terms(np.asfortranarray(X), y, w, W, c, not full, 1)
    assert rows[0] == pytest.approx(columns[0], rel=4e-16)
    assert rows[1] == pytest.approx(columns[1], rel=4e-16)
    np.testing.assert_allclose(rows[2], columns[2], rtol=1e-13, atol=1e-12)
    logits = X @ W.T + c
    full_logits = logits if full else np.column_stack([np.zeros(3_001), logits])
    P = np.exp(full_logits - full_logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(kept, (w[:, None] * P)[:, 0 if full else 1:], rtol=1e-13,
                               atol=1e-15)


@pytest.mark.parametrize("order", ["C", "F"])
def test_float32_pass_is_float64_arithmetic(order, monkeypatch):
    """float32 X's entries are converted as they are read: the compiled pass equals the
    NumPy pass over the same X in float64 (which the float32 NumPy pass rounds)."""
    ob = _objective(False, 4, True, dtype=np.float32, order=order)
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
    assert compiled_softmax.applies(column_order, 1)  # (the column loop)
    strided = Objective(Multinomial(), np.asfortranarray(ob.X)[::2], ob.y[::2], ob.w[::2], 3,
                        True)
    binary = Objective(Binomial(), ob.X, (ob.y > 0).astype(float), ob.w, 2, True)
    offset = Objective(Multinomial(), ob.X, ob.y, ob.w, 3, True, offset=np.zeros((3_000, 2)))
    assert not any(compiled_softmax.applies(o, 1) for o in (strided, binary, offset))
    # truncated Newton's products: recomputed for many classes and float64 X only, from
    # kept factors in the row loop otherwise
    path = compiled_softmax.curvature_path
    assert path(ob, "float32") == path(ob, "float64") == "rows"
    assert path(ob, "recompute") is None
    many = _objective(False, 20, True)
    assert path(many, "recompute") == "blas" and path(many, "float64") is None
    single = _objective(False, 20, True, np.float32)
    assert path(single, "recompute") is None and path(single, "float32") == "rows"
    assert path(column_order, "float64") is None


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
@pytest.mark.parametrize("frame", [False, True])  # (a DataFrame: X in column order)
def test_fits_equal_the_numpy_fits(alpha, frame, monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 12))
    y = np.argmax(X @ rng.normal(size=(12, 4)) + rng.gumbel(size=(20_000, 4)), axis=1)
    if frame:
        X = pd.DataFrame(X, columns=[f"x{j}" for j in range(12)])
    fitted = lk.LogisticRegression(alpha=alpha, tol=1e-10).fit(X, y)
    monkeypatch.setattr(compiled_loop, "ENABLED", False)
    expected = lk.LogisticRegression(alpha=alpha, tol=1e-10).fit(X, y)
    assert fitted.n_iter_ == expected.n_iter_ and fitted.n_passes_ == expected.n_passes_
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fitted.intercept_, expected.intercept_, rtol=1e-9, atol=1e-11)


def _curvature(ob, theta, monkeypatch, compiled, share, mode):
    """``ob``'s :class:`RowCurvature` at ``theta`` with the compiled passes on or off and
    KEPT_SHARE ``share``; checks it took ``mode`` and ``compiled``."""
    monkeypatch.setattr(compiled_loop, "ENABLED", compiled is not None)
    monkeypatch.setattr(curvature_module, "KEPT_SHARE", share)
    value, grad, rows = ob.curvature(theta)
    assert (rows.mode, rows.compiled) == (mode, compiled)
    return value, grad, rows


# (eta columns, KEPT_SHARE, mode, compiled path): 9 columns of float64 X, 72 bytes a row,
# against factors of 8 (m + 1) bytes a row
PATHS = [(20, 0.125, "recompute", "blas"), (20, 0.125, "recompute", None),
         (20, 1e6, "float64", None), (4, 1e6, "float64", "rows"),
         (4, 0.3, "float32", "rows"), (4, 1e6, "float64", None), (4, 0.125, "recompute", None)]


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("n_classes", [4, 20])
def test_compiled_hessian_products_equal_numpy(full, intercept, n_classes, monkeypatch):
    """Truncated Newton's passes, compiled ("blas": many classes, recomputed; "rows":
    factors kept by the value pass, in float64 or float32) and NumPy: the same value and
    gradient as :meth:`Objective.evaluate`, Hessian-vector products equal to the dense
    Hessian's, and the same preconditioner blocks and diagonals from row samples (merged
    recomputed blocks, or kept ones)."""
    ob = _objective(full, n_classes, intercept, seed=4)
    theta = np.random.default_rng(4).normal(size=ob.n_params) * 0.3
    dense = ob.evaluate(theta, 2)[2]
    value, grad, _ = ob.evaluate(theta, 1)
    m = n_classes - (not full)
    passes = [_curvature(ob, theta, monkeypatch, compiled, share, mode)
              for columns, share, mode, compiled in PATHS if columns - 1 <= m <= columns]
    reference = passes[-1][2]  # (NumPy, the factors kept in float64 or recomputed)
    for v in np.random.default_rng(5).normal(size=(3, ob.n_params)):
        expected = dense @ v
        for value_m, grad_m, rows in passes:
            np.testing.assert_allclose(value_m, value, rtol=1e-12)
            np.testing.assert_allclose(grad_m, grad, rtol=1e-10, atol=1e-12)
            rtol = 1e-6 if rows.mode == "float32" else 1e-9
            np.testing.assert_allclose(rows.times(v), expected, rtol=rtol,
                                       atol=rtol * 1e-2 * np.abs(expected).max())
    for step in (1, 3, 7):
        blocks = reference.class_blocks(step)
        diagonals = reference.class_diagonals(step)[0]
        for _, _, rows in passes:
            rtol = 1e-6 if rows.mode == "float32" else 1e-10
            for got, want in zip(rows.class_blocks(step), blocks, strict=True):
                np.testing.assert_allclose(got, want, rtol=rtol,
                                           atol=max(1e-14, rtol * np.abs(want).max(initial=0)))
            # (the full form's all-classes block is 0 up to its penalty: float32 factors
            # leave their rounding there)
            np.testing.assert_allclose(rows.class_diagonals(step)[0], diagonals, rtol=rtol,
                                       atol=max(1e-12, rtol) * diagonals.max())


@pytest.mark.parametrize("n_classes,d", [(20, 8), (6, 30)])  # "blas"; "rows", float32
def test_newton_cg_fits_equal_the_numpy_fits(n_classes, d, monkeypatch):
    """Newton-CG fits with compiled passes and products (K=20: recomputed; K=6: factors
    kept in float32): the NumPy fit's iterations, passes and coefficients."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(20_000, d))
    y = np.argmax(X @ rng.normal(size=(d, n_classes)) + rng.gumbel(size=(20_000, n_classes)),
                  axis=1)
    kernel = "hessian_times" if n_classes == 20 else "kept_hessian_times"
    calls, product = [], getattr(compiled_softmax, kernel)
    monkeypatch.setattr(compiled_softmax, kernel, lambda *a: calls.append(1) or product(*a))
    fitted = lk.LogisticRegression(solver="newton-cg", alpha=1e-4).fit(X, y)
    assert fitted.result_.report.converged and calls
    monkeypatch.setattr(compiled_loop, "ENABLED", False)
    expected = lk.LogisticRegression(solver="newton-cg", alpha=1e-4).fit(X, y)
    assert fitted.n_iter_ == expected.n_iter_ and fitted.n_passes_ == expected.n_passes_
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-7, atol=1e-9)
