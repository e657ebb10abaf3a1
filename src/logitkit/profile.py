"""Profile-likelihood intervals: exact crossings of the signed root of the LR statistic.

Generic over any ``objective`` with ``evaluate(theta, order)`` -> (value, grad (p,),
hess (p, p)) on a mean scale (value = minus the (penalised) log-likelihood divided by
``total_weight``), ``total_weight`` and ``n_params``: a logitkit Objective, or a
Firth-penalised objective. For a linear functional ``a' theta`` (a reported parameter)
fixed at c, the profile is F(c) = min {value(theta): a' theta = c}, the likelihood-ratio
statistic LR(c) = 2 total_weight (F(c) - F(c_hat)) and its signed root
r(c) = sign(c - c_hat) sqrt(LR(c)). A bound is where r(c) = -+ z, z = Phi^-1((1 + level)/2)
(LR = the chi2(1) quantile), found exactly, no grid, in one of two ways:

- first by Venzon and Moolgavkar's (1988) joint iteration from the Wald end
  (:mod:`logitkit.profile_joint`), all ends of a set stepped in lockstep;
- should that fail (a start outside the domain, an indefinite model, an unbounded side),
  by a safeguarded Newton root-finder on r (dr/dc = total_weight * lambda / r, lambda =
  dF/dc the constraint's multiplier; Illinois false position or bisection where a step
  leaves the bracket), expanding from the Wald distance. Each F(c) is a Newton refit of
  the other parameters in the null space of a, started from the nearest refit moved
  along the tangent of the path of solutions (predictor-corrector), to a Newton
  decrement below 1e-12 / total_weight.

Public functions (the estimators' ``conf_int(method="profile")``, and Firth fits' profile
penalised-likelihood intervals, call these):

    minimize(objective, theta, free=None, a=None, c=None) -> Solution
        the (constrained, when ``a`` is given: a' theta = c) minimum from ``theta``;
    refit(objective, optimum, a, c, free=None) -> Solution
        the minimum with a' theta = c reached from ``optimum`` (a Solution of minimize()
        without constraint) along the path of minima: e.g. the penalised LR test of a
        parameter is 2 total_weight (refit(..., a=e_j, c=0).value - optimum.value);
    profile_interval(objective, optimum, a, level=0.95, free=None) -> ProfileInterval
        the lower and upper bound of a' theta; ``optimum`` a Solution of minimize()
        without constraint (the same for every functional of one fit);
    profile_interval_set(objective, optimum, A, level=0.95, free=None) -> [ProfileInterval]
        the same for each row of A, all ends' joint iterations stepped in lockstep;
    profile_intervals(objective, theta, A, level=0.95, free=None)
        -> ((r, 2) bounds, [ProfileInterval per row]) for the rows of A (r, p).
    newton_correction(objective, optimum) -> (p, p) or None
        the Hessian minus the Newton matrix at the optimum, for objectives whose Newton
        matrix is an approximation and that offer the exact Hessian where it pays;
    wald_directions(optimum, A, free, W) -> ((r,) Wald SEs, (r, p) path tangents);
    path_starts(objective, optimum, A, free, correction, z) -> (r, 2, p) or None
        the ends' second-order starting points, for objectives with third derivatives.

Re-exported from :mod:`logitkit.profile_joint` for the refits of other modules:
``Solution``, ``secant_corrected``, ``evaluate_many`` and the tolerances.

``free`` (p,) bool: the coordinates estimated (the others, e.g. slopes of aliased
columns, stay where ``theta`` has them). Unbounded sides (the profile stops rising,
as under separation) are -inf / +inf; ``ProfileInterval.unbounded`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.stats as st

from logitkit.profile_joint import (
    DECREMENT_TOL,
    ROOT_TOL,
    JointEnd,
    Solution,
    evaluate_many,
    lockstep,
    secant_corrected,
)

__all__ = [
    "DECREMENT_TOL", "ROOT_TOL", "ProfileInterval", "Solution", "evaluate_many", "minimize",
    "newton_correction", "path_starts", "profile_interval", "profile_interval_set",
    "profile_intervals", "refit", "secant_corrected", "wald_directions",
]

# a side is unbounded when the LR statistic, below its target at or beyond the Wald
# distance, would rise by less than this if the distance from the estimate doubled at
# the current slope (the profile has flattened: it approaches an asymptote, as under
# separation), or beyond MAX_EXPANSION times the first step
FLAT_LR = 1e-6
MAX_EXPANSION = 1e6
_MAX_NEWTON = 200
_MAX_ROOT_STEPS = 100


@dataclass
class ProfileInterval:
    """Bounds of a' theta at ``level``: lower, upper (-inf / +inf when unbounded, NaN when
    a refit failed); lr: the LR statistic at ``solutions``; refits: constrained fits
    made (a bound found by the joint iteration counts one); solutions: the refits at the
    bounds, or the last point the joint iteration evaluated (within 1e-8 standard errors
    of the bound), None when unbounded."""

    estimate: float
    lower: float
    upper: float
    level: float
    lr: tuple = (np.nan, np.nan)
    refits: int = 0
    solutions: tuple = (None, None)
    unbounded: tuple = (False, False)
    notes: list = field(default_factory=list)


def _evaluate(objective, theta, order):
    with np.errstate(all="ignore"):
        value, grad, hess = objective.evaluate(theta, order)
    return float(value), grad, hess


def _null_basis(a_free: np.ndarray) -> np.ndarray:
    """(k, k-1) orthonormal basis of the vectors orthogonal to ``a_free`` (k,)."""
    q, _ = np.linalg.qr(a_free[:, None], mode="complete")
    return q[:, 1:]


def _direction(H, g, af=None):
    """(Newton direction d, decrement -g'd) on the quadratic model (H, g), within
    af' d = 0 when ``af`` is given: d = -H^-1 (g - mu af), mu = af'H^-1 g / af'H^-1 af,
    by one Cholesky factorisation. An indefinite or singular H (separation, a
    non-convex penalty) is solved in a basis of af's null space with its eigenvalues
    floored instead."""
    if g.size == 0:
        return np.zeros(0), 0.0
    try:
        factor = sla.cho_factor(H, lower=True)
        d = -sla.cho_solve(factor, g)
        if af is not None:
            h = sla.cho_solve(factor, af)
            d -= h * ((af @ d) / (af @ h))
        return d, float(-g @ d)
    except (np.linalg.LinAlgError, ValueError):
        pass
    B = np.eye(g.size) if af is None else _null_basis(af)
    vals, vecs = np.linalg.eigh(B.T @ H @ B)
    floor = max(np.abs(vals).max(initial=0.0), 1e-300) * 1e-12
    d = -B @ (vecs @ ((vecs.T @ (B.T @ g)) / np.maximum(np.abs(vals), floor)))
    return d, float(-g @ d)


def minimize(objective, theta, free=None, a=None, c=None, *, max_iter=_MAX_NEWTON):
    """Newton from ``theta`` on the ``free`` coordinates (all by default), subject to
    a' theta = c when ``a`` is given (theta is first moved along ``a`` to satisfy it);
    Armijo backtracking that rejects non-finite values (e.g. unordered cut points)."""
    theta = np.array(theta, dtype=float)
    p = theta.size
    free = np.ones(p, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    W = float(objective.total_weight)
    af = None
    if a is not None:
        a = np.asarray(a, dtype=float)
        af = a[free]
        theta[free] += af * (c - a @ theta) / (af @ af)
    value, g, H = _evaluate(objective, theta, 2)
    converged, it = False, 0
    for it in range(1, max_iter + 1):  # noqa: B007
        step, decrement = _direction(H[np.ix_(free, free)], g[free], af)
        if not np.isfinite(decrement):
            break
        if W * decrement <= DECREMENT_TOL:
            converged = True
            break
        direction = np.zeros(p)
        direction[free] = step
        t, accepted = 1.0, None
        for _ in range(40):
            trial = theta + t * direction
            if a is not None:  # keep a' theta = c exactly
                trial[free] += af * (c - a @ trial) / (af @ af)
            v, gt, Ht = _evaluate(objective, trial, 2)
            if np.isfinite(v) and v <= value - 1e-4 * t * decrement:
                accepted = (trial, v, gt, Ht)
                break
            t *= 0.5
        if accepted is None:  # no progress at rounding level: converged when tiny
            converged = W * decrement <= 1e3 * DECREMENT_TOL
            break
        theta, value, g, H = accepted
    multiplier = 0.0
    if a is not None:
        multiplier = float(af @ g[free] / (af @ af))
    return Solution(theta, value, g, H, None if a is None else float(c), multiplier,
                    converged, it)


def _tangent(solution: Solution, a, free) -> np.ndarray:
    """(p,) d theta / dc of the path of constrained minima at ``solution``: H^-1 a /
    (a' H^-1 a) over the free coordinates (a / a'a where H is singular)."""
    return wald_directions(solution, a[None], free, 1.0)[1][0]


class _Side:
    """The refits of one functional, nearest-first warm starts; r(c) and dr/dc."""

    def __init__(self, objective, optimum: Solution, a, free):
        self.objective, self.optimum, self.a, self.free = objective, optimum, a, free
        self.W = float(objective.total_weight)
        self.estimate = float(a @ optimum.theta)
        self.solved = [optimum]
        self.refits = 0

    def at(self, c: float, depth: int = 0) -> Solution:
        """The refit at c from the nearest refit, moved along the path's tangent; where
        that start leaves the domain (e.g. unordered cut points), from a refit halfway."""
        near = min(self.solved, key=lambda s: abs(self._c(s) - c))
        c0 = self._c(near)
        start = near.theta + (c - c0) * _tangent(near, self.a, self.free)
        solution = minimize(self.objective, start, self.free, self.a, c)
        self.refits += 1
        if not np.isfinite(solution.value) and depth < 30 and c != c0:
            self.at(0.5 * (c0 + c), depth + 1)
            return self.at(c, depth + 1)
        self.solved.append(solution)
        return solution

    def _c(self, solution: Solution) -> float:
        return self.estimate if solution.c is None else solution.c

    def lr(self, solution: Solution) -> float:
        return 2.0 * self.W * (solution.value - self.optimum.value)

    def root(self, solution: Solution, sign: int):
        """(rho = sqrt(LR) (0 when LR <= 0), d rho / dt, dLR/dt) along t = sign (c - c_hat)."""
        lr = self.lr(solution)
        slope_lr = 2.0 * self.W * sign * solution.multiplier
        rho = np.sqrt(max(lr, 0.0))
        return rho, (slope_lr / (2.0 * rho) if rho > 0 else np.inf), slope_lr


def _bound(side: _Side, sign: int, z: float, t0: float, t_wald: float):
    """(bound, LR there, solution, unbounded, note) on the side ``sign`` (+1 upper), as
    the distance t from the estimate where rho(t) = sqrt(LR) reaches z: expanding by
    Newton steps on rho (at most 8-fold) until bracketed, then Newton inside the bracket,
    else Illinois false position, bisecting when the bracket stops shrinking."""
    est = side.estimate
    lo, rho_lo, hi, rho_hi = 0.0, 0.0, None, None
    t, best, kept, widths, residuals = t0, None, 0, [], []
    for _ in range(_MAX_ROOT_STEPS):
        solution = side.at(est + sign * t)
        if not np.isfinite(solution.value):
            return np.nan, np.nan, None, False, "a constrained refit failed"
        rho, drho, slope_lr = side.root(solution, sign)
        if best is None or abs(rho - z) < abs(best[1] - z):
            best = (t, rho, solution)
        if abs(rho - z) <= ROOT_TOL:
            break
        residuals.append(abs(rho - z))
        if rho < z:
            # flat where the quadratic model would have crossed (a capped first step of a
            # parameter with a huge SE is not flat, just short)
            if hi is None and ((slope_lr * t < FLAT_LR and t >= t_wald)
                               or t > MAX_EXPANSION * t0):
                return sign * np.inf, np.nan, None, True, None
            lo, rho_lo, kept = t, rho, (kept + 1 if kept > 0 else 1)
        else:
            hi, rho_hi, kept = t, rho, (kept - 1 if kept < 0 else -1)
        newton = t + (z - rho) / drho if np.isfinite(drho) and drho > 0 else np.nan
        if hi is None:  # still expanding
            t = newton if np.isfinite(newton) and newton > lo else 8.0 * lo
            t = min(t, 8.0 * lo)
            continue
        widths.append(hi - lo)
        if hi - lo <= 4 * np.finfo(float).eps * max(abs(est) + hi, 1.0):
            break
        if lo < newton < hi:
            t = newton
        else:  # Illinois: the end kept twice in a row counts half
            r_lo, r_hi = z - rho_lo, rho_hi - z
            if kept >= 2:
                r_hi *= 0.5 ** (kept - 1)
            elif kept <= -2:
                r_lo *= 0.5 ** (-kept - 1)
            t = lo + (hi - lo) * r_lo / (r_lo + r_hi)
        if (len(widths) >= 4 and widths[-1] > 0.5 * widths[-4]
                and residuals[-1] > 0.5 * residuals[-3]):  # neither shrinks: bisect
            t = 0.5 * (lo + hi)
    t, rho, solution = best
    if abs(rho - z) > 1e-6 or not solution.converged:
        return np.nan, np.nan, None, False, (
            f"the root-finder stopped at |r - z| = {abs(rho - z):.2g}"
            + ("" if solution.converged else " (the refit there did not converge)"))
    return est + sign * t, side.lr(solution), solution, False, None


def refit(objective, optimum: Solution, a, c: float, free=None) -> Solution:
    """The minimum of ``objective`` with a' theta = c, started from the unconstrained
    ``optimum`` moved along the tangent of the path of constrained minima (from a refit
    halfway, recursively, where that start leaves the domain)."""
    a = np.asarray(a, dtype=float)
    free = np.ones(a.size, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    return _Side(objective, optimum, a, free).at(float(c))


def profile_interval(objective, optimum: Solution, a, level: float = 0.95,
                     free=None) -> ProfileInterval:
    """Lower and upper profile bounds of a' theta (see the module docstring); ``optimum``
    the unconstrained :func:`minimize` of ``objective``."""
    return profile_interval_set(objective, optimum, [a], level, free)[0]


def profile_interval_set(objective, optimum: Solution, A, level: float = 0.95,
                         free=None) -> list:
    """[ProfileInterval] of a' theta for each row a of A (r, p), as
    :func:`profile_interval` finds them, the joint iterations of all 2 r ends stepped in
    lockstep (one batched evaluation a step where the objective has
    ``evaluate_batch``; ends drop out as they finish), the root-finder after them for the
    ends where the iteration failed."""
    free = np.ones(optimum.theta.size, dtype=bool) if free is None else np.asarray(free, bool)
    z = float(st.norm.ppf(0.5 + level / 2))
    correction = newton_correction(objective, optimum)
    A = np.atleast_2d(np.asarray(A, dtype=float))
    ses, tangents = wald_directions(optimum, A, free, float(objective.total_weight))
    starts = path_starts(objective, optimum, A, free, correction, z)
    plans = []
    for row, (a, se, tangent) in enumerate(zip(A, ses, tangents, strict=True)):
        side = _Side(objective, optimum, a, free)
        # the Wald distance, at most z max(1, |estimate|): a separated parameter's SE is
        # huge and meaningless, and the refits far out are slow
        scale = max(1.0, abs(side.estimate))
        t_wald = z * se if np.isfinite(se) and se > 0 else np.inf
        t0 = min(t_wald, z * scale)
        ends = [JointEnd(side, sign, z, t0, se, tangent, correction,
                         None if starts is None or t0 < t_wald else starts[row, end])
                if np.isfinite(t_wald) else None for end, sign in enumerate((-1, 1))]
        plans.append((side, t0, t_wald, ends))
    lockstep([end for *_, ends in plans for end in ends if end is not None])
    intervals = []
    for side, t0, t_wald, ends in plans:
        out = ProfileInterval(side.estimate, np.nan, np.nan, level)
        bounds, lrs, sols, unbounded = [], [], [], []
        for sign, end in zip((-1, 1), ends, strict=True):
            if end is not None and end.result is not None:
                side.refits += 1
                bound, solution = end.result
                lr, open_, note = side.lr(solution), False, None
            else:
                bound, lr, solution, open_, note = _bound(side, sign, z, t0, t_wald)
            bounds.append(bound)
            lrs.append(lr)
            sols.append(solution)
            unbounded.append(open_)
            if note:
                out.notes.append(note)
        out.lower, out.upper = bounds
        out.lr, out.solutions, out.unbounded = tuple(lrs), tuple(sols), tuple(unbounded)
        out.refits = side.refits
        intervals.append(out)
    return intervals


def newton_correction(objective, optimum: Solution):
    """(p, p) the objective's Hessian minus its Newton matrix at ``optimum``, or None.
    Only for objectives whose Newton matrix approximates the Hessian (``hessian_is_exact``
    False) and that say that ``exact_hessian(theta)`` pays (``exact_hessian_pays``:
    binary Firth fits with few rows per coefficient). Added to every interval end's
    Newton matrix, it supplies the curvature the approximation misses (the penalty's),
    taken at the optimum: the ends then converge as Newton's method does, not linearly."""
    if getattr(objective, "hessian_is_exact", True) or not getattr(
            objective, "exact_hessian_pays", False):
        return None
    hess = objective.exact_hessian(optimum.theta)
    if hess is None or not np.all(np.isfinite(hess)):
        return None
    return hess - optimum.hess


def path_starts(objective, optimum: Solution, A, free, correction, z: float):
    """(r, 2, p) second-order starting points of the joint iteration's lower and upper
    ends for the rows a of A (NaN where the expansion fails), or None for objectives
    without ``third_derivatives(theta, V)``. With J the Hessian of -log L at the optimum
    (``correction`` added), kappa = a'J^-1 a, v = J^-1 a / kappa and g3 the third
    derivative of log L along v twice, the LR statistic along the path of constrained
    optima is t^2 / kappa - T3 t^3 / 3 + O(t^4) in t = a'theta - its estimate (T3 =
    v'g3), and the path theta + t v + t^2 / 2 (J^-1 g3 - (a'J^-1 g3) v) + O(t^3): each
    start is the cubic's root for LR = z^2 (within a factor 2 of the Wald distance) on
    the path to second order. At 1,000 x 50 (Firth) the ends' first steps fell from
    about 2e-2 to 3e-3 standard errors, measured."""
    third = getattr(objective, "third_derivatives", None)
    if third is None:
        return None
    W = float(objective.total_weight)
    hess = optimum.hess if correction is None else optimum.hess + correction
    ses, V = wald_directions(Solution(optimum.theta, optimum.value, optimum.grad, hess), A,
                             free, W)
    kappa = ses * ses  # a'J^-1 a (NaN where not positive: no start)
    D = third(optimum.theta, V)
    if D is None:
        return None
    g3 = -W * D[:, free]  # (r, q) of log L
    T3 = np.einsum("rq,rq->r", V[:, free], g3)
    Af = A[:, free]
    try:
        Jg3 = np.linalg.solve(W * hess[np.ix_(free, free)], g3.T)  # (q, r)
    except np.linalg.LinAlgError:
        return None
    bend = Jg3.T - np.einsum("rq,qr->r", Af, Jg3)[:, None] * V[:, free]  # theta''
    starts = np.full((len(A), 2, A.shape[1]), np.nan)
    with np.errstate(all="ignore"):
        for end, sign in enumerate((-1, 1)):
            wald = sign * z * np.sqrt(kappa)
            t = wald.copy()
            for _ in range(30):  # Newton on the cubic from the Wald distance
                t -= (t * t / kappa - T3 * t**3 / 3 - z * z) / (2 * t / kappa - T3 * t * t)
            good = np.isfinite(t) & (t / wald >= 0.5) & (t / wald <= 2.0)
            point = optimum.theta + t[:, None] * V
            point[:, free] += 0.5 * (t * t)[:, None] * bend
            starts[good, end] = point[good]
    return starts


def wald_directions(optimum: Solution, A, free, W):
    """((r,) the Wald standard errors sqrt(a' H^-1 a / W) of the rows a of A (r, p), NaN
    where H is singular or a' H^-1 a <= 0; (r, p) the optimum's path tangents H^-1 a /
    a' H^-1 a, a / a'a there) from one solve with H over the ``free`` coordinates."""
    Af = A[:, free]
    ses, tangents = np.full(len(A), np.nan), np.zeros(A.shape)
    try:
        solved = np.linalg.solve(optimum.hess[np.ix_(free, free)], Af.T)  # (q, r)
        scale = np.einsum("rq,qr->r", Af, solved)
    except np.linalg.LinAlgError:
        solved, scale = None, np.full(len(A), np.nan)
    good = np.isfinite(scale) & (scale > 0)
    ses[good] = np.sqrt(scale[good] / W)
    rows = np.flatnonzero(free)
    tangents[np.ix_(good, rows)] = (solved[:, good] / scale[good]).T if good.any() else 0.0
    tangents[np.ix_(~good, rows)] = Af[~good] / np.sum(Af[~good] ** 2, axis=1)[:, None]
    return ses, tangents


def profile_intervals(objective, theta, A, level: float = 0.95, free=None):
    """((r, 2) lower and upper bounds, [ProfileInterval per row]) of the rows of A (r, p)
    at ``level``, from an optimum polished by :func:`minimize` from ``theta``. Rows that
    touch a coordinate outside ``free`` get NaN bounds and None."""
    A = np.atleast_2d(np.asarray(A, dtype=float))
    free = np.ones(A.shape[1], dtype=bool) if free is None else np.asarray(free, dtype=bool)
    optimum = minimize(objective, theta, free)
    bounds = np.full((A.shape[0], 2), np.nan)
    rows = [i for i, a in enumerate(A) if not np.any(a[~free] != 0) and np.any(a[free] != 0)]
    intervals = [None] * A.shape[0]
    for i, interval in zip(rows, profile_interval_set(objective, optimum, A[rows], level,
                                                      free), strict=True):
        bounds[i] = interval.lower, interval.upper
        intervals[i] = interval
    return bounds, intervals
