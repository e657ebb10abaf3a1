"""Row samples that Newton takes its curvature from: the values and gradients stay exact,
the Hessian may come from every k-th row, and a sample that misrepresents the curvature
gives way to denser ones, all rows last."""

from __future__ import annotations

import numpy as np

from logitkit.objective import HESSIAN_DENSER, Objective, hessian_sample_step

# below this many parameters a Hessian pass costs little more than a gradient pass (3M x
# 10: 1.6x), so the rows are sampled only when the sample is at most 1/_FEW_PARAMS_STEP
# of them: there the saving outweighs the linear convergence of a sampled Hessian (binary
# 900k x 10, one thread, best of 3 interleaved: 2.52 s, 6 iterations, sampled, against
# 3.19 s, 4 iterations of full Hessians)
_MIN_SAMPLED_PARAMS = 50
_FEW_PARAMS_STEP = 8


def hessian_objective(objective: Objective) -> Objective:
    """The objective Newton takes curvature from: itself, or every k-th row (evenly
    spaced rows also represent data sorted by class: :func:`hessian_sample`), k from
    :func:`~logitkit.objective.hessian_sample_step` (gradients stay exact)."""
    step = hessian_step(objective.n, objective.n_params)
    return objective if step == 1 else hessian_sample(objective, step)


def hessian_sample(objective: Objective, step: int) -> Objective:
    """The objective over every ``step``-th row: a view of X in row order (no copy), a
    C-order copy of the rows of a NumPy X in column order (a DataFrame's block), whose
    strided view made the Hessian passes' products slow (500k x 100 in column order, one
    thread: the fit 0.58 s over the view, 0.44 s over the copy, 0.37 s for X in row
    order)."""
    rows = slice(0, None, step)
    if isinstance(objective.X, np.ndarray) and not objective.X.flags.c_contiguous:
        return objective.subset(rows, contiguous=True)
    return objective.subset(rows)


def denser_hessian_objectives(objective: Objective, step: int):
    """The Hessian objectives Newton moves to when the sample of every ``step``-th row
    misrepresents the curvature (:func:`~logitkit.solvers.newton.newton`): every
    (step / HESSIAN_DENSER)-th row, ..., all rows last (none when step is 1)."""
    while step > 1:
        step //= HESSIAN_DENSER
        if step < 2:
            step = 1
        yield objective if step == 1 else hessian_sample(objective, step)


def hessian_step(n_rows: int, n_params: int) -> int:
    """The k of :func:`hessian_objective`'s every-k-th-row sample (1: all rows)."""
    step = hessian_sample_step(n_rows, n_params)
    return 1 if step < (2 if n_params >= _MIN_SAMPLED_PARAMS else _FEW_PARAMS_STEP) else step
