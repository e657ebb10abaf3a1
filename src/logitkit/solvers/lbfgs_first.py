"""L-BFGS first, truncated Newton where it is slow: what ``solver="auto"`` runs for many
parameters and one linear predictor (binary and ordinal fits above 1000 parameters).

On well-conditioned wide data L-BFGS needs few iterations of one pass over X each, where
Newton-CG's Hessian-vector products cost passes of their own (binary 20,000 x 2000,
alpha 1e-3, i.i.d. columns: 18 iterations, 20 passes, against Newton-CG's 29.5 passes of
which 21 products). Where its progress says it would need more than
:data:`LBFGS_BUDGET` iterations (correlated columns; sparse X with few rows for its
columns), truncated Newton takes over from its last point.
"""

from __future__ import annotations

from dataclasses import replace

from logitkit.solvers.lbfgs import HISTORY, lbfgs
from logitkit.solvers.newton_cg import newton_cg
from logitkit.solvers.report import SolverReport

# L-BFGS keeps going while its rate of progress says it reaches tol within this many
# iterations
LBFGS_BUDGET = 60
# ... and is tried only while its history takes at most this share of X's bytes (a
# 100k x 50k CSR of 10^-3 density, text-like: the history would be 0.56x X's 43 MB; tried,
# L-BFGS gave up and the fit took 0.586 s against Newton-CG's 0.486 s, with 44.7 MiB of
# extra memory against 16.5)
MEMORY_SHARE = 1 / 8


def suits(objective, n_params: int) -> bool:
    """Whether L-BFGS's history for ``n_params`` parameters is small next to X."""
    x_bytes = objective.n * objective.row_width * objective.X.dtype.itemsize
    return 2 * HISTORY * n_params * 8 <= MEMORY_SHARE * x_bytes


def lbfgs_first(problem, s0, tol: float, max_iter: int) -> SolverReport:
    """Minimise ``problem`` from ``s0`` until max |gradient| <= tol: L-BFGS, then
    Newton-CG from where it stopped if it gave up (``max_iter`` counts both). L-BFGS stops
    at tol, without Newton's polishing step (which here would cost a Hessian-vector
    product per CG iteration): the objective is then within about 1e-10 relative of the
    optimum (binary 600 x 1100, alpha 1e-3: 3.7e-11 above Newton-CG's; the suite's wide
    case, 2.7e-14)."""
    first = lbfgs(problem, s0, tol, max_iter, budget=LBFGS_BUDGET)
    if first.converged or first.n_iter >= max_iter:
        return replace(first, solver="lbfgs")
    rest = newton_cg(problem, first.params, tol, max_iter - first.n_iter)
    history = first.history + [{**step, "iteration": step["iteration"] + first.n_iter}
                               for step in rest.history]
    return replace(rest, n_iter=first.n_iter + rest.n_iter, history=history,
                   solver="lbfgs, then newton-cg")
