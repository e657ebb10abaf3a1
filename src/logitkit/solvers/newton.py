"""Newton's method: Cholesky on the equilibrated Hessian, Armijo backtracking.

Equilibration (D H D with D = diag(H)^-1/2) makes the solve insensitive to how the
parameters are scaled. A Hessian that is not positive definite (collinear columns)
falls back to a minimum-norm step through its eigen-decomposition.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

from logitkit.solvers.report import SolverReport

_EPS = np.finfo(float).eps


def newton_step(grad: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray, bool]:
    """Solve hess @ step = -grad; returns (step, hessian_was_singular)."""
    diag = np.sqrt(np.maximum(np.diag(hess), 0.0))
    scale = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 1.0)
    H = hess * scale[:, None] * scale[None, :]
    g = grad * scale
    try:
        factor = la.cho_factor(H, lower=True, check_finite=False)
        step = la.cho_solve(factor, -g, check_finite=False)
        if np.all(np.isfinite(step)):
            return step * scale, False
    except la.LinAlgError:
        pass
    evals, evecs = np.linalg.eigh(H)
    keep = evals > evals.max() * 1e3 * _EPS * len(evals)
    step = -evecs[:, keep] @ ((evecs[:, keep].T @ g) / evals[keep])
    return step * scale, True


def newton(problem, s0, tol: float, max_iter: int) -> SolverReport:
    """Minimise ``problem`` from ``s0`` until max |gradient| <= tol."""
    s = np.array(s0, dtype=float)
    history = []
    reason = "maximum number of iterations reached"
    converged = False
    value, grad, hess = problem.evaluate(s, 2)
    singular = False
    for it in range(1, max_iter + 1):
        grad_max = float(np.max(np.abs(grad))) if grad.size else 0.0
        history.append({"iteration": it - 1, "objective": value, "grad_max": grad_max})
        if grad_max <= tol:
            converged, reason, it = True, "gradient below tol", it - 1
            break
        step, was_singular = newton_step(grad, hess)
        singular |= was_singular
        decrement = -float(grad @ step)
        floor = 1e3 * _EPS * max(1.0, abs(value))
        if decrement <= floor:
            # the objective can no longer show a decrease: trust the full Newton step
            # while it still shrinks the gradient
            trial = s + step
            new_value, new_grad, new_hess = problem.evaluate(trial, 2)
            if np.max(np.abs(new_grad)) >= grad_max:
                converged, reason, it = True, "no further progress at machine precision", it - 1
                break
            s, value, grad, hess = trial, new_value, new_grad, new_hess
            continue
        t, accepted = 1.0, False
        for _ in range(40):
            trial = s + t * step
            if problem.value(trial) <= value - 1e-4 * t * decrement:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            reason, it = "line search failed", it - 1
            break
        s = trial
        value, grad, hess = problem.evaluate(s, 2)
    else:
        it = max_iter
    grad_max = float(np.max(np.abs(grad))) if grad.size else 0.0
    if singular:
        reason += "; the Hessian was singular (collinear or constant columns)"
    return SolverReport(s, value, grad_max, it, converged, reason, history)
