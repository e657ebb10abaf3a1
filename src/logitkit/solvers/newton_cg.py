"""Truncated Newton (Newton-CG): preconditioned conjugate gradients on the Newton system.

For many parameters (wide X, many classes), where a p x p Hessian costs far more than a
pass over X: each Hessian-vector product is one pass over X, over the rows' eta-space
Hessians kept by the pass that computed the gradient (``problem.curvature``). CG is
preconditioned by the Hessian's blocks per eta column (dense from a row sample when that
costs at most a few passes, else their diagonals), plus a coarse term for all classes
moving together. Each Newton system is solved to a relative residual of
min(0.5, sqrt(|g|)) (Eisenstat-Walker's superlinear choice; no tighter than needed to
bring the gradient to a tenth of tol), the step is
backtracked to Armijo's condition, and the stopping test is Newton's: max |gradient| in
solver coordinates at most tol. Like Newton with a sampled Hessian (and L-BFGS), the fit
stops there, without Newton's polishing step: a tightly solved system would cost a
Hessian-vector product per CG iteration (multinomial K=50 50k x 20: 7 products and a
pass, a quarter of the fit; K=10 100k x 50: 9 of 21 products), for digits of the
coefficients beyond tol (the objectives of the suite's K=10 and K=50 fits equal the
polished ones' to 8e-16 and 0 relative).
"""

from __future__ import annotations

import numpy as np

from logitkit.solvers.report import SolverReport

# the preconditioner's dense blocks come from every k-th row, a quarter of the rows within
# these bounds (multinomial K=50 50k x 20 and K=10 100k x 50: blocks from 2,000 / 5,000 /
# 10,000 rows took 24 / 18 / 18 and 29 / 21 / 20 Hessian-vector products; 5,000 was the
# fastest in both)
PRECONDITIONER_ROWS = (2_000, 5_000)
# dense blocks when forming them costs at most this many Hessian-vector passes
DENSE_BLOCK_PASSES = 4.0


def _grad_max(grad) -> float:
    return float(np.max(np.abs(grad))) if grad.size else 0.0


def _preconditioner(problem, curvature):
    """P^-1 as a function: dense blocks from a row sample when cheap, else diagonals."""
    ob = problem.objective
    step = max(1, ob.n // int(np.clip(ob.n // 4, *PRECONDITIONER_ROWS)))
    sample = -(-ob.n // step)
    n_blocks = ob.m + int(ob.m > 1)
    block_cost = sample * (ob.d1 + (ob.q if ob.m == 1 else 0)) ** 2 * n_blocks
    pass_cost = 2.0 * ob.n * ob.d1 * ob.m
    return curvature.preconditioner(block_cost <= DENSE_BLOCK_PASSES * pass_cost, step)


def conjugate_gradient(times, grad, precondition, rtol: float, max_iter: int):
    """Approximately solve H x = -grad by preconditioned CG from x = 0.

    Stops when ||r|| <= rtol ||grad||, after ``max_iter`` products, or at a direction of
    non-positive curvature (then returns the iterate so far, or the preconditioned
    steepest descent direction if there is none). Returns (x, number of products).
    """
    x = np.zeros_like(grad)
    r = -grad
    z = precondition(r)
    direction = z.copy()
    rz = float(r @ z)
    target = rtol * float(np.linalg.norm(grad))
    for k in range(max_iter):
        Hd = times(direction)
        curvature = float(direction @ Hd)
        if not curvature > 0:
            return (x if k else z), k + 1
        step = rz / curvature
        x += step * direction
        r -= step * Hd
        if float(np.linalg.norm(r)) <= target:
            return x, k + 1
        z = precondition(r)
        rz_new = float(r @ z)
        direction = z + (rz_new / rz) * direction
        rz = rz_new
    return x, max_iter


def newton_cg(problem, s0, tol: float, max_iter: int) -> SolverReport:
    """Minimise ``problem`` from ``s0`` until max |gradient| <= tol."""
    s = np.array(s0, dtype=float)
    value, grad, curvature = problem.curvature(s)
    new_curvature = None
    cg_limit = max(20, min(problem.n_params, 250))
    history, it, products = [], 0, 0
    converged, reason = False, "maximum number of iterations reached"
    precision = 1e3 * problem.eps
    while True:
        grad_max = _grad_max(grad)
        history.append({"iteration": it, "objective": value, "grad_max": grad_max,
                        "hessian_products": products})
        if grad_max <= tol:
            converged, reason = True, "gradient below tol"
            break
        if it == max_iter:
            break
        # Eisenstat-Walker's superlinear forcing term, but no tighter than the step needs
        # to bring max |gradient| to a tenth of tol
        rtol = min(0.5, max(np.sqrt(np.linalg.norm(grad)), 0.1 * tol / grad_max))
        step, used = conjugate_gradient(curvature.times, grad,
                                        _preconditioner(problem, curvature), rtol, cg_limit)
        products += used
        # (the kept rows are freed before a trial point keeps its own)
        curvature = new_curvature = None
        decrement = -float(grad @ step)
        if decrement <= precision * max(1.0, abs(value)):
            # where the objective, computed at the data's precision, can no longer show a
            # decrease: keep the full step only if the value does not rise beyond rounding
            # and the gradient shrinks
            new_value, new_grad, new_curvature = problem.curvature(s + step)
            if (new_value <= value + precision * max(1.0, abs(value))
                    and _grad_max(new_grad) < grad_max):
                s, value, grad, curvature = s + step, new_value, new_grad, new_curvature
                it += 1
                continue
            converged, reason = True, "no further progress at machine precision"
            break
        t, accepted = 1.0, False
        for _ in range(40):
            new_value, new_grad, new_curvature = problem.curvature(s + t * step)
            if new_value <= value - 1e-4 * t * decrement:
                accepted = True
                break
            new_curvature = None
            t *= 0.5
        if not accepted:
            reason = "line search failed"
            break
        s, value, grad, curvature, it = s + t * step, new_value, new_grad, new_curvature, it + 1
    history[-1]["hessian_products"] = products
    return SolverReport(s, value, _grad_max(grad), it, converged, reason, history)
