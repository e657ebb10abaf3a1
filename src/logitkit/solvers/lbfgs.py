"""Limited-memory BFGS (SciPy's L-BFGS-B) for problems whose Hessian is too large."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from logitkit.solvers.report import SolverReport

# a budgeted run judges its rate of progress over this many iterations
_RATE_WINDOW = 5
# the (step, gradient change) pairs L-BFGS keeps: 2 * HISTORY vectors of the parameters
HISTORY = 30


def lbfgs(problem, s0, tol: float, max_iter: int, budget: int | None = None) -> SolverReport:
    """Minimise ``problem`` from ``s0`` until max |gradient| <= tol. With a ``budget`` (of
    iterations), stop early, unconverged, once the geometric rate at which the smallest
    max |gradient| so far fell over the last _RATE_WINDOW iterations says that reaching
    tol would take more iterations than that (for a hand-over to another solver)."""
    history, last, best = [], {}, []

    def fun(s):
        value, grad, _ = problem.evaluate(s, 1)
        last.update(s=s.copy(), value=value, grad=grad)
        return value, grad

    def record(intermediate_result):
        grad_max = _grad_max(last["grad"])
        history.append({"iteration": len(history) + 1, "objective": intermediate_result.fun,
                        "grad_max": grad_max})
        best.append(min(grad_max, best[-1]) if best else grad_max)
        if budget is not None and _too_slow(best, tol, budget):
            raise StopIteration

    result = minimize(
        fun,
        np.asarray(s0, dtype=float),
        jac=True,
        method="L-BFGS-B",
        callback=record,
        options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": HISTORY},
    )
    if "s" in last and np.array_equal(last["s"], result.x):
        value, grad = last["value"], last["grad"]  # (no pass to re-evaluate the end point)
    else:
        value, grad, _ = problem.evaluate(result.x, 1)
    grad_max = _grad_max(grad)
    # L-BFGS-B also stops when the objective no longer decreases in floating point; that
    # counts as converged when the gradient is within a factor of 100 of tol
    stalled = "REDUCTION OF F" in str(result.message)
    converged = grad_max <= tol or (stalled and grad_max <= 100 * tol)
    if grad_max <= tol:
        reason = "gradient below tol"
    elif converged:
        reason = "no further decrease possible at machine precision"
    elif "StopIteration" in str(result.message):
        reason = f"progress too slow to reach tol within {budget} iterations"
    else:
        reason = str(result.message)
    return SolverReport(result.x, float(value), grad_max, int(result.nit), converged, reason,
                        history)


def _grad_max(grad) -> float:
    return float(np.max(np.abs(grad))) if grad.size else 0.0


def _too_slow(best: list, tol: float, budget: int) -> bool:
    """Whether the smallest max |gradient| after each iteration (``best``, non-increasing)
    is falling too slowly to reach ``tol`` within ``budget`` iterations."""
    if len(best) <= _RATE_WINDOW or best[-1] <= tol:
        return False
    ratio = best[-1] / best[-1 - _RATE_WINDOW]
    if ratio >= 1.0:
        return True  # no progress over the window
    iterations_left = _RATE_WINDOW * np.log(tol / best[-1]) / np.log(ratio)
    return bool(len(best) + iterations_left > budget)
