"""What a solver hands back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SolverReport:
    """params: solver coordinates at the end (natural parameters for prox-newton);
    history: one dict per iteration; kkt_violation: the largest violation of the
    optimality conditions of a penalised fit, in the units of the gradient of the mean
    loss (prox-newton only; None for the smooth solvers, whose grad_max is in standardised
    coordinates); gradient: prox-newton's natural gradient of the smooth part at params
    (a path's strong rule uses it); solver: the solvers that ran, when not just the one
    named (see :mod:`logitkit.solvers.lbfgs_first`)."""

    params: np.ndarray
    value: float
    grad_max: float
    n_iter: int
    converged: bool
    reason: str
    history: list = field(default_factory=list)
    kkt_violation: float | None = None
    gradient: np.ndarray | None = field(default=None, repr=False)
    solver: str | None = None
