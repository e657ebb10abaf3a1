"""Regularisation paths: warm-started fits over a decreasing grid of alphas (glmnet's).

``regularization_path(X, y, l1_ratio=r)`` validates and encodes X once, finds alpha_max
(the smallest alpha at which every penalised slope is 0), walks a log grid from it down
to ``alpha_max * alpha_min_ratio`` (or the ``alphas`` given), each fit by proximal
Newton (:mod:`logitkit.solvers.prox_newton`) from the previous one's solution with the
sequential strong rule (glmnet's) choosing its first working set, and returns a
:class:`RegularizationPath`.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
from sklearn.base import clone

from logitkit.fitting import fit_objective
from logitkit.messages import plain
from logitkit.objective import Objective, RowReads
from logitkit.penalties import L1Penalty, check_penalty_factor
from logitkit.solvers.working_columns import WorkingColumns

# glmnet's stand-in for l1_ratio in alpha_max of a ridge path (l1_ratio = 0), where no
# finite alpha zeroes every coefficient
_RIDGE_L1 = 1e-3

__all__ = ["RegularizationPath", "regularization_path"]


class RegularizationPath:
    """The fits of a path, one per alpha (decreasing).

    alphas_: (A,). coefs_: (A, *coef_.shape) (binary (A, 1, d), multinomial (A, K, d),
    ordinal (A, d)). intercepts_: (A, m) of a LogisticRegression (None for ordinal
    models), thresholds_: (A, K-1) cut points of an OrdinalLogisticRegression (None for
    LogisticRegression). deviance_: (A,) -2 log-likelihood (weights count as repeated
    rows). n_nonzero_: (A,) features with a non-zero coefficient (in any class).
    n_iter_, kkt_violation_: (A,) each fit's proximal Newton iterations and final largest
    KKT violation. l1_ratio, alpha_max_ (the smallest alpha zeroing every penalised
    slope, alphas_[0] unless ``alphas`` were given), n_passes_ (reads of X, all fits).
    """

    def __init__(self, estimators, l1_ratio: float, alpha_max: float, passes: float):
        self._estimators = estimators
        self.l1_ratio = l1_ratio
        self.alpha_max_ = alpha_max
        self.n_passes_ = passes
        self.alphas_ = np.array([e.alpha for e in estimators], dtype=float)
        self.coefs_ = np.stack([e.coef_ for e in estimators])
        ordinal = hasattr(estimators[0], "thresholds_")
        self.intercepts_ = None if ordinal else np.stack([e.intercept_ for e in estimators])
        self.thresholds_ = np.stack([e.thresholds_ for e in estimators]) if ordinal else None
        self.deviance_ = np.array([-2.0 * e.log_likelihood_ for e in estimators])
        self.n_nonzero_ = np.array([int(np.any(np.atleast_2d(e.coef_) != 0, axis=0).sum())
                                    for e in estimators])
        self.n_iter_ = np.array([e.n_iter_ for e in estimators])
        self.kkt_violation_ = np.array([e.kkt_violation_ for e in estimators])

    def __len__(self) -> int:
        return len(self._estimators)

    def estimator(self, i: int):
        """A fitted estimator (the class of the path's ``estimator``, with its parameters
        and alpha = alphas_[i]) at the i-th alpha: a copy, usable with predict_proba,
        summary, save and any scikit-learn scorer."""
        return copy.deepcopy(self._estimators[i])

    def plot(self, ax=None):
        """:func:`logitkit.plots.plot_path` of this path; returns the Axes."""
        from logitkit.plots import plot_path

        return plot_path(self, ax=ax)


def regularization_path(X, y, *, estimator=None, l1_ratio=1.0, n_alphas=100,
                        alpha_min_ratio=None, alphas=None, sample_weight=None):
    """Fit ``estimator`` (an unfitted LogisticRegression or OrdinalLogisticRegression,
    default LogisticRegression(); its other parameters are used, its alpha and l1_ratio
    are not) at each alpha of a decreasing grid, warm-started: the objective is mean
    weighted loss + alpha * sum_j f_j (l1_ratio |b_j| + (1 - l1_ratio) / 2 b_j^2).

    The grid: ``n_alphas`` alphas log-spaced from alpha_max (the smallest alpha at which
    every penalised slope is 0; for l1_ratio = 0, glmnet's convention: that of
    l1_ratio = 0.001) down to alpha_max * ``alpha_min_ratio`` (default glmnet's: 1e-4 when
    there are more rows than feature columns, else 1e-2); or ``alphas`` (> 0, used sorted
    decreasing). Each fit stops when its largest KKT violation is <= the estimator's tol.
    Returns a :class:`RegularizationPath`.
    """
    from logitkit.estimators import LogisticRegression

    base = LogisticRegression() if estimator is None else estimator
    if not hasattr(base, "_prepare"):
        raise TypeError("estimator must be a logitkit LogisticRegression or "
                        f"OrdinalLogisticRegression, got {type(base).__name__}")
    if not (isinstance(l1_ratio, numbers.Real) and 0 <= l1_ratio <= 1):
        raise ValueError(f"l1_ratio must be in [0, 1], got {plain(l1_ratio)!r}")
    template = clone(base).set_params(alpha=1.0, l1_ratio=float(l1_ratio))
    template._check_params()
    if template.solver not in ("auto", "prox-newton"):
        raise ValueError("regularization_path fits every alpha with solver='prox-newton' "
                         f"(warm starts); the estimator has solver={template.solver!r}: "
                         "leave it at 'auto'")
    grid = _checked_alphas(alphas, n_alphas, alpha_min_ratio)
    Xd, codes, weights, family = template._prepare(X, y, sample_weight)
    factor = check_penalty_factor(template.penalty_factor, Xd.shape[1])
    grouped = getattr(template, "penalty_groups", "none") == "grouped"
    penalised = np.ones(Xd.shape[1], bool) if factor is None else factor > 0
    if not penalised.any():
        raise ValueError("every column has penalty_factor 0 (unpenalised): there is no path")

    def objective(alpha, reads):
        return Objective(family, Xd, codes, weights, len(template.classes_),
                         template._fits_intercept(), alpha * (1.0 - l1_ratio), reads, factor)

    reads = RowReads(Xd.shape[0])
    # the null model: every penalised slope fixed at 0, the rest (and intercepts) fitted
    null = fit_objective(objective(0.0, reads), "prox-newton", template.tol,
                         template.max_iter, penalised)
    alpha_max = _alpha_max(null.report.gradient, objective(0.0, reads), factor, penalised,
                           max(l1_ratio, _RIDGE_L1), grouped)
    if grid is None:
        ratio = alpha_min_ratio if alpha_min_ratio is not None else (
            1e-4 if Xd.shape[0] > Xd.shape[1] else 1e-2)
        grid = alpha_max * np.logspace(0.0, np.log10(ratio), n_alphas)
    last = objective(0.0, reads)
    theta, gradient, previous = null.params, null.report.gradient, alpha_max
    smooth = null.report.value  # the null model's L1 part is 0
    fitted, passes, workspace = [], reads.passes, WorkingColumns()
    for alpha in grid:
        fit_reads = RowReads(Xd.shape[0])
        ob = objective(alpha, fit_reads)
        l1 = L1Penalty(alpha * l1_ratio, ob.d, factor, grouped)
        screen = _strong_rule(gradient, ob, l1, alpha, previous) if l1_ratio > 0 else None
        known = _moved_ridge(smooth, gradient, theta, last, ob)
        with np.errstate(over="ignore", under="ignore"):
            result = fit_objective(ob, "prox-newton", template.tol, template.max_iter,
                                   None, l1, start=theta, screen=screen, known=known,
                                   workspace=workspace)
        model = copy.deepcopy(template).set_params(alpha=float(alpha))
        fitted.append(model._keep_result(ob, result))
        theta, gradient, previous, last = (result.params, result.report.gradient, alpha,
                                           ob)
        smooth = result.report.value - l1.value(ob.unpack(theta)[0][:, : ob.d])
        passes += fit_reads.passes
    return RegularizationPath(fitted, float(l1_ratio), alpha_max, passes)


def _moved_ridge(value, gradient, theta, old: Objective, new: Objective):
    """(value, gradient) of ``new`` at theta from those of ``old`` there: the two differ
    by their ridge parts only (no pass over X)."""
    W, _ = old.unpack(theta)
    moved = np.zeros_like(gradient)
    moved[: W.size] = (new.penalty.gradient(W) - old.penalty.gradient(W)).ravel()
    return value + new.penalty.value(W) - old.penalty.value(W), gradient + moved


def _checked_alphas(alphas, n_alphas, alpha_min_ratio):
    """The ``alphas`` given, sorted decreasing, or None after checking n_alphas and
    alpha_min_ratio."""
    if alphas is not None:
        grid = np.sort(np.asarray(alphas, dtype=float).ravel())[::-1]
        if grid.size == 0 or not np.all(np.isfinite(grid) & (grid > 0)):
            raise ValueError("alphas must be a non-empty list of finite numbers > 0")
        return grid
    if not (isinstance(n_alphas, numbers.Integral) and n_alphas >= 1):
        raise ValueError(f"n_alphas must be an integer >= 1, got {plain(n_alphas)!r}")
    if alpha_min_ratio is not None and not (isinstance(alpha_min_ratio, numbers.Real)
                                            and 0 < alpha_min_ratio < 1):
        raise ValueError(f"alpha_min_ratio must be in (0, 1), got {plain(alpha_min_ratio)!r}")
    return None


def _column_sizes(G, grouped: bool):
    """(d,) each column's largest |gradient| entry, or (grouped) its Euclidean norm."""
    return np.sqrt((G * G).sum(axis=0)) if grouped else np.abs(G).max(axis=0)


def _alpha_max(gradient, ob, factor, penalised, l1_ratio, grouped) -> float:
    """The smallest alpha whose L1 part zeroes every penalised slope at the null model
    (gradient there: (p,) natural): max_j size(G_j) / (l1_ratio f_j)."""
    W, _ = ob.unpack(gradient)
    sizes = _column_sizes(W[:, : ob.d], grouped)
    f = np.ones(ob.d) if factor is None else factor
    top = float(np.max(sizes[penalised] / (l1_ratio * f[penalised])))
    return top if top > 0 else 1.0


def _strong_rule(gradient, ob, l1, alpha, previous):
    """(d,) bool: the columns the sequential strong rule keeps at ``alpha`` from the
    ``previous`` fit's gradient: size(G_j) >= l1_ratio f_j (2 alpha - previous)."""
    W, _ = ob.unpack(gradient)
    weights = l1.weights() / alpha  # l1_ratio * f_j
    return _column_sizes(W[:, : ob.d], l1.grouped) >= weights * (2.0 * alpha - previous)
