"""Newton-CG's rows' curvature kept in float64, in float32, or recomputed per block: the
same Hessian-vector products and preconditioner blocks, the same optimum, and extra memory
a fraction of X."""

import tracemalloc

import numpy as np
import pytest

import logitkit.fitting as fitting
from family_cases import FAMILIES, IDS, small_problem
from logitkit import curvature as curvature_module
from logitkit import objective as objective_module
from logitkit.families import Multinomial
from logitkit.objective import Objective
from logitkit.parametrization import SolverProblem
from logitkit.solvers import SOLVERS

MODES = ["float64", "float32", "recompute"]


def force_mode(monkeypatch, mode, ob, theta):
    """Set KEPT_SHARE so that RowCurvature picks ``mode`` for ``ob``."""
    monkeypatch.setattr(curvature_module, "KEPT_SHARE", 1e9)
    kept = ob.curvature(theta)[2].kept[0]
    per_row = sum(f.nbytes for f in kept[1:] if f is not None) / (kept[0].stop - kept[0].start)
    ratio = per_row * ob.n / (ob.n * ob.d * ob.X.dtype.itemsize)
    share = {"float64": 1e9, "float32": 0.75 * ratio, "recompute": 1e-12}[mode]
    monkeypatch.setattr(curvature_module, "KEPT_SHARE", share)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,make,n_classes,fit_intercept", FAMILIES, ids=IDS)
def test_every_mode_gives_the_hessian_products_and_blocks(name, make, n_classes,
                                                         fit_intercept, mode, monkeypatch):
    monkeypatch.setattr(objective_module, "_BLOCK_BYTES", 2048)  # several row blocks
    rng = np.random.default_rng(21)
    ob, theta = small_problem(make(), n_classes, fit_intercept, 0.05, rng)
    reference = ob.curvature(theta)[2]  # (the small problem keeps nothing by default)
    force_mode(monkeypatch, "float64", ob, theta)
    blocks64 = ob.curvature(theta)[2].class_blocks(3)
    force_mode(monkeypatch, mode, ob, theta)
    value, grad, rows = ob.curvature(theta)
    assert rows.mode == mode and len(rows.kept) > 1
    assert reference.mode == "recompute"
    assert value == pytest.approx(ob.evaluate(theta, 0)[0], rel=1e-14)
    H = ob.evaluate(theta, 2)[2]
    # float32 factors: products to their precision, block sums over rows to 1e-5
    rtol, atol = (1e-5, 1e-7) if mode == "float32" else (1e-10, 1e-13)
    for _ in range(3):
        v = rng.normal(size=ob.n_params)
        np.testing.assert_allclose(rows.times(v), H @ v, rtol=rtol, atol=atol)
    for mine, full in zip(rows.class_blocks(3), blocks64, strict=True):
        np.testing.assert_allclose(mine, full, rtol=rtol, atol=atol)
    diagonals = rows.class_diagonals(3)[0]
    np.testing.assert_allclose(diagonals, np.diagonal(blocks64[0], axis1=1, axis2=2),
                               rtol=rtol, atol=atol)


def _multinomial(n, d, k, rng, signal=2.0):
    X = rng.normal(size=(n, d)) * np.logspace(-1, 1, d) + 0.5
    B = rng.normal(size=(d, k)) * signal / np.sqrt(d) / np.logspace(-1, 1, d)[:, None]
    y = np.argmax((X - 0.5) @ B + rng.gumbel(size=(n, k)), axis=1)
    return X, y, rng.uniform(0.5, 2.0, size=n)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n_classes,alpha", [(3, 0.0), (50, 1e-4)], ids=["K3", "K50"])
def test_every_mode_reaches_the_newton_optimum(n_classes, alpha, mode, monkeypatch):
    rng = np.random.default_rng(22)
    X, y, w = _multinomial(1500 if n_classes > 3 else 3000, 6, n_classes, rng)
    ob = Objective(Multinomial(), X, y, w, n_classes, True, alpha=alpha)
    newton = fitting.fit_objective(ob, "newton", 1e-8, 100)
    force_mode(monkeypatch, mode, ob, newton.params)
    cg = fitting.fit_objective(ob, "newton-cg", 1e-8, 100)
    assert newton.converged and cg.converged, cg.report.reason
    assert cg.objective_value == pytest.approx(newton.objective_value, rel=1e-13)
    np.testing.assert_allclose(cg.params, newton.params, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n_classes,d,mode", [(3, 50, "float64"), (10, 50, "float32"),
                                              (50, 20, "recompute")])
def test_the_kept_curvature_fits_an_eighth_of_x(n_classes, d, mode):
    """(K - 1) + 1 floats a row against d: float64 when within X / 8, float32 when that
    fits, else recomputed."""
    rng = np.random.default_rng(23)
    X, y, w = _multinomial(2000, d, n_classes, rng)
    ob = Objective(Multinomial(), X, y, w, n_classes, True, alpha=1e-4)
    rows = ob.curvature(fitting.null_parameters(ob))[2]
    assert rows.mode == mode
    kept = sum(f.nbytes for block in rows.kept for f in block[1:] if f is not None)
    assert kept <= curvature_module.KEPT_SHARE * X.nbytes


@pytest.mark.parametrize("n,n_classes,d", [(20_000, 20, 20), (10_000, 10, 50)])
def test_newton_cg_extra_memory_is_a_quarter_of_x(n, n_classes, d):
    """The whole solver (kept rows, block temporaries, preconditioner, line search) on a
    few MB of X: its peak beyond what was allocated before stays within X / 4 (K=20: the
    rows' curvature is recomputed; K=10: kept in float32)."""
    rng = np.random.default_rng(24)
    X, y, w = _multinomial(n, d, n_classes, rng)
    ob = Objective(Multinomial(), X, y, w, n_classes, True, alpha=1e-4)
    problem = SolverProblem(ob)
    start = problem.from_natural(fitting.null_parameters(ob))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        # (a loose tol: the same passes and blocks, fewer of them under tracemalloc)
        report = SOLVERS["newton-cg"](problem, start, 1e-5, 100)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert report.converged, report.reason
    assert peak <= 0.25 * X.nbytes, peak / X.nbytes
    assert report.history[-1]["hessian_products"] > 0
