"""Penalties on the slopes: alpha * sum_j f_j (l1_ratio * |B_j| + (1 - l1_ratio) / 2 * B_j^2).

f = ``penalty_factor`` ((d,) >= 0, default ones; 0 leaves column j unpenalised), used as
given (glmnet rescales its penalty.factor to sum to d; logitkit does not). Intercepts and
cut points are never penalised (the glmnet convention). The smooth (L2) part is
:class:`L2Penalty`, part of the objective every solver sees; the L1 part is
:class:`L1Penalty`, which only the proximal solver (:mod:`logitkit.solvers.prox_newton`)
handles.
"""

from __future__ import annotations

import copy

import numpy as np

from logitkit.backends import like


def check_penalty_factor(penalty_factor, n_features: int):
    """(d,) float64 factors from ``penalty_factor`` (None: None, i.e. all ones), or a
    ValueError saying what is wrong."""
    if penalty_factor is None:
        return None
    f = np.asarray(penalty_factor, dtype=float)
    if f.shape != (n_features,):
        raise ValueError(f"penalty_factor must have one entry per feature ({n_features}, "
                         f"after encoding), got shape {f.shape}")
    if not np.all(np.isfinite(f) & (f >= 0)):
        raise ValueError("penalty_factor must be finite and >= 0 (0 leaves a column "
                         "unpenalised)")
    return None if np.all(f == 1) else f


class L2Penalty:
    """alpha/2 * sum_j f_j B[:, j]' G B[:, j] on slopes B (m, d).

    G is the family's slope Gram (identity for one column; I - 11'/K for the
    baseline-category multinomial, which equals the ridge of the symmetric form);
    ``factor``: (d,) f, or None for ones.
    Acts on the objective's coefficient matrix W (m, d1) whose first d columns are slopes.
    """

    def __init__(self, alpha: float, gram: np.ndarray, n_slopes: int, factor=None):
        self.alpha = float(alpha)
        self.gram = gram
        self.n_slopes = n_slopes
        self.factor = None if factor is None else np.asarray(factor, dtype=float)
        # the identity (one column, or the full softmax): no Gram product per step
        self.identity = bool(np.array_equal(np.asarray(gram), np.eye(len(gram))))

    def slope_weights(self) -> np.ndarray:
        """(d,) alpha * f_j: the ridge's weight on each slope column."""
        ones = np.ones(self.n_slopes)
        return self.alpha * (ones if self.factor is None else self.factor)

    def _weighted(self, B):
        return B if self.factor is None else B * self.factor

    def value(self, W):
        B = W[:, : self.n_slopes]
        return 0.5 * self.alpha * float((self.gram_times(B) * self._weighted(B)).sum())

    def gradient(self, W):
        grad = np.zeros_like(W)
        grad[:, : self.n_slopes] = self.alpha * self._weighted(
            self.gram_times(W[:, : self.n_slopes]))
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
        added = np.asarray(self.gram, dtype=float)[:, :, None] * self.slope_weights()
        if not isinstance(hess, np.ndarray):
            index, added = like(index, hess), like(added, hess)
        hess[index[:, None, :], index[None, :, :]] += added


class L1Penalty:
    """alpha * sum_j f_j * (sum_k |B[k, j]|, or ||B[:, j]||_2 when ``grouped``) on slopes
    B (m, d): the non-smooth part, which the proximal solver handles (the objective
    never sees it). ``factor``: (d,) f, or None for ones."""

    def __init__(self, alpha: float, n_slopes: int, factor=None, grouped: bool = False):
        self.alpha = float(alpha)
        self.n_slopes = n_slopes
        self.factor = None if factor is None else np.asarray(factor, dtype=float)
        self.grouped = bool(grouped)

    def weights(self) -> np.ndarray:
        """(d,) alpha * f_j: the L1 weight of each slope column."""
        ones = np.ones(self.n_slopes)
        return self.alpha * (ones if self.factor is None else self.factor)

    def value(self, B, weights=None) -> float:
        """The penalty at slopes B (m, d); ``weights`` (d,) replace :meth:`weights` (an
        infinite weight keeps a column at 0 and adds nothing there)."""
        weights = self.weights() if weights is None else weights
        sizes = np.sqrt((B * B).sum(axis=0)) if self.grouped else np.abs(B).sum(axis=0)
        moved = sizes > 0
        return float(np.sum(weights[moved] * sizes[moved]))

    def violations(self, B, G, weights=None) -> np.ndarray:
        """(d,) the largest violation of the optimality (KKT) conditions in each column,
        B (m, d) the slopes and G (m, d) the gradient of the smooth part there: at a
        non-zero coefficient |G + w sign(B)|, at a zero one max(|G| - w, 0) (grouped: the
        same with a column's Euclidean norms and B / ||B||)."""
        w = self.weights() if weights is None else weights
        if self.grouped:
            size = np.sqrt((B * B).sum(axis=0))
            unit = B / np.where(size > 0, size, 1.0)
            moved = np.sqrt(((G + np.where(np.isfinite(w), w, 0.0) * unit) ** 2).sum(axis=0))
            free = np.maximum(np.sqrt((G * G).sum(axis=0)) - w, 0.0)
            return np.where(size > 0, moved, free)
        moved = np.abs(G + np.where(np.isfinite(w), w, 0.0) * np.sign(B))
        return np.where(B != 0, moved, np.maximum(np.abs(G) - w, 0.0)).max(axis=0, initial=0.0)
