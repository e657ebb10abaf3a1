"""The objectives that proximal Newton's working-set models are built from.

A model needs X's working-set columns over a row sample (:meth:`Objective.columns`). For
a NumPy X those columns are gathered into one column-major copy that only grows: a
column is copied once, when it first enters a working set, and the fits of a
regularisation path share the copy. Gathering a column from a row-major X reads a cache
line per sampled row, about what reading every column costs, so copying the working set
anew at each change had cost a pass over X each time (100k x 200 elastic-net path of 100
alphas, one thread: 175 copies, 6.5 s of 28 s). The model then spans every copied
column (a superset of the working set; the others are coordinates at 0 that may enter).
Other designs (sparse, categorical, tensors) get a fresh column subset per set.
"""

from __future__ import annotations

import numpy as np

from logitkit.design import column_subset
from logitkit.objective import Objective, hessian_sample_step


def sample_step(n_rows: int, n_params: int, denser: int = 1) -> int:
    """Every how many rows the model's Hessian takes: Newton's rule
    (:func:`~logitkit.objective.hessian_sample_step`) with ``denser`` times the rows,
    1 below a step of 2."""
    step = hessian_sample_step(n_rows, n_params) // denser
    return step if step >= 2 else 1


class WorkingColumns:
    """Working-set models of the objectives over one X (one per fit, or one per path)."""

    def __init__(self):
        self.source = self.step = self.data = None
        self.cols = np.zeros(0, dtype=np.intp)
        self.key, self.model = None, None
        self.version = 0  # changes whenever the model's columns or rows do
        self.sampled = False  # whether the last model's rows were a sample

    def model_for(self, ob: Objective, cols, n_aux: int, denser: int = 1):
        """(model objective, its columns (k,) in X): the objective ``ob`` over a row
        sample and the columns ``cols`` (or, for a NumPy X, every column copied so
        far, ``cols`` among them); ``n_aux`` unpenalised parameters besides the slopes
        size the sample, ``denser`` times the rows of :func:`sample_step`'s."""
        model, cols = self._model(ob, cols, n_aux, denser)
        self.sampled = model.n < ob.n
        return model, cols

    def _model(self, ob: Objective, cols, n_aux: int, denser: int):
        if not isinstance(ob.X, np.ndarray):
            step = sample_step(ob.n, ob.m * len(cols) + n_aux, denser)
            key = (id(ob), step, cols.tobytes())
            if key != self.key:
                self.key, self.model = key, None  # free the old copy first
                self.model = ob.columns(cols, step)
                self.version += 1
            return self.model, cols
        step = sample_step(ob.n, ob.m * max(len(cols), len(self.cols)) + n_aux, denser)
        if ob.X is not self.source or step != self.step:
            self.source, self.step, self.data = ob.X, step, None
            self.cols = np.zeros(0, dtype=np.intp)
            self.version += 1
        self._add(ob, cols)
        return ob.with_design(self.data[:, : len(self.cols)], self.cols, step), self.cols

    def _add(self, ob: Objective, cols) -> None:
        """Copy the columns of ``cols`` not yet here (column-major, capacity doubling)."""
        new = cols[~np.isin(cols, self.cols)]
        if not len(new):
            return
        k = len(self.cols)
        if self.data is None or self.data.shape[1] < k + len(new):
            capacity = min(ob.d, max(2 * (k + len(new)), 64))
            grown = np.empty((-(-ob.n // self.step), capacity), dtype=ob.X.dtype, order="F")
            if k:
                grown[:, :k] = self.data[:, :k]
            self.data = grown
        self.data[:, k:k + len(new)] = column_subset(ob.X[:: self.step], new)
        self.cols = np.concatenate([self.cols, new])
        self.version += 1
