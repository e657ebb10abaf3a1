"""The objective as solvers see it: a well-conditioned, unconstrained parametrisation.

Solver coordinates s map to natural parameters theta in two steps:

1. a fixed linear map v = T s that folds feature scaling and centring into the
   algebra (DESIGN.md rule 4): slope j is s_j / scale_j, and the intercepts (or the
   ordinal cut points) absorb the column means, so no scaled copy of X is ever made;
2. for ordinal cut points, theta_1 = v_1 and theta_j = theta_{j-1} + exp(v_j), which
   keeps them increasing whatever the solver does.

Gradients and Hessians follow by the chain rule; all of it is on p-vectors and
p x p matrices, never on n-sized data.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve_triangular

from logitkit.backends import device, to_numpy
from logitkit.objective import Objective

# rows used to estimate the column scales: they only precondition, so a sample will do
_MOMENT_ROWS = 10_000


def column_moments(objective: Objective, center: bool):
    """Weighted column means (zeros if not ``center``) and scales of X, from every k-th
    row (1000 to ``_MOMENT_ROWS`` of them); the map is exact whatever the values."""
    xp = objective.xp
    rows = min(objective.n, max(1000, min(_MOMENT_ROWS, objective.n // 32)))
    step = max(1, objective.n // rows)
    X = xp.astype(objective.X[::step], xp.float64)
    w = xp.astype(objective.w[::step], xp.float64)
    total = float(to_numpy(xp.sum(w)))
    if total <= 0:
        w, total = xp.ones_like(w), float(X.shape[0])
    means = to_numpy(w @ X) / total if center else np.zeros(objective.d)
    X -= xp.asarray(means, dtype=xp.float64, device=device(X))
    X *= X
    scales = np.sqrt(to_numpy(w @ X) / total)
    tiny = 1e-12 * np.maximum(1.0, np.abs(means))
    scales[~(scales > tiny)] = 1.0
    return means, scales


def _coordinate_map(objective: Objective, means, scales) -> sparse.csr_array:
    """The sparse lower-triangular (p, p) T of v = T s: 1 / scale_j on each slope j, 1 on
    intercepts and aux; an intercept's row holds -mean_j / scale_j at its slopes, the
    first cut point's +mean_j / scale_j (theta = theta_centred + mean'b, m == 1)."""
    ob = objective
    diagonal = np.ones(ob.n_params)
    slope = (np.arange(ob.m)[:, None] * ob.d1 + np.arange(ob.d)).ravel()
    diagonal[slope] = np.tile(1.0 / scales, ob.m)
    rows, cols, values = [np.arange(ob.n_params)], [np.arange(ob.n_params)], [diagonal]
    shift = means / scales
    for k in range(ob.m if ob.fit_intercept else 0):
        rows.append(np.full(ob.d, k * ob.d1 + ob.d))
        cols.append(k * ob.d1 + np.arange(ob.d))
        values.append(-shift)
    if ob.q:
        rows.append(np.full(ob.d, ob.m * ob.d1))
        cols.append(np.arange(ob.d))
        values.append(shift)
    entries = (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols)))
    return sparse.coo_array(entries, shape=(ob.n_params, ob.n_params)).tocsr()


class SolverProblem:
    """Value, gradient and Hessian of an :class:`Objective` in solver coordinates s.

    ``hessian_objective`` (default: the objective itself) supplies the curvature: Newton
    may take it from a row subsample while values and gradients stay exact.
    ``free``: (p,) bool, the natural parameters the solver moves (default: all); the
    others stay at zero (the slopes of aliased columns), so s has ``free.sum()`` entries.
    """

    def __init__(self, objective: Objective, hessian_objective: Objective | None = None,
                 free: np.ndarray | None = None):
        self.objective = objective
        self.hessian_objective = hessian_objective or objective
        ob = objective
        self.free = np.ones(ob.n_params, dtype=bool) if free is None else np.asarray(free)
        self.n_params = int(self.free.sum())
        center = ob.fit_intercept or ob.q > 0
        self.means, self.scales = column_moments(ob, center)
        # T is a diagonal plus one row of shifts per intercept: sparse products keep
        # every map O(p^2) (dense p x p products cost seconds at p ~ 1000 on some BLAS);
        # the columns of fixed parameters are dropped (T: (p, n_params))
        T = _coordinate_map(ob, self.means, self.scales)
        self.T_sparse = T[:, self.free].tocsr()
        self.Tt_sparse = self.T_sparse.T.tocsr()
        # the square lower-triangular system that from_natural solves
        self.T_free = T[self.free][:, self.free].tocsr()
        self.n_aux_start = ob.m * ob.d1
        self.last_hessian = None  # (theta, natural mean Hessian) of the full objective
        # relative precision of values computed from X (float32 data: float32 products)
        self.eps = float(np.finfo(str(ob.X.dtype).replace("torch.", "")).eps)
        # a Hessian (~ n_h p^2 / 2 flops) worth more than 16 gradients (~ 4 n p flops each)
        self.expensive_hessian = self.hessian_objective.n * self.n_params > 32 * ob.n
        # Newton may keep a Hessian over several steps when it is expensive or sampled (a
        # sample's error already limits each step to a linear rate)
        self.reuse_hessian = self.expensive_hessian or self.hessian_objective is not ob

    # -- coordinate maps --------------------------------------------------------------
    def _cuts_from_increments(self, v_aux):
        if v_aux.size == 0:
            return v_aux
        return np.cumsum(np.concatenate([v_aux[:1], np.exp(v_aux[1:])]))

    def to_natural(self, s):
        v = self.T_sparse @ s
        i = self.n_aux_start
        return np.concatenate([v[:i], self._cuts_from_increments(v[i:])])

    def from_natural(self, theta):
        theta = np.asarray(theta, dtype=float)
        i = self.n_aux_start
        aux = theta[i:]
        if aux.size:
            gaps = np.maximum(np.diff(aux), 1e-8)
            aux = np.concatenate([aux[:1], np.log(gaps)])
        # T is lower triangular (intercepts and the first cut point follow the slopes)
        v = np.concatenate([theta[:i], aux])[self.free]
        return spsolve_triangular(self.T_free, v, lower=True)

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, s, order: int):
        """(value, grad (p,), hess (p, p)) in solver coordinates; None beyond ``order``."""
        return self._evaluate(self.objective, s, order)

    def hessian(self, s):
        """(p, p) Hessian in solver coordinates from the Hessian objective."""
        return self._evaluate(self.hessian_objective, s, 2)[2]

    def value(self, s):
        return self.evaluate(s, 0)[0]

    def _evaluate(self, objective, s, order):
        v = self.T_sparse @ s
        theta = self.to_natural(s)
        value, grad, hess = objective.evaluate(theta, order)
        if order == 0:
            return value, None, None
        if hess is not None and objective is self.objective:
            self.last_hessian = (theta, hess)
        i = self.n_aux_start
        q = objective.n_params - i
        if q >= 2:  # cut points from exp increments: the Jacobian J touches aux only
            inc = np.exp(v[i + 1 :])
            J = np.zeros((q, q))
            J[:, 0] = 1.0
            J[:, 1:] = np.tril(np.ones((q, q)))[:, 1:] * inc
            grad_v = np.concatenate([grad[:i], J.T @ grad[i:]])
            if order >= 2:
                hess = hess.copy()
                hess[i:, :] = J.T @ hess[i:, :]
                hess[:, i:] = hess[:, i:] @ J
                # d2 theta_j / d v_m^2 = exp(v_m) for 1 <= m <= j
                curvature = inc * np.cumsum(grad[i:][::-1])[::-1][1:]
                hess[i + 1:, i + 1:] += np.diag(curvature)
        else:
            grad_v = grad
        grad_s = self.Tt_sparse @ grad_v
        if order == 1:
            return value, grad_s, None
        # T' H T as T' (T' H)', H symmetric; the sparse product is twice as fast on a
        # C-ordered copy of (T' H)' as on the transposed view (909 x 909: 2.4 vs 5.2 ms)
        return value, grad_s, self.Tt_sparse @ np.ascontiguousarray((self.Tt_sparse @ hess).T)
