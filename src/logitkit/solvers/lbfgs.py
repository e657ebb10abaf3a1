"""Limited-memory BFGS (SciPy's L-BFGS-B) for problems whose Hessian is too large."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from logitkit.solvers.report import SolverReport


def lbfgs(problem, s0, tol: float, max_iter: int) -> SolverReport:
    """Minimise ``problem`` from ``s0`` until max |gradient| <= tol."""
    history = []

    def fun(s):
        value, grad, _ = problem.evaluate(s, 1)
        return value, grad

    def record(intermediate_result):
        history.append({"iteration": len(history) + 1, "objective": intermediate_result.fun})

    result = minimize(
        fun,
        np.asarray(s0, dtype=float),
        jac=True,
        method="L-BFGS-B",
        callback=record,
        options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 30},
    )
    value, grad, _ = problem.evaluate(result.x, 1)
    grad_max = float(np.max(np.abs(grad))) if grad.size else 0.0
    # L-BFGS-B also stops when the objective no longer decreases in floating point; that
    # counts as converged when the gradient is within a factor of 100 of tol
    stalled = "REDUCTION OF F" in str(result.message)
    converged = grad_max <= tol or (stalled and grad_max <= 100 * tol)
    if grad_max <= tol:
        reason = "gradient below tol"
    elif converged:
        reason = "no further decrease possible at machine precision"
    else:
        reason = str(result.message)
    return SolverReport(result.x, float(value), grad_max, int(result.nit), converged, reason,
                        history)
