"""Penalised likelihood-ratio tests and profile penalised-likelihood intervals (logistf's
``pl=TRUE``), by constrained refits of a Firth objective.

Works on any ``problem`` with ``evaluate(theta, order)`` (mean scale: value = -log of
the (penalised) likelihood / total_weight), ``total_weight`` and ``n_params``, as
:class:`~logitkit.firth.FirthObjective` and the generic profile machinery's
objectives have; the refits are :func:`~logitkit.firth.fit_firth` with one parameter
held fixed, warm-started, so that the penalty stays that of the full model (logistf's
convention: I(theta) of every parameter, evaluated at the constrained estimate).

The interval's ends are the exact crossings of the profile with pll_hat - chi2_1(level)/2.
Each end is found first by Venzon and Moolgavkar's (1988) joint iteration: Newton steps on
the system {d pll / d theta_k = 0 for k != j, pll(theta) = pll_hat - chi2/2}, the parameter
j's step the root of the quadratic model along the conditional optimum (two passes an
iteration, from the Wald end); should it fail, by secant steps on the signed root r(b) =
sign(b - b_hat) sqrt(2 (pll_hat - pll(b))) of constrained refits (close to linear in b),
kept inside a bracket once one is known; an end that r never reaches (the profile
flattens) is infinite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.stats as st

from logitkit.firth import fit_firth, secant_corrected

# a constrained refit's tolerance (standardised gradient), and the signed root's
_REFIT_TOL = 1e-8
_ROOT_TOL = 1e-9
# an end's remaining Newton gain in the penalised log-likelihood; a test's refit stops
# at a gain of _TEST_DECREMENT and adds it (its statistic is then within ~2e-10)
_DECREMENT = 1e-11
_TEST_DECREMENT = 1e-9
# an end's last step, in standard errors (and the penalised log-likelihood's distance
# to its target), small enough to be taken without evaluating where it lands: the
# iterations contract the error by 0.1 or less a step, so the end is then within about
# 1e-9 of the target in the penalised log-likelihood
_LAST_STEP = 1e-8
_MAX_ROOT_STEPS = 60
# an end further than this many standard errors from the estimate counts as infinite
_FAR = 1e4


@dataclass(frozen=True)
class Profiled:
    """A refit with parameter ``index`` held at ``value``: natural theta, and 2 (pll_hat
    - pll) >= 0, the penalised likelihood-ratio statistic."""

    value: float
    theta: np.ndarray
    statistic: float
    converged: bool


def refit_fixed(problem, theta_hat, pll_hat: float, index: int, value: float,
                start=None, max_iter: int = 200) -> Profiled:
    """Maximise the penalised likelihood with natural parameter ``index`` held at
    ``value`` (the others free), from ``start`` (default: ``theta_hat`` with that entry
    set)."""
    theta0 = np.array(theta_hat if start is None else start, dtype=float)
    theta0[index] = value
    fixed = np.zeros(problem.n_params, bool)
    fixed[index] = True
    fit = fit_firth(problem, theta0, _REFIT_TOL, max_iter, fixed, _TEST_DECREMENT,
                    secant=True)
    statistic = max(0.0, 2.0 * (pll_hat - fit.penalised_log_likelihood))
    return Profiled(float(value), fit.theta, statistic, fit.report.converged)


def lr_test(problem, theta_hat, pll_hat: float, index: int, cov_column=None) -> Profiled:
    """Penalised likelihood-ratio test of natural parameter ``index`` = 0 (chi2, 1 df),
    warm-started along ``cov_column`` ((p,) covariance column of the parameter, the
    direction the other estimates move with it), when given."""
    return refit_fixed(problem, theta_hat, pll_hat, index, 0.0,
                       _along(theta_hat, index, 0.0, cov_column))


def _along(theta, index, value, cov_column):
    """theta moved so that entry ``index`` is ``value``, the others along the
    regression on it implied by ``cov_column`` (None: the others unchanged)."""
    start = np.array(theta, dtype=float)
    if cov_column is not None and cov_column[index] > 0:
        start += (value - start[index]) * cov_column / cov_column[index]
    start[index] = value
    return start


def profile_limit(problem, theta_hat, pll_hat: float, index: int, side: int,
                  level: float, cov_column) -> float:
    """The lower (``side`` = -1) or upper (+1) end of the profile penalised-likelihood
    interval of natural parameter ``index`` at ``level``: the b on that side with
    2 (pll_hat - pll(b)) = chi2_1(level); +-inf when the profile never gets there."""
    end = _joint_limit(problem, theta_hat, pll_hat, index, side, level, cov_column)
    if end is not None:
        return end
    return _nested_limit(problem, theta_hat, pll_hat, index, side, level, cov_column)


def _joint_limit(problem, theta_hat, pll_hat, j, side, level, cov_column):
    """Venzon and Moolgavkar's iteration for one end (None if it does not converge)."""
    N = problem.total_weight
    target = pll_hat - 0.5 * st.chi2.ppf(level, 1)
    free = getattr(problem, "free", np.ones(problem.n_params, bool)).copy()
    rest = free.copy()
    rest[j] = False
    se = float(np.sqrt(cov_column[j]))
    theta = _along(theta_hat, j, theta_hat[j] + side * np.sqrt(st.chi2.ppf(level, 1)) * se,
                   cov_column)
    previous = None
    for _ in range(_MAX_ROOT_STEPS):
        value, grad, hess = problem.evaluate(theta, 2)
        if not np.isfinite(value):
            return None
        pll, g, A = -value * N, -grad * N, hess * N
        if previous is not None:
            A = secant_corrected(A, theta - previous[0], previous[1] - g)
        previous = (theta, g)
        A_rr = A[np.ix_(rest, rest)]
        both = sla.cho_solve(sla.cho_factor(A_rr, lower=True, check_finite=False),
                             np.column_stack([g[rest], A[rest, j]]))
        u, v = both[:, 0], both[:, 1]
        s = A[j, j] - A[j, rest] @ v
        k = g[j] - g[rest] @ v
        D = pll - target + 0.5 * g[rest] @ u
        # converged when on the target and the nuisance parameters' remaining Newton
        # gain g_r' A_rr^-1 g_r / 2 (what the profile lies above this point) is below
        # _DECREMENT: the end is then within about _DECREMENT / |slope| of the exact one
        if abs(pll - target) <= _ROOT_TOL and 0.5 * g[rest] @ u <= _DECREMENT:
            return float(theta[j])
        disc = k * k + 2 * s * D
        if s <= 0 or disc < 0:
            return None
        step_j = (k + side * np.sqrt(disc)) / s
        step = np.zeros_like(theta)
        step[j] = step_j
        step[rest] = u - v * step_j
        if abs(theta[j] + step_j - theta_hat[j]) > _FAR * se:
            return None
        if abs(step_j) <= _LAST_STEP * se and abs(pll - target) <= _LAST_STEP:
            # the step lands within about (rate x step) of the end: take it unevaluated
            return float(theta[j] + step_j)
        theta = theta + step
    return None


def _nested_limit(problem, theta_hat, pll_hat, index, side, level, cov_column):
    """One end by secant steps on the signed root of constrained refits."""
    b_hat = float(theta_hat[index])
    se = float(np.sqrt(cov_column[index]))
    target = float(np.sqrt(st.chi2.ppf(level, 1)))
    known = [(0.0, b_hat, np.asarray(theta_hat, float))]  # (root, b, theta)
    below, above = known[0], None  # bracket: root < target, root > target
    b = b_hat + side * target * se
    for _ in range(_MAX_ROOT_STEPS):
        near = min(known, key=lambda k: abs(k[1] - b))
        point = refit_fixed(problem, theta_hat, pll_hat, index, b,
                            _along(near[2], index, b, cov_column))
        root = np.sqrt(point.statistic)
        if abs(root - target) <= _ROOT_TOL:
            return b
        entry = (root, b, point.theta)
        known.append(entry)
        if root < target and abs(b - b_hat) >= abs(below[1] - b_hat):
            below = entry
        elif root > target and (above is None or abs(b - b_hat) < abs(above[1] - b_hat)):
            above = entry
        # secant through the two latest points, kept inside the bracket
        (r1, b1, _), (r2, b2, _) = known[-2], known[-1]
        step_b = (b2 - b1) * (target - r2) / (r2 - r1) if r2 != r1 else np.inf
        b_next = b2 + step_b
        if above is None:
            if not np.isfinite(b_next) or side * (b_next - below[1]) <= 0:
                b_next = below[1] + side * 2.0 * max(abs(below[1] - b_hat), se)
            if abs(b_next - b_hat) > _FAR * se:
                return side * np.inf
        else:
            lo, hi = sorted((below[1], above[1]))
            if not (np.isfinite(b_next) and lo < b_next < hi):
                b_next = 0.5 * (lo + hi)
            if hi - lo <= 1e-12 * max(1.0, abs(b_hat)):
                return b_next
        b = b_next
    return b
