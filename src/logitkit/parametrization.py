"""The objective as solvers see it: a well-conditioned, unconstrained parametrisation.

Solver coordinates s map to natural parameters theta in two steps:

1. a fixed linear map v = T s that folds feature scaling and centring into the
   algebra (DESIGN.md rule 4): slope j is s_j / scale_j, and the intercepts (or the
   ordinal cut points) absorb the column means, so no scaled copy of X is ever made;
2. for ordinal cut points, theta_1 = v_1 and theta_j = theta_{j-1} + exp(v_j), which
   keeps them increasing whatever the solver does.

Gradients and Hessians follow by the chain rule; all of it is on p-vectors and
p x p matrices, never on n-sized data. With X a torch tensor and many parameters,
Hessians stay where X lives (float64) and are mapped there by dense products with T; the
solver factorises them there (a p x p Cholesky on the host cost a GPU fit more than its
passes over X).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve_triangular

from logitkit.backends import device, like, to_numpy
from logitkit.backends.namespace import is_torch_array
from logitkit.design import is_design
from logitkit.objective import Objective

# rows used to estimate the column scales: they only precondition, so a sample will do
_MOMENT_ROWS = 10_000
# Hessians stay where a tensor X lives from this many parameters (H200, 10M x 100 float32,
# interleaved, best of 5: K=10 multinomial, 909 parameters, 0.139 s there against 0.293 s
# with the algebra on the host; binary and ordinal fits of 101 and 103 parameters 3% and 6%
# slower there, the latency of small factorisations on the device)
DEVICE_ALGEBRA_MIN_PARAMS = 200


def column_moments(objective: Objective, center: bool):
    """Weighted column means (zeros if not ``center``) and scales of X, from every k-th
    row (500 to ``_MOMENT_ROWS`` of them); the map is exact whatever the values."""
    xp = objective.xp
    X, w = objective.sample_rows(moment_step(objective.n))
    w = xp.astype(w, xp.float64)
    total = float(to_numpy(xp.sum(w)))
    if total <= 0:
        w, total = xp.ones_like(w), float(X.shape[0])
    if is_design(X):
        return _design_moments(X, w, total, center)
    X = xp.astype(X, xp.float64)
    means = to_numpy(w @ X) / total if center else np.zeros(objective.d)
    X -= xp.asarray(means, dtype=xp.float64, device=device(X))
    X *= X
    scales = np.sqrt(to_numpy(w @ X) / total)
    return means, _fixed_scales(scales, means)


def moment_step(n: int) -> int:
    """The step k of the every-k-th-row sample of :func:`column_moments` for n rows."""
    return max(1, n // min(n, max(500, min(_MOMENT_ROWS, n // 32))))


def _design_moments(X, w, total: float, center: bool):
    """column_moments of a row sample X of a structured design: its means from V X, its
    centred squares from the design (no dense copy of X)."""
    means = (w @ X) / total if center else np.zeros(X.shape[1])
    squares = X.centred_square_sums(np.asarray(w, dtype=np.float64), means)
    return means, _fixed_scales(np.sqrt(squares / total), means)


def _fixed_scales(scales, means):
    """The scales, with 1 for columns that (nearly) do not vary."""
    tiny = 1e-12 * np.maximum(1.0, np.abs(means))
    scales[~(scales > tiny)] = 1.0
    return scales


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
    ``polish``: whether Newton takes its polishing step once converged (a warm start's
    sample fit does not: its optimum is only within sampling error of the full one).
    ``denser``: an iterator of ever denser Hessian objectives (row samples, all rows
    last) that :meth:`densify_hessian` moves to. ``moments``: X's (means, scales) from
    :func:`column_moments`, if known.
    """

    def __init__(self, objective: Objective, hessian_objective: Objective | None = None,
                 free: np.ndarray | None = None, polish: bool = True, denser=None,
                 moments=None):
        self.objective = objective
        self.polish = polish
        self.hessian_objective = hessian_objective or objective
        self._denser = iter(()) if denser is None else denser
        ob = objective
        self.free = np.ones(ob.n_params, dtype=bool) if free is None else np.asarray(free)
        self.n_params = int(self.free.sum())
        center = ob.fit_intercept or ob.q > 0
        self.means, self.scales = column_moments(ob, center) if moments is None else moments
        # T is a diagonal plus one row of shifts per intercept: sparse products keep
        # every map O(p^2) (dense p x p products cost seconds at p ~ 1000 on some BLAS);
        # the columns of fixed parameters are dropped (T: (p, n_params))
        T = _coordinate_map(ob, self.means, self.scales)
        self.T_sparse = T[:, self.free].tocsr()
        self.Tt_sparse = self.T_sparse.T.tocsr()
        # the square lower-triangular system that from_natural solves
        self.T_free = T[self.free][:, self.free].tocsr()
        # its inverse in closed form: T = D + L with L's entries only in intercept and
        # cut-point rows, at slope columns (whose rows have none), so L D^-1 L = 0 and
        # T^-1 = D^-1 - D^-1 L D^-1, with T's own sparsity
        inverse_diagonal = sparse.diags_array(1.0 / self.T_free.diagonal())
        off = self.T_free - sparse.diags_array(self.T_free.diagonal())
        self.T_inverse = (inverse_diagonal - inverse_diagonal @ off @ inverse_diagonal).tocsr()
        self.n_aux_start = ob.m * ob.d1
        # Hessians where X lives: T as a dense (p, n_params) array there
        here = is_torch_array(ob.X) and self.n_params >= DEVICE_ALGEBRA_MIN_PARAMS
        self.T_here = like(self.T_sparse.toarray(), ob.X) if here else None
        self.last_hessian = None  # (theta, natural mean Hessian) of the full objective
        # relative precision of values computed from X (float32 data: float32 products)
        self.eps = float(np.finfo(str(ob.X.dtype).replace("torch.", "")).eps)
        self._curvature_costs()

    def _curvature_costs(self) -> None:
        ob = self.objective
        # a Hessian (~ n_h p^2 / 2 flops) worth more than 16 gradients (~ 4 n p flops each)
        self.expensive_hessian = self.hessian_objective.n * self.n_params > 32 * ob.n
        # Newton may keep a Hessian over several steps when it is expensive or sampled (a
        # sample's error already limits each step to a linear rate)
        self.reuse_hessian = self.expensive_hessian or self.hessian_objective is not ob

    def densify_hessian(self) -> bool:
        """Take later Hessians from the next denser Hessian objective (``denser``);
        False when there is none (all rows already)."""
        denser = next(self._denser, None)
        if denser is None:
            return False
        self.hessian_objective = denser
        self._curvature_costs()
        return True

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
        """(p, p) Hessian in solver coordinates from the Hessian objective (NumPy, or a
        float64 tensor where X lives)."""
        return self._evaluate(self.hessian_objective, s, 2)[2]

    def evaluate_with_hessian(self, s):
        """(value, grad, hessian) at ``s`` for a Newton step from it: value and gradient as
        :meth:`evaluate`'s, ``hessian()`` the Hessian of :meth:`hessian` at ``s``. Its pass
        joins this one where it can: a Hessian from all rows refreshed every step
        (not ``reuse_hessian``) comes from the same order-2 pass; otherwise the objective
        decides (:meth:`Objective.evaluate_with`: one graph on Dask, a pass when
        ``hessian()`` is called in memory)."""
        if self.hessian_objective is self.objective and not self.reuse_hessian:
            value, grad, hess = self.evaluate(s, 2)
            return value, grad, lambda: hess
        theta = self.to_natural(s)
        value, grad, later = self.objective.evaluate_with(theta, self.hessian_objective,
                                                          host_hessian=self.T_here is None)
        value, grad, _ = self._to_solver(self.objective, s, theta, 1, value, grad, None)

        def hessian():
            return self._to_solver(self.hessian_objective, s, theta, 2, *later())[2]

        return value, grad, hessian

    def value(self, s):
        return self.evaluate(s, 0)[0]

    def curvature(self, s):
        """(value, grad (n_params,), :class:`SolverCurvature`) at ``s`` in one pass over X:
        the objective, its gradient in solver coordinates, and its Hessian as an operator."""
        theta = self.to_natural(s)
        value, grad, rows = self.objective.curvature(theta)
        operator = SolverCurvature(self, self.T_sparse @ s, grad, rows)
        return value, operator.to_solver(grad), operator

    def _evaluate(self, objective, s, order):
        theta = self.to_natural(s)
        result = objective.evaluate(theta, order, host_hessian=self.T_here is None)
        return self._to_solver(objective, s, theta, order, *result)

    def _to_solver(self, objective, s, theta, order, value, grad, hess):
        """``objective``'s (value, grad, hess) at ``theta`` = to_natural(s) in solver
        coordinates."""
        v = self.T_sparse @ s
        host = self.T_here is None
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
                # d2 theta_j / d v_m^2 = exp(v_m) for 1 <= m <= j
                curvature = np.diag(inc * np.cumsum(grad[i:][::-1])[::-1][1:])
                if not host:
                    J, curvature = like(J, hess), like(curvature, hess)
                hess = hess.copy() if host else hess.clone()
                hess[i:, :] = J.T @ hess[i:, :]
                hess[:, i:] = hess[:, i:] @ J
                hess[i + 1:, i + 1:] += curvature
        else:
            grad_v = grad
        grad_s = self.Tt_sparse @ grad_v
        if order == 1:
            return value, grad_s, None
        if not host:
            return value, grad_s, self.T_here.T @ hess @ self.T_here
        # T' H T as T' (T' H)', H symmetric; the sparse product is twice as fast on a
        # C-ordered copy of (T' H)' as on the transposed view (909 x 909: 2.4 vs 5.2 ms)
        return value, grad_s, self.Tt_sparse @ np.ascontiguousarray((self.Tt_sparse @ hess).T)


class SolverCurvature:
    """The Hessian in solver coordinates at one point, as an operator (products with X
    over the rows' kept eta-space Hessians, see :class:`~logitkit.curvature.RowCurvature`).

    With J = d theta / d s = A T (A: the cut points' Jacobian of their exp increments,
    identity elsewhere), H_s = J' H J + the second-order term of the increments
    (diagonal, and zero at the optimum, where the gradient vanishes).
    """

    def __init__(self, problem: SolverProblem, v, natural_grad, rows):
        self.problem, self.rows = problem, rows
        i = problem.n_aux_start
        self.i = i
        self.inc = np.exp(v[i + 1:])
        grad_aux = natural_grad[i:]
        # d2 theta_j / d v_m^2 = exp(v_m) for 1 <= m <= j
        self.second = self.inc * np.cumsum(grad_aux[::-1])[::-1][1:] if grad_aux.size else None

    # -- the aux Jacobian A: theta_aux = cumsum([v_0, exp(v_1), ...]) ----------------------
    def _jacobian(self, u):
        out = u.copy()
        if out.size > self.i:
            out[self.i:] = np.cumsum(np.concatenate([u[self.i:self.i + 1],
                                                     self.inc * u[self.i + 1:]]))
        return out

    def _jacobian_t(self, g):
        out = g.copy()
        if out.size > self.i:
            tail = np.cumsum(g[self.i:][::-1])[::-1]
            out[self.i:] = np.concatenate([tail[:1], self.inc * tail[1:]])
        return out

    def _jacobian_inv(self, t):
        out = t.copy()
        if out.size > self.i:
            out[self.i + 1:] = np.diff(t[self.i:]) / self.inc
        return out

    def _jacobian_inv_t(self, g):
        out = g.copy()
        if out.size > self.i:
            scaled = np.concatenate([g[self.i:self.i + 1], g[self.i + 1:] / self.inc])
            out[self.i:] = scaled - np.concatenate([scaled[1:], [0.0]])
        return out

    def to_solver(self, natural_grad):
        """A natural gradient as the gradient in solver coordinates."""
        return self.problem.Tt_sparse @ self._jacobian_t(natural_grad)

    def times(self, x):
        """(n_params,) H_s x: one pass over X."""
        u = self.problem.T_sparse @ x
        out = self._jacobian_t(self.rows.times(self._jacobian(u)))
        if self.second is not None:
            out[self.i + 1:] += self.second * u[self.i + 1:]
        return self.problem.Tt_sparse @ out

    def preconditioner(self, dense: bool, step: int = 1):
        """A function r -> P^-1 r with P = J' M J, M the natural Hessian's blocks (per eta
        column, cut points with the single column; all columns moving together added as a
        coarse correction), or only their diagonals (not ``dense``), from every ``step``-th
        row."""
        natural = BlockInverse(self.problem, self.rows, dense, step)
        free, T_inverse = self.problem.free, self.problem.T_inverse

        def apply(r):
            y = np.zeros(len(free))
            y[free] = T_inverse.T @ r
            z = self._jacobian_inv(natural.apply(self._jacobian_inv_t(y)))
            return T_inverse @ z[free]

        return apply


class BlockInverse:
    """M^-1 for M the natural Hessian's blocks: per eta column k its slopes and intercept
    (with a single column also the cut points), and with several columns an additive
    coarse term for all columns moving together (1 (x) C^-1 sum_k r_k, which restores
    the base class's curvature that the per-column blocks leave out)."""

    def __init__(self, problem: SolverProblem, rows, dense: bool, step: int):
        ob = problem.objective
        self.m, self.d1, self.q = ob.m, ob.d1, ob.q
        free_W = problem.free[: ob.m * ob.d1].reshape(ob.m, ob.d1)[0]
        self.dense = dense
        joint = ob.m == 1 and ob.q > 0
        if dense:
            blocks, cross, aux = rows.class_blocks(step)
            if joint:  # one block over [slopes, intercept, cut points]
                size = self.d1 + self.q
                full = np.zeros((1, size, size))
                full[0, : self.d1, : self.d1] = blocks[0]
                full[0, : self.d1, self.d1:] = cross[0]
                full[0, self.d1:, : self.d1] = cross[0].T
                full[0, self.d1:, self.d1:] = aux
                blocks, aux_free = full, np.concatenate([free_W, np.ones(self.q, bool)])
            else:
                aux_free = free_W
            self.inverse = _inverse_blocks(blocks, aux_free)
            self.aux_inverse = None if joint or not self.q else _inverse_blocks(
                aux[None], np.ones(self.q, bool))[0]
        else:
            diagonals, aux_diagonal = rows.class_diagonals(step)
            keep = np.concatenate([free_W, np.ones(self.q, bool)]) if joint else free_W
            if joint:
                diagonals = np.concatenate([diagonals, aux_diagonal[None]], axis=1)
            self.inverse = np.where(keep & (diagonals > 0), 1.0 / np.where(
                diagonals > 0, diagonals, 1.0), 0.0)
            self.aux_inverse = None if joint or not self.q else np.where(
                aux_diagonal > 0, 1.0 / np.where(aux_diagonal > 0, aux_diagonal, 1.0), 0.0)
        self.joint = joint

    def _apply(self, inverse, r):
        return inverse @ r if self.dense else inverse * r

    def apply(self, r):
        """M^-1 r for a natural (p,) vector r (zero at fixed parameters)."""
        m, d1 = self.m, self.d1
        if self.joint:
            return self._apply(self.inverse[0], r)
        R = r[: m * d1].reshape(m, d1)
        if self.dense:
            Z = np.einsum("kij,kj->ki", self.inverse[:m], R)
        else:
            Z = self.inverse[:m] * R
        if len(self.inverse) > m:  # the coarse term
            Z += self._apply(self.inverse[m], R.sum(axis=0))[None, :]
        out = np.concatenate([Z.ravel(), r[m * d1:]])
        if self.aux_inverse is not None:
            out[m * d1:] = self._apply(self.aux_inverse, r[m * d1:])
        return out


def _inverse_blocks(blocks, free):
    """(nb, k, k) inverses of symmetric positive semi-definite blocks, zero at the rows
    and columns not ``free`` ((k,) bool); eigenvalues below 1e-10 of a block's largest
    are treated as that floor (a preconditioner needs no more)."""
    blocks = blocks * (free[:, None] & free[None, :])
    blocks[:, ~free, ~free] = 1.0
    evals, evecs = np.linalg.eigh(blocks)
    floor = 1e-10 * np.maximum(evals[:, -1:], np.finfo(float).tiny)
    inverse = (evecs / np.maximum(evals, floor)[:, None, :]) @ evecs.transpose(0, 2, 1)
    inverse[:, ~free, :] = 0.0
    inverse[:, :, ~free] = 0.0
    return inverse
