"""A cheap symptom of diverging estimates: the Newton step at the end of a fit.

At a finite optimum Newton converges quadratically: one more step from where a fit
stopped moves the linear predictors by about gradient / curvature, a few orders of
magnitude below the data's scale. When the classes are (quasi-)completely separated
the likelihood only approaches its supremum along a direction of recession: gradient
and curvature along it both decay like the tail of the link's CDF, and their ratio does
not. Each Newton step then moves the margins of the separated rows by about 1 (logit),
1/margin (probit) or exp(-margin) (cloglog), however small the gradient has become:
the steps do not shrink. Thin tails can go further: cloglog's upper tail fits the
separated rows with probability exactly 1 after a few steps, and their gradient and
curvature are then exactly 0, which leaves the Hessian singular (aliased columns and
classes without weight are left out first), the other symptom.
:func:`newton_move` measures that one step, so that the exact
check (the linear program of :mod:`logitkit.separation`) runs only for fits that show
the symptom, and not for every fit whose thin-tailed link (probit, cloglog) puts a fitted
probability within 1e-8 of 1 without any separation.

The step is taken in natural coordinates with the exact Hessian over all rows (a row
sample could miss the few separated rows) and measured where it matters: the change in
the log-odds between the classes that have weight, on the rows that have weight.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from logitkit.backends import to_numpy
from logitkit.objective import Objective
from logitkit.solvers.newton import NewtonSystem

# a move of the linear predictors below this by one more Newton step is convergence;
# separated fits (tests/test_divergence.py's and iris) measured 0.18 (probit) to 176 or a
# singular Hessian, converged ones (probit, cloglog, logit; tol 1e-4 and 1e-8, Newton and
# L-BFGS) at most 2.3e-8
DIVERGING_MOVE = 1e-3
# the probe forms a Hessian (when the fit has none) for at most this many parameters, the
# solvers' own limit for Newton
_PROBE_MAX_PARAMS = 1000


def frozen_parameters(objective: Objective, empty) -> np.ndarray:
    """(p,) bool: the natural parameters that only serve classes without weight (their
    MLE is at infinity by design): a non-base multinomial class's row of W, an ordinal
    class's upper cut point (its lower one for the last class). ``empty``: (K,) bool."""
    frozen = np.zeros(objective.n_params, dtype=bool)
    K, d1 = objective.n_classes, objective.d1
    for k in np.flatnonzero(empty):
        if objective.family.name == "multinomial" and k > 0:
            frozen[(k - 1) * d1 : k * d1] = True
        elif objective.family.name == "ordinal":
            frozen[objective.m * d1 + min(k, K - 2)] = True
    return frozen


def newton_move(objective: Objective, params, movable, hessian=None) -> float:
    """Largest change one more Newton step from natural ``params`` would make to the
    log-odds between two classes with weight, over the rows with weight.

    ``movable``: (p,) bool, the parameters the step may change (others stay fixed).
    ``hessian``: the natural mean Hessian at ``params`` if already known (then one
    gradient pass, none if the fit's last pass was at ``params``), else formed here (one
    Hessian pass); one more pass measures the move.
    """
    grad = None if hessian is None else objective.gradient_at(params)
    if grad is None:
        _, grad, hess = objective.evaluate(params, 1 if hessian is not None else 2)
        hessian = hessian if hessian is not None else hess
    hess = hessian
    step = np.zeros(objective.n_params)
    if movable.any():
        system = NewtonSystem(hess[np.ix_(movable, movable)])
        if system.singular:  # no curvature left along a direction: rows fitted exactly
            return float("inf")
        step[movable] = system.solve(grad[movable])
    if not np.all(np.isfinite(step)):
        return float("inf")
    W, aux = objective.unpack(step)
    present = objective.class_weight_sums() > 0
    return objective.row_maximum(partial(_block_move, W, aux, present))


def _block_move(W, aux, present, objective: Objective, rows) -> float:
    """:func:`_move` of the rows of ``objective`` with weight in the block ``rows``."""
    keep = to_numpy(objective.w[rows]) > 0
    eta = to_numpy(objective._eta(objective.X[rows], W))[keep]  # (b, m) change of eta
    if not eta.shape[0]:
        return 0.0
    codes = to_numpy(objective.y[rows]).astype(np.intp)[keep]
    return _move(objective.family.name, eta, aux, codes, present)


def _move(kind: str, eta, aux, codes, present) -> float:
    """Largest log-odds change of a block: eta (b, m) change of the linear predictors,
    aux (q,) change of the cut points, codes (b,) the rows' classes, present (K,) bool."""
    if kind == "ordinal":  # the finite ends theta_c - eta and theta_{c-1} - eta
        cuts = np.concatenate([[0.0], aux, [0.0]])
        finite = np.arange(len(cuts)) % (len(cuts) - 1) != 0  # (K+1,): not -inf, +inf
        ends = np.stack([cuts[codes + 1], cuts[codes]], axis=1) - eta
        ends *= np.stack([finite[codes + 1], finite[codes]], axis=1)
        return float(np.max(np.abs(ends), initial=0.0))
    logits = np.concatenate([np.zeros((eta.shape[0], 1)), eta], axis=1)[:, present]
    return float(np.max(logits.max(axis=1) - logits.min(axis=1), initial=0.0))


def diverging(objective: Objective, result) -> bool:
    """Whether the unpenalised fit ``result`` (a :class:`logitkit.fitting.FitResult`) of
    ``objective`` (unpenalised) stopped where one more Newton step would still move the
    log-odds by more than :data:`DIVERGING_MOVE`, or where the Hessian is singular: the
    symptoms of estimates diverging along a direction. Without the fit's Hessian and with
    more than ``_PROBE_MAX_PARAMS`` parameters, forming one would cost more than the fit:
    True."""
    if result.hessian is None and objective.n_params > _PROBE_MAX_PARAMS:
        return True
    empty = objective.class_weight_sums() <= 0
    movable = result.free(objective) & ~frozen_parameters(objective, empty)
    return newton_move(objective, result.params, movable, result.hessian) > DIVERGING_MOVE
