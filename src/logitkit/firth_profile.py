"""Penalised likelihood-ratio tests and profile penalised-likelihood intervals (logistf's
``pl=TRUE``), by constrained refits of a Firth objective.

Works on any ``problem`` with ``evaluate(theta, order)`` (mean scale: value = -log of
the (penalised) likelihood / total_weight), ``total_weight`` and ``n_params``, as
:class:`~logitkit.firth.FirthObjective` and the generic profile machinery's
objectives have; the refits are :func:`~logitkit.firth.fit_firth` with one parameter
held fixed, warm-started, so that the penalty stays that of the full model (logistf's
convention: I(theta) of every parameter, evaluated at the constrained estimate).

The interval's ends are the exact crossings of the profile with pll_hat - chi2_1(level)/2,
found by the generic profile machinery (:func:`logitkit.profile.profile_interval`:
Venzon and Moolgavkar's joint iteration from the Wald end, one evaluation a step with a
secant-corrected Newton matrix; a root-finder on constrained refits should it fail; an
end the profile never reaches is infinite).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logitkit.firth import fit_firth
from logitkit.profile import Solution, profile_interval_set

# a constrained refit's tolerance (standardised gradient); a test's refit stops at a
# Newton gain of _TEST_DECREMENT and adds it (its statistic is then within ~2e-10)
_REFIT_TOL = 1e-8
_TEST_DECREMENT = 1e-9


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


def profile_limits(problem, theta_hat, indices, level: float):
    """((r,) lower, (r,) upper) profile penalised-likelihood intervals of the natural
    parameters ``indices`` at ``level`` (-inf / +inf on a side the profile never falls
    to the cut-off), by :func:`logitkit.profile.profile_interval` from the optimum
    ``theta_hat`` (the joint iteration from the Wald end, the root-finder on refits as
    its fallback); the optimum is evaluated once for all of them."""
    value, grad, hess = problem.evaluate(theta_hat, 2)
    optimum = Solution(np.asarray(theta_hat, dtype=float), value, grad, hess)
    free = getattr(problem, "free", None)
    A = np.zeros((len(indices), problem.n_params))
    A[np.arange(len(indices)), indices] = 1.0
    intervals = profile_interval_set(problem, optimum, A, level, free)
    return (np.array([i.lower for i in intervals]), np.array([i.upper for i in intervals]))
