"""What a solver hands back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SolverReport:
    """params: solver coordinates at the end; history: one dict per iteration."""

    params: np.ndarray
    value: float
    grad_max: float
    n_iter: int
    converged: bool
    reason: str
    history: list = field(default_factory=list)
