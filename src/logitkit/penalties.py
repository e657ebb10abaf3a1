"""Penalties on the slopes: alpha * (l1_ratio * ||B||_1 + (1 - l1_ratio) / 2 * ||B||_2^2).

Intercepts and cut points are never penalised (the glmnet convention). Only the smooth
(L2) part lives here; an L1 part needs a proximal solver and is refused at the
estimator boundary until one exists.
"""

from __future__ import annotations

import copy

import numpy as np

from logitkit.backends import like


class L2Penalty:
    """alpha/2 * sum_j B[:, j]' G B[:, j] on slopes B (m, d).

    G is the family's slope Gram (identity for one column; I - 11'/K for the
    baseline-category multinomial, which equals the ridge of the symmetric form).
    Acts on the objective's coefficient matrix W (m, d1) whose first d columns are slopes.
    """

    def __init__(self, alpha: float, gram: np.ndarray, n_slopes: int):
        self.alpha = float(alpha)
        self.gram = gram
        self.n_slopes = n_slopes
        # the identity (one column, or the full softmax): no Gram product per step
        self.identity = bool(np.array_equal(np.asarray(gram), np.eye(len(gram))))

    def value(self, W):
        B = W[:, : self.n_slopes]
        return 0.5 * self.alpha * float((self.gram_times(B) * B).sum())

    def gradient(self, W):
        grad = np.zeros_like(W)
        grad[:, : self.n_slopes] = self.alpha * self.gram_times(W[:, : self.n_slopes])
        return grad

    def gram_times(self, B):
        """G @ B for slopes B (m, d): NumPy, or a tensor where a ``like`` penalty's Gram
        lives."""
        return B if self.identity else self.gram @ B

    def like(self, X) -> L2Penalty:
        """The same penalty with its Gram where X lives (for a device loop)."""
        twin = copy.copy(self)
        twin.gram = like(self.gram, X)
        return twin

    def add_hessian(self, hess, n_cols: int):
        """Add the Hessian over W.ravel() (W of shape (m, n_cols), row-major) to the
        leading (m*n_cols, m*n_cols) block of ``hess`` (NumPy, or a tensor where it
        lives), in place: alpha * G[k, l] at entries (k*n_cols + j, l*n_cols + j) for the
        slopes j."""
        index = np.arange(len(self.gram))[:, None] * n_cols + np.arange(self.n_slopes)
        added = self.alpha * np.asarray(self.gram, dtype=float)[:, :, None]
        if not isinstance(hess, np.ndarray):
            index, added = like(index, hess), like(added, hess)
        hess[index[:, None, :], index[None, :, :]] += added
