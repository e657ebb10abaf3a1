"""Proximal Newton with working sets for the L1 / elastic-net penalty (glmnet, skglm).

Minimises F(theta) + P(B): F the :class:`~logitkit.objective.Objective` (mean loss and
the ridge part), P an :class:`~logitkit.penalties.L1Penalty` on the slopes B (m, d), in
natural coordinates (theta as laid out in :mod:`logitkit.objective`). Each iteration:

1. the exact gradient of F (one pass over X) and the optimality (KKT) violations of
   every column (:meth:`L1Penalty.violations`) and of the unpenalised intercepts and cut
   points (their gradient); stop when the largest is <= tol (reported: ``grad_max`` and
   ``kkt_violation`` of the :class:`SolverReport`);
2. a working set of columns: the non-zero (and unpenalised) ones and the worst violators
   (at least ``_WS_MIN``, at least twice the non-zero ones; on a path, the columns that
   the sequential strong rule keeps);
3. the quadratic model of F on the working set's slopes and all unpenalised parameters,
   its Hessian from X's working-set columns over a row sample when X has many rows (as
   Newton's, :func:`logitkit.hessian_samples.hessian_objective`) with the exact gradient; the
   unpenalised parameters are minimised out exactly (a Schur complement: a small
   pseudo-inverse), so the coordinate descent (:mod:`.coordinate_descent`) sees centred
   curvature and the intercepts and cut points follow every move;
4. a backtracking (Armijo) line search on the exact F + P, whose gradient pass is the
   next iteration's.

A column outside the working set keeps its slopes at 0; the final KKT check over all
columns certifies the result. ``excluded`` columns (aliased ones) never enter.
"""

from __future__ import annotations

import numpy as np

from logitkit.objective import HESSIAN_DENSER
from logitkit.solvers import coordinate_descent, data_space_cd
from logitkit.solvers.newton import secant_update
from logitkit.solvers.report import SolverReport
from logitkit.solvers.working_columns import WorkingColumns
from logitkit.sparse import SparseDesign

# a model whose rows are a sample is rebuilt from HESSIAN_DENSER times the rows (all
# rows last) when two of its steps running cut the KKT violation less than 1 / _SLOW_KKT,
# or when its step makes no further progress: the sample misrepresents the curvature
# (a dummy column 0 on every sampled row; see Newton's _misrepresents). 56k x 56 with a
# dummy of the odd rows, every 2nd row sampled, alpha 1e-3: lasso 26 iterations, "no
# further progress" at KKT violation 0.013, elastic net (l1_ratio 0.5) 100, unconverged
# -> converged in 7 and 8; sparse_bench's dense cases and 100-alpha path (100k x 200)
# take the same iterations and passes as before
_SLOW_KKT = 0.5
# smallest working set (columns)
_WS_MIN = 32
# Armijo's sufficient-decrease fraction
_SIGMA = 1e-4
# the model is solved to this fraction of the current KKT violation: with the Hessian
# matrix (coordinate updates cost O(k), no pass over X) tightly, for Newton's quadratic
# rate (20k x 200 elastic-net path of 100 alphas, one thread: 0.1 -> 1e-3 took 10.5 s,
# 383 iterations to 5.6 s, 216); on the rows of sparse X (an update costs its column's
# entries) loosely (100k x 50k CSR lasso: 0.60 s at 0.1, 0.78 s at 1e-3)
_INNER_RATIO = 1e-3
_DATA_SPACE_INNER_RATIO = 0.1
_MAX_SWEEPS = 1000
_EPS = np.finfo(float).eps
# eigenvalues of the unpenalised block's Hessian below this fraction of its largest are
# left out of its pseudo-inverse: near-separated data have fitted probabilities near 0 or
# 1, and inverting their tiny curvatures made the Schur complement indefinite (-1e-4
# against a largest 7e-3 on a 13-row multinomial fold), so coordinate descent diverged
_PINV_RTOL = 1e-8


class _Layout:
    """Index maps between the natural theta (p,) of an objective and its parts."""

    def __init__(self, ob):
        self.m, self.d, self.d1, self.q = ob.m, ob.d, ob.d1, ob.q
        k = np.arange(self.m)[:, None] * self.d1
        self.slopes = k + np.arange(self.d)  # (m, d) positions of the slopes
        intercepts = (k[:, 0] + self.d) if ob.fit_intercept else np.zeros(0, int)
        self.unpenalised = np.concatenate([intercepts, self.m * self.d1 + np.arange(self.q)])

    def working(self, cols):
        """(positions in theta of the working set's slopes, column-major: each column's m
        slopes together; positions in the column-subset objective's theta of the same
        slopes, and of the unpenalised parameters)."""
        k, m = len(cols), self.m
        d1_sub = k + (self.d1 - self.d)
        full = self.slopes[:, cols].T.ravel()
        sub = (np.arange(m)[None, :] * d1_sub + np.arange(k)[:, None]).ravel()
        sub_unpen = np.concatenate([np.arange(m) * d1_sub + k if self.d1 > self.d
                                    else np.zeros(0, int), m * d1_sub + np.arange(self.q)])
        return full, sub, sub_unpen


def prox_newton(objective, l1, theta0, tol: float, max_iter: int, screen=None,
                excluded=None, known=None, workspace=None) -> SolverReport:
    """Minimise ``objective`` + ``l1`` from natural ``theta0``; ``screen``: (d,) bool,
    the columns the first working set holds besides the non-zero ones (a strong rule),
    ``excluded``: (d,) bool columns fixed at 0; ``known``: (value, gradient (p,)) of
    ``objective`` at theta0 when the caller has them (a path's previous fit: no pass);
    ``workspace``: the :class:`~.working_columns.WorkingColumns` a path's fits share.
    Returns natural params in the report."""
    ob = objective
    lay = _Layout(ob)
    weights = l1.weights()
    if excluded is not None and np.any(excluded):
        weights = np.where(excluded, np.inf, weights)
    theta = np.array(theta0, dtype=float)
    smooth, grad, _ = _evaluate(ob, theta) if known is None else (*known, True)
    total = smooth + l1.value(theta[lay.slopes], weights)
    history, reason, converged, it = [], "maximum number of iterations reached", False, 0
    kkt, columns = _kkt(l1, lay, theta, grad, weights)
    models = WorkingColumns() if workspace is None else workspace
    kept = _KeptHessian()
    denser, slow = 1, 0  # the model's rows: denser times the sample's
    while True:
        history.append({"iteration": it, "objective": total, "kkt_violation": kkt})
        if kkt <= tol:
            converged, reason = True, "KKT violation below tol"
            break
        if it == max_iter:
            break
        cols = _working_set(theta[lay.slopes], columns, weights, screen if it == 0 else None)
        step, decrease = _model_step(ob, models, kept, l1, lay, theta, grad, cols, weights,
                                     kkt, denser)
        if not decrease < -1e3 * _EPS * max(1.0, abs(total)):
            # F + P, computed from X, can no longer show a decrease: take the full step
            # while it cuts the KKT violation
            trial = theta + step
            new_smooth, new_grad, ok = _evaluate(ob, trial)
            if ok:
                new_kkt, new_columns = _kkt(l1, lay, trial, new_grad, weights)
            if not (ok and new_kkt < kkt):
                if models.sampled:  # (the sample may be blind where the violation is)
                    denser, slow = denser * HESSIAN_DENSER, 0
                    continue
                reason = "no further progress at machine precision"
                break
            kept.update(step, new_grad - grad, new_kkt > kkt / 4)
            theta, grad, it = trial, new_grad, it + 1
            total = new_smooth + l1.value(trial[lay.slopes], weights)
            kkt, columns = new_kkt, new_columns
            continue
        t, accepted = 1.0, False
        for _ in range(30):
            trial = theta + t * step
            new_smooth, new_grad, ok = _evaluate(ob, trial)
            new_total = new_smooth + l1.value(trial[lay.slopes], weights) if ok else np.inf
            if new_total <= total + _SIGMA * t * decrease:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            if models.sampled:
                denser, slow = denser * HESSIAN_DENSER, 0
                continue
            reason = "line search failed"
            break
        new_kkt, columns = _kkt(l1, lay, trial, new_grad, weights)
        kept.update(t * step, new_grad - grad, new_kkt > kkt / 4)
        slow = slow + 1 if models.sampled and new_kkt > _SLOW_KKT * kkt else 0
        if slow == 2:
            denser, slow = denser * HESSIAN_DENSER, 0
        theta, grad, total, it, kkt = trial, new_grad, new_total, it + 1, new_kkt
    return SolverReport(theta, float(total), kkt, it, converged, reason, history,
                        kkt_violation=kkt, gradient=grad)


def _kkt(l1, lay, theta, grad, weights):
    """(the largest KKT violation, (d,) each column's) at theta with gradient ``grad``."""
    columns = l1.violations(theta[lay.slopes], grad[lay.slopes], weights)
    kkt = max(float(columns.max(initial=0.0)),
              float(np.abs(grad[lay.unpenalised]).max(initial=0.0)))
    return kkt, columns


def _evaluate(ob, theta):
    """(F, gradient, True) at theta, or (inf, None, False) where the cut points are not
    increasing (a trial step of the line search)."""
    aux = theta[ob.m * ob.d1:]
    if aux.size > 1 and not np.all(np.diff(aux) > 0):
        return np.inf, None, False
    with np.errstate(over="ignore", under="ignore"):
        value, grad, _ = ob.evaluate(theta, 1)
    return value, grad, bool(np.isfinite(value))


def _working_set(B, violations, weights, screen):
    """(k,) sorted columns: the non-zero and unpenalised ones, then the worst violators
    (or the ``screen`` ones)."""
    keep = np.any(B != 0, axis=0) | (weights == 0)
    if screen is not None:
        chosen = keep | (np.asarray(screen, bool) & np.isfinite(weights))
        if chosen.any():
            return np.flatnonzero(chosen)
    size = max(_WS_MIN, 2 * int(keep.sum()))
    candidates = np.flatnonzero(~keep & (violations > 0))
    room = size - int(keep.sum())
    if room > 0 and len(candidates):
        worst = candidates[np.argsort(-violations[candidates], kind="stable")[:room]]
        keep[worst] = True
    return np.flatnonzero(keep)


class _KeptHessian:
    """The working-set model's Hessian (over the model objective's parameters), kept
    over the steps of one fit while the model's columns stay the same, with a BFGS
    update from each step and the exact change of the gradient (the row sample's error
    fades, as in Newton's kept Hessian); recomputed after a step that cut the KKT
    violation less than fourfold. 20k x 200 elastic-net path of 100 alphas, one thread,
    interleaved, best of 3: 3.90 s, 342 passes against 5.40 s, 439 passes recomputing
    it at every step."""

    def __init__(self):
        self.key = self.matrix = self.index = None

    def get(self, key, model, theta_sub, index):
        """The matrix at ``theta_sub`` (natural positions ``index``) for model ``key``."""
        if key != self.key or self.matrix is None:
            with np.errstate(over="ignore", under="ignore"):
                self.matrix = np.array(model.evaluate(theta_sub, 2)[2])
            self.key, self.index = key, index
        return self.matrix

    def update(self, step, change, stale: bool) -> None:
        """After a step (natural, (p,)) and the change of the exact gradient along it."""
        if self.matrix is None:
            return
        if stale or not secant_update(self.matrix, step[self.index], change[self.index]):
            self.matrix = None


def _model_step(ob, models, kept, l1, lay, theta, grad, cols, weights, kkt, denser):
    """(direction (p,), predicted decrease g'step + P(B + step) - P(B)) of the quadratic
    model on the working set ``cols`` (over ``denser`` times the sample's rows), solved
    to a fraction of the KKT violation ``kkt``."""
    m = lay.m
    model, cols = models.model_for(ob, cols, len(lay.unpenalised), denser)
    full, sub, sub_unpen = lay.working(cols)
    if m == 1 and lay.q == 0 and isinstance(model.X, SparseDesign):
        return _data_space_step(model, l1, lay, theta, grad, cols, weights,
                                _DATA_SPACE_INNER_RATIO * kkt)
    theta_sub = np.zeros(model.n_params)
    theta_sub[sub], theta_sub[sub_unpen] = theta[full], theta[lay.unpenalised]
    index = np.empty(model.n_params, dtype=np.intp)
    index[sub], index[sub_unpen] = full, lay.unpenalised
    H = kept.get(models.version, model, theta_sub, index)
    g_P, g_U = grad[full], grad[lay.unpenalised]
    H_PP, H_PU, H_UU = H[np.ix_(sub, sub)], H[np.ix_(sub, sub_unpen)], \
        H[np.ix_(sub_unpen, sub_unpen)]
    # minimise the unpenalised block out: d_U = -H_UU^+ (g_U + H_UP d_P)
    H_UU_inv = np.linalg.pinv(H_UU, rtol=_PINV_RTOL, hermitian=True) if len(g_U) else H_UU
    coupling = H_PU @ H_UU_inv
    Q = H_PP - coupling @ H_PU.T
    r = g_P - coupling @ g_U
    z0 = theta[full]
    z = z0.copy()
    grouped = l1.grouped and m > 1
    per_column = weights[cols]
    w = per_column if grouped else np.repeat(per_column, m)
    coordinate_descent.solve(Q, r, z, w, m if grouped else 1, _INNER_RATIO * kkt,
                             _MAX_SWEEPS)
    d_P = z - z0
    d_U = -H_UU_inv @ (g_U + H_PU.T @ d_P)
    step = np.zeros_like(theta)
    step[full], step[lay.unpenalised] = d_P, d_U
    B_new = theta[lay.slopes] + step[lay.slopes]
    decrease = float(grad @ step) + l1.value(B_new, weights) - l1.value(theta[lay.slopes],
                                                                        weights)
    return step, decrease


def _data_space_step(model, l1, lay, theta, grad, cols, weights, inner_tol):
    """:func:`_model_step` of a binary model on sparse X: coordinate descent on the rows
    (:mod:`.data_space_cd`), no k x k Hessian."""
    full = lay.slopes[0, cols]
    intercept = lay.unpenalised[0] if len(lay.unpenalised) else None
    d_P, d_c = data_space_cd.binary_step(
        model, theta[full], None if intercept is None else theta[intercept], grad[full],
        0.0 if intercept is None else grad[intercept], weights[cols], inner_tol,
        _MAX_SWEEPS)
    step = np.zeros_like(theta)
    step[full] = d_P
    if intercept is not None:
        step[intercept] = d_c
    B_new = theta[lay.slopes] + step[lay.slopes]
    decrease = float(grad @ step) + l1.value(B_new, weights) - l1.value(theta[lay.slopes],
                                                                        weights)
    return step, decrease
