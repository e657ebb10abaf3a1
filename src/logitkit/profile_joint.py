"""Venzon and Moolgavkar's (1988) joint iteration for profile-likelihood interval ends,
many ends stepped in lockstep, and the pieces the constrained refits share with it.

An end of a' theta's interval is where the constrained optimum's log-likelihood has
fallen by z^2 / 2 from its maximum. The iteration takes Newton steps on the system {the
gradient orthogonal to a is 0, log-likelihood = its maximum - z^2 / 2}, a' theta's step
the root of the quadratic model along the conditional optimum: one evaluation
(derivatives to order 2) a step. The Newton matrix is corrected by a secant term where it
only approximates the Hessian (``hessian_is_exact`` False, as for Firth's penalty), and
by a fixed ``correction`` (the Hessian minus the Newton matrix at the optimum) where the
caller has one. An end has converged when |log-likelihood - target| <= z ROOT_TOL and
the Newton decrement of the other parameters is at most DECREMENT_TOL.

:func:`lockstep` steps many ends together: one (batched) evaluation of all their points
a step, and their Newton systems corrected, factorised and solved as one stack.

    Solution                   a (constrained) minimum, as the refits return it
    JointEnd(side, sign, ...)  one end's state; ``result`` (bound, Solution) or None
    lockstep(ends)             step the ends until all have finished
    evaluate_many(objective, thetas) -> [(value, grad, hess)]
    secant_corrected(A, step, change) -> A'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotrs as _potrs

# a refit stops when total_weight * the Newton decrement falls below this (the LR
# statistic is then within about that of its limit)
DECREMENT_TOL = 1e-12
# a bound stops when |r(c) - z| is below this (LR within about 2 z times it)
ROOT_TOL = 1e-11
# the least relative error of the Newton matrix along a step that a secant correction fixes
SECANT_SHARE = 0.01
# the joint iteration: its most steps, its farthest end (in Wald standard errors), and
# its last step, small enough (in standard errors, and the log-likelihood's distance to
# the target) to be taken unevaluated: it then lands within about (contraction rate x
# step) of the end, 1e-9 of the target or better
_JOINT_STEPS = 30
_FAR = 1e4
_LAST_STEP = 1e-8
# ... or, when the iteration contracts fast along the path (the step and the distance to
# the target at most _FAST_RATE times the last ones, the step below _SMALL_STEP standard
# errors) and the other parameters are within _LANDING of their optimum, one that lands
# within about rate x that distance, _LANDING or better
_FAST_RATE = 0.1
_SMALL_STEP = 1e-6
_LANDING = 1e-9


@dataclass
class Solution:
    """A (constrained) minimum: theta (p,), value, grad (p,), hess (p, p) there, the
    constraint's multiplier ``multiplier`` (dF/dc; 0 unconstrained), c (a' theta or
    None), ``converged`` and the Newton iterations taken."""

    theta: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray
    c: float | None = None
    multiplier: float = 0.0
    converged: bool = True
    iterations: int = 0


def _positive_definite(stack) -> np.ndarray:
    """(k,) bool: which matrices of ``stack`` (k, q, q) have a Cholesky factor (LAPACK
    a matrix: faster than NumPy's stacked factorisation at these sizes, measured)."""
    ok = np.all(np.isfinite(stack), axis=(1, 2))
    for j in np.flatnonzero(ok):
        ok[j] = _potrf(stack[j], lower=1, clean=0)[1] == 0
    return ok


def _cholesky_solve_each(stack, rhs):
    """((k,) bool solved, (k, q, r) A_j^-1 rhs_j) for positive definite A_j of ``stack``
    (k, q, q) and ``rhs`` (k, q, r), by Cholesky factors; NaN where A_j is not."""
    out = np.full(rhs.shape, np.nan)
    solved = np.all(np.isfinite(stack), axis=(1, 2))
    for j in np.flatnonzero(solved):
        factor, failed = _potrf(stack[j], lower=1, clean=0)
        if not failed:
            out[j], failed = _potrs(factor, rhs[j], lower=1)
        solved[j] = not failed
    return solved, out


def secant_stack(A, steps, changes):
    """:func:`secant_corrected` of each of A (k, q, q) along steps (k, q) to changes
    (k, q), in place (the matrices left as they are where the correction is not
    applied); returns A."""
    predicted = np.einsum("kij,kj->ki", A, steps)
    residual = changes - predicted
    scale = np.einsum("ki,ki->k", residual, steps)
    size = np.linalg.norm(residual, axis=1)
    with np.errstate(invalid="ignore"):
        apply = (np.isfinite(size) & (size > SECANT_SHARE * np.linalg.norm(predicted, axis=1))
                 & (np.abs(scale) > 1e-8 * size * np.linalg.norm(steps, axis=1)))
    index = np.flatnonzero(apply)
    if index.size:
        r = residual[index]
        corrected = A[index] + r[:, :, None] * r[:, None, :] / scale[index, None, None]
        keep = _positive_definite(corrected)
        A[index[keep]] = corrected[keep]
    return A


def secant_corrected(A, step, change):
    """A (p, p), an approximation of minus the Hessian (of a log-likelihood), corrected by
    a symmetric rank-one term so that it maps the last ``step`` to the observed gradient
    ``change`` (minus the gradient's change along it): the curvature that the Newton
    matrix misses along the path, which the iterations follow. Unchanged when A already
    maps the step to within SECANT_SHARE of the change (then rounding would dominate the
    correction), when the correction would be ill-posed, or would make A indefinite."""
    return secant_stack(np.array(A, dtype=float)[None], np.asarray(step)[None],
                        np.asarray(change)[None])[0]


def evaluate_many(objective, thetas):
    """[(value, grad, hess)] at each of ``thetas`` (k, p): one batched call where the
    objective offers ``evaluate_batch`` (one pass over the rows for all points), else one
    evaluation each."""
    values, grads, hessians = _evaluate_stack(objective, np.asarray(thetas))
    return [(float(v), g, h) for v, g, h in zip(values, grads, hessians, strict=True)]


def _evaluate_stack(objective, thetas):
    """(values (k,), grads (k, p), hess (k, p, p)) at the rows of ``thetas`` (k, p)."""
    batch = getattr(objective, "evaluate_batch", None)
    with np.errstate(all="ignore"):
        if batch is not None and len(thetas) > 1:
            return batch(thetas)
        evaluations = [objective.evaluate(theta, 2) for theta in thetas]
    values = np.array([float(v) for v, _, _ in evaluations])
    p = thetas.shape[1]
    grads = np.array([np.full(p, np.nan) if g is None else g for _, g, _ in evaluations])
    hessians = np.array([np.full((p, p), np.nan) if h is None else h
                         for _, _, h in evaluations])
    return values, grads, hessians


class JointEnd:
    """The joint iteration's state for one end (the side ``sign`` of ``side``: an object
    with ``objective``, ``optimum`` (the unconstrained Solution), ``a`` (p,), ``free``
    (p,) bool, ``W`` (total weight) and ``estimate``), started at the distance t0 along
    the optimum's path ``tangent`` (p,), or at ``start`` (p,) when given and finite;
    ``se`` the Wald standard error, ``correction`` (p, p) or None (see the module
    docstring). After :func:`lockstep`, ``result`` is
    (bound, the last point evaluated as a Solution), or None when the iteration failed
    (the root-finder takes over)."""

    def __init__(self, side, sign: int, z: float, t0: float, se: float, tangent,
                 correction=None, start=None):
        self.side, self.sign, self.z, self.se = side, sign, z, se
        self.correction = correction
        self.af = side.a[side.free]
        self.secant = not getattr(side.objective, "hessian_is_exact", True)
        self.target = -side.W * side.optimum.value - 0.5 * z * z  # of the log-likelihood
        self.theta = side.optimum.theta + sign * t0 * tangent
        if start is not None and np.all(np.isfinite(start)):
            self.theta = np.array(start, dtype=float)
        self.previous, self.steps, self.finished, self.result = None, 0, False, None
        self.last_remaining = None  # the distance still to go at the last step (_decide)

    def stop(self, result=None):
        self.finished, self.result = True, result

    def solution(self, value, grad, hess):
        """The evaluation at ``theta`` as a constrained Solution."""
        a, free, theta = self.side.a, self.side.free, self.theta
        return Solution(theta, value, grad, hess, float(a @ theta),
                        float(self.af @ grad[free] / (self.af @ self.af)), True)


def lockstep(ends):
    """Step every unfinished end of ``ends`` (JointEnds of one objective and one set of
    free coordinates) together until all have finished."""
    active = list(ends)
    while active:
        thetas = np.array([end.theta for end in active])
        _step(active, *_evaluate_stack(active[0].side.objective, thetas))
        active = [end for end in active if not end.finished]


def _step(ends, values, grads, hessians):
    """One step of each end from its evaluation (values (k,), grads (k, p), hessians
    (k, p, p) at the ends' ``theta``)."""
    side = ends[0].side
    free, W = side.free, side.W
    for end, value in zip(ends, values, strict=True):
        end.steps += 1
        if not np.isfinite(value):
            end.stop()
    live = np.flatnonzero(np.isfinite(values))
    ends = [ends[i] for i in live]
    if not ends:
        return
    A = hessians[live] if free.all() else hessians[live][:, free][:, :, free]  # a copy
    if ends[0].correction is not None:
        A += ends[0].correction[np.ix_(free, free)]
    A *= W
    g, pll = -W * grads[live][:, free], -W * values[live]
    thetas = np.array([end.theta[free] for end in ends])
    moved = np.array([end.secant and end.previous is not None for end in ends])
    if moved.any():
        before = [end.previous for end, m in zip(ends, moved, strict=True) if m]
        steps = thetas[moved] - np.array([t for t, _ in before])
        changes = np.array([gb for _, gb in before]) - g[moved]
        if moved.all():
            secant_stack(A, steps, changes)
        else:
            A[moved] = secant_stack(A[moved], steps, changes)
    for end, theta, gj in zip(ends, thetas, g, strict=True):
        end.previous = (theta, gj)
    af = np.array([end.af for end in ends])
    solvable, both = _cholesky_solve_each(A, np.stack([g, af], axis=2))  # (k, q, 2)
    for end in (end for end, ok in zip(ends, solvable, strict=True) if not ok):
        end.stop()
    if not solvable.any():
        return
    index = np.flatnonzero(solvable)
    ends = [ends[i] for i in index]
    g, pll, af, both = g[index], pll[index], af[index], both[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        curvature = 1.0 / np.einsum("kq,kq->k", af, both[:, :, 1])  # the model's, along the path
        v = both[:, :, 1] * curvature[:, None]  # the path's tangent: a'v = 1
        u = both[:, :, 0] - np.einsum("kq,kq->k", af, both[:, :, 0])[:, None] * v  # a'u = 0
        gain = 0.5 * np.einsum("kq,kq->k", g, u)
        off = pll - np.array([end.target for end in ends])
        slope = np.einsum("kq,kq->k", g, v)
        disc = slope * slope + 2.0 * curvature * (off + gain)
        sign = np.array([end.sign for end in ends])
        step = (slope + sign * np.sqrt(disc)) / curvature  # a' theta's step
    evaluated = live[index]
    for j, end in enumerate(ends):
        _decide(end, values[evaluated[j]], grads[evaluated[j]], hessians[evaluated[j]],
                gain[j], off[j], curvature[j], disc[j], step[j], u[j] + v[j] * step[j])


def _decide(end, value, grad, hess, gain, off, curvature, disc, step, move):
    """Stop ``end`` (converged, failed, or its last step small enough to take
    unevaluated) or move it by ``move`` (q,) on its free coordinates."""
    side, se = end.side, end.se
    if abs(off) <= end.z * ROOT_TOL and gain <= DECREMENT_TOL:
        return end.stop((float(side.a @ end.theta), end.solution(value, grad, hess)))
    if not (curvature > 0 and disc >= 0):
        return end.stop()
    new = end.theta.copy()
    new[side.free] += move
    c = float(side.a @ new)
    if end.sign * (c - side.estimate) <= 0 or abs(c - side.estimate) > _FAR * se:
        return end.stop()
    # the distance still to go along the path: a' theta's step (in standard errors) and
    # the log-likelihood's distance to its target; the other parameters' Newton decrement
    # must be within _LANDING already (it is counted as if the step did not shrink it)
    remaining = max(abs(step) / se, abs(off))
    rate = remaining / end.last_remaining if end.last_remaining else np.inf
    end.last_remaining = remaining
    if (abs(step) <= _LAST_STEP * se and abs(off) <= _LAST_STEP) or (
            rate <= _FAST_RATE and abs(step) <= _SMALL_STEP * se
            and rate * remaining <= _LANDING and gain <= _LANDING):
        # lands within about (rate x step) of the end: taken unevaluated
        return end.stop((c, end.solution(value, grad, hess)))
    if end.steps >= _JOINT_STEPS:
        return end.stop()
    end.theta = new
