"""scikit-learn estimators: build the Objective from validated input, solve, keep the result.

``LogisticRegression`` fits binary (2 classes) or multinomial softmax (more) models;
``OrdinalLogisticRegression`` fits cumulative-link (proportional odds) models.
Both default to the maximum-likelihood fit (``alpha=0``), as R and Stata do. Input
validation and encoding live in :mod:`logitkit.inputs`, minibatch training in
:mod:`logitkit.training`, summaries in :mod:`logitkit.reporting`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from functools import partial

import numpy as np
import pandas as pd
from array_api_compat import is_torch_array
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from logitkit.aliasing import ALIAS_TOL
from logitkit.backends import (
    device,
    get_namespace,
    like,
    log_expit,
    logsumexp,
    product,
    to_numpy,
    weighted_counts,
)
from logitkit.divergence import diverging
from logitkit.exceptions import (
    AliasedColumnsWarning,
    ConvergenceWarning,
    PerfectSeparationWarning,
)
from logitkit.families import LINKS, Binomial, Multinomial, Ordinal
from logitkit.fitting import fit_objective
from logitkit.inference import collect
from logitkit.inputs import InputMixin
from logitkit.messages import plain
from logitkit.objective import Objective
from logitkit.reporting import ReportedParameters, StatisticsMixin
from logitkit.separation import detect_separation, lp_entries, lp_matrix
from logitkit.solvers.optimizers import OPTIMIZERS
from logitkit.training import MinibatchMixin

_SOLVERS = ("auto", "newton", "newton-cg", "lbfgs") + OPTIMIZERS


def is_dask(data) -> bool:
    """Whether ``data`` is a Dask collection (without importing dask)."""
    return type(data).__module__.partition(".")[0] == "dask"


def _lazy(estimator, method: str, X):
    """``estimator.method(X)`` of a fitted estimator on a Dask collection: a lazy dask
    array, one task per partition (:mod:`logitkit.dask.estimator`)."""
    from logitkit.dask.estimator import lazy_prediction

    check_is_fitted(estimator)
    return lazy_prediction(estimator, method, X)


def _largest_log_proba(estimator, objective, rows) -> float:
    """The largest log fitted probability of a row's own class among the rows with weight
    in the block ``rows`` of ``objective`` (-inf if none)."""
    log_p = estimator._observed_log_proba(objective.X[rows], objective.y[rows])
    xp = get_namespace(log_p)
    log_p = xp.where(objective.w[rows] > 0, log_p, xp.full_like(log_p, -math.inf))
    return float(to_numpy(xp.max(log_p)))


def _set_params(estimator, values: dict) -> None:
    """Store a constructor's arguments unchanged under their own names (scikit-learn's
    rule: ``__init__`` only records its parameters; validation happens in fit)."""
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
# the separation linear program is only run up to this many constraint entries
_SEPARATION_LP_MAX = 2e7
# fits with a row's own-class probability beyond 1 - this are probed for divergence (a
# separated logit fit stopped at tol 1e-8 with 5 separated rows in 100k had 1 - 7e-8)
_EXTREME_PROBA = 1e-6


class _LogitBase(InputMixin, MinibatchMixin, StatisticsMixin, ClassifierMixin,
                 BaseEstimator):
    """Shared validation, encoding, fitting and warnings of the two estimators."""

    # -- subclasses -------------------------------------------------------------------
    def _family(self, n_classes):
        raise NotImplementedError

    def _set_coefficients(self, objective, params):
        raise NotImplementedError

    # -- validation -------------------------------------------------------------------
    def _check_params(self):
        threshold = getattr(self, "threshold", 0.5)  # LogisticRegression only
        if not (isinstance(threshold, numbers.Real) and 0 < threshold < 1):
            raise ValueError(f"threshold must be a number in (0, 1), got {plain(threshold)!r}")
        if not (isinstance(self.alpha, numbers.Real) and np.isfinite(self.alpha)
                and self.alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {plain(self.alpha)!r}")
        if not (isinstance(self.l1_ratio, numbers.Real) and 0 <= self.l1_ratio <= 1):
            raise ValueError(f"l1_ratio must be in [0, 1], got {plain(self.l1_ratio)!r}")
        if self.alpha > 0 and self.l1_ratio > 0:
            raise NotImplementedError(
                "L1 and elastic-net penalties (l1_ratio > 0) are not implemented yet; "
                "use l1_ratio=0 (ridge) or alpha=0 (maximum likelihood)"
            )
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}, got {self.solver!r}")
        if not (isinstance(self.tol, numbers.Real) and self.tol > 0):
            raise ValueError(f"tol must be a number > 0, got {plain(self.tol)!r}")
        if not (isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be an integer >= 1, got {plain(self.max_iter)!r}")
        if self.solver in OPTIMIZERS:
            self._training_config()
        elif self.validation_split:
            raise ValueError("validation_split applies to the minibatch solvers "
                             f"{OPTIMIZERS}, not to solver={self.solver!r}")

    # -- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, clusters=None, validation_data=None, *,
            persist="auto"):
        """Fit by (penalised) maximum likelihood, exactly or by minibatch training.

        X: (n, d) array or DataFrame (categorical/string/bool columns are one-hot
        encoded), or a dask array (docs/dask.md). y: (n,) labels; a pandas Categorical
        fixes the class order. sample_weight: (n,) frequency weights (2 == the row
        repeated). clusters: (n,) group labels for cluster-robust standard errors
        (``summary(cov_type="cluster")``).
        validation_data: (X_val, y_val) or (X_val, y_val, sample_weight_val), minibatch
        solvers only: ``val_loss`` and ``val_accuracy`` in ``history_`` every epoch.
        persist: Dask input only: "auto" (keep the prepared partitions in the workers'
        memory when they fit), True or False (read them from their source every pass).
        """
        self._check_params()
        if is_dask(X):
            from logitkit.dask.estimator import dask_objective

            objective, clusters = dask_objective(self, X, y, sample_weight, clusters,
                                                 validation_data, persist)
            return self._fit_exact(objective, clusters)
        if persist != "auto":
            raise ValueError(f"persist={plain(persist)!r} applies to Dask input; X is "
                             f"{type(X).__name__}, which is fitted in memory")
        Xd = self._design(X, reset=True)
        classes, codes = self._target(y, Xd)
        weights = self._weights(sample_weight, Xd, classes, codes)
        self.empty_classes_ = self._empty_classes(
            classes, weighted_counts(codes, weights, len(classes)))
        if clusters is not None:
            clusters = column_or_1d(clusters)
            check_consistent_length(Xd, clusters)
        family = self._family(len(classes))
        self.classes_ = classes
        self.target_name_ = getattr(y, "name", None)
        self.coef_names_ = (self.encoder_.output_names if self.encoder_ is not None
                            else [f"x{j}" for j in range(Xd.shape[1])])
        if self.solver in OPTIMIZERS:
            return self._fit_minibatch(Xd, codes, weights, clusters, validation_data)
        if validation_data is not None:
            raise ValueError("validation_data applies to the minibatch solvers "
                             f"{OPTIMIZERS}, not to solver={self.solver!r}")
        objective = Objective(family, Xd, codes, weights, len(classes),
                              self._fits_intercept(), alpha=float(self.alpha))
        return self._fit_exact(objective, clusters, Xd)

    def _fit_exact(self, objective, clusters, Xd=None):
        """Solve ``objective`` and keep the result; ``Xd`` the in-memory design matrix
        (None for a Dask objective: no separation linear program then)."""
        aliased = self._aliased_columns(objective)
        with np.errstate(over="ignore", under="ignore"):
            result = fit_objective(objective, self.solver, self.tol, self.max_iter, aliased)
        self.result_ = result
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self._set_coefficients(objective, result.params)
        self.separation_ = self._diagnose(Xd, result, objective)
        self.inference_ = (collect(objective, result.params, clusters, result.hessian,
                                   result.free(objective))
                           if self.alpha == 0 and self.inference else None)
        self.n_passes_ = objective.reads.passes
        return self

    def _aliased_columns(self, objective) -> np.ndarray | None:
        """(d,) bool: columns aliased on the ones before them (unpenalised fits only; a
        ridge penalty makes every coefficient identifiable), with one warning naming them."""
        if self.alpha > 0:
            return None
        constant = objective.fit_intercept or objective.q > 0
        aliased = objective.aliased_columns(constant)
        if aliased.any():
            names = [self.coef_names_[j] for j in np.flatnonzero(aliased)]
            before = "the intercept and " if self._fits_intercept() else (
                "the cut points and " if constant else "")
            warnings.warn(
                f"{len(names)} column(s) are aliased, linear combinations of {before}the "
                f"columns before them (relative tolerance {ALIAS_TOL:g}): {names}. They are "
                "left out of the fit, as R's glm does: summary() reports them as NaN "
                "(aliased), coef_ holds 0 for them, and the degrees of freedom count the "
                "rank. Drop or combine these columns to silence this warning.",
                AliasedColumnsWarning,
                stacklevel=3,
            )
        return aliased

    def _fits_intercept(self) -> bool:
        return True

    def _empty_classes(self, classes, totals) -> list:
        """Classes of y whose total weight (``totals`` (K,)) is 0 (``class_weight={label:
        0}``), with a warning: they stay in ``classes_`` with a fitted probability near 0
        (their MLE), and the other classes are fitted as if their rows were absent, as
        scikit-learn does."""
        empty = plain(classes[totals <= 0])
        if empty:
            warnings.warn(
                f"class(es) {empty} have zero total weight: they are kept in classes_ with "
                "fitted probabilities near 0 (their maximum-likelihood value; the summary "
                "reports no standard errors for their parameters), and the other classes "
                "are fitted as if their rows were absent.",
                UserWarning,
                stacklevel=3,
            )
        return empty

    def _diagnose(self, Xd, result, objective):
        """Warn about separation or non-convergence; returns the SeparationReport or None.

        Sets ``separation_status_``, the summary's one-word account of the check. The
        exact check needs the in-memory design ``Xd`` (None: a Dask fit, which reports
        the symptom only).
        """
        report = None
        read = objective.reads.rows  # (in memory these passes are not counted)
        self.separation_status_ = "none" if self.alpha == 0 else "not checked (penalised)"
        if self.alpha == 0:
            # the linear program runs for fits that did not converge, or that show the
            # symptom of diverging estimates: fitted probabilities of 0 or 1 where one more
            # Newton step would still move the log-odds (logitkit.divergence)
            codes, weights = objective.y, objective.w
            small = Xd is not None and lp_entries(Xd) * (
                len(self.classes_) - 1) <= _SEPARATION_LP_MAX
            check = (not result.converged and small) or (
                self._max_observed_proba(Xd, codes, weights, objective, result.params)
                > 1 - _EXTREME_PROBA
                and diverging(objective, result))
            if check and small:
                report = detect_separation(lp_matrix(Xd), to_numpy(codes),
                                           objective.family.name, len(self.classes_),
                                           fit_intercept=self._fits_intercept(),
                                           sample_weight=to_numpy(weights))
            elif check:
                self.separation_status_ = ("possible (too large to check)" if Xd is not None
                                           else "possible (not checked on Dask input)")
                skipped = (f"is skipped above {_SEPARATION_LP_MAX:g} entries (rows x columns, "
                           "or a sparse X's stored entries, x (classes - 1))"
                           if Xd is not None else
                           "needs the rows in memory and is not run on Dask input")
                warnings.warn(
                    "Fitted probabilities of 0 or 1 occurred: the classes may be separated, "
                    "in which case the maximum-likelihood estimate does not exist. The exact "
                    f"check (a linear program) {skipped}; fit with alpha > 0 if the "
                    "coefficients are implausibly large.",
                    PerfectSeparationWarning,
                    stacklevel=3,
                )
        if report is not None and report.separated:
            self.separation_status_ = ("complete" if report.complete else "quasi-complete"
                                       ) + " (estimates diverge)"
            names = [self.coef_names_[j] for j in report.features]
            by = f"by {', '.join(names)}" if names else "by the intercept or cut points alone"
            kind = "completely" if report.complete else "quasi-completely"
            warnings.warn(
                f"The classes are {kind} separated {by}: the maximum-likelihood estimate does "
                "not exist, and the coefficients are finite only because the solver stopped. "
                "Fit with alpha > 0 (a ridge penalty) for finite, meaningful estimates.",
                PerfectSeparationWarning,
                stacklevel=3,
            )
        elif not result.converged:
            warnings.warn(
                f"{result.solver} did not converge: {result.report.reason}; max |gradient| = "
                f"{result.report.grad_max:.3g} > tol = {self.tol:g} after {result.n_iter} "
                "iterations. Increase max_iter, or check the data for collinear columns.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if Xd is not None:
            objective.reads.rows = read
        return report

    def _max_observed_proba(self, Xd, codes, weights, objective=None, params=None) -> float:
        """Largest fitted probability of a row's own class (rows with weight > 0): the
        objective's by-product of its pass at ``params`` when it has one, else computed
        where Xd lives.

        Host blocks are a sixteenth of the rows (at least 2048, at most 65536: the
        temporaries stay far below X); a tensor's are large, as each costs kernel
        launches.
        """
        known = None if objective is None else objective.largest_observed_proba(params)
        if known is not None:
            return known
        if Xd is None:  # a Dask objective: one pass over its partitions
            return float(np.exp(objective.row_maximum(partial(_largest_log_proba, self))))
        n = len(codes)
        block = (1 << 20) if is_torch_array(Xd) else int(np.clip(n // 16, 2048, 65536))
        largest = -np.inf
        for start in range(0, n, block):
            rows = slice(start, start + block)
            log_p = self._observed_log_proba(Xd[rows], codes[rows])
            xp = get_namespace(log_p)
            log_p = xp.where(weights[rows] > 0, log_p, xp.full_like(log_p, -math.inf))
            largest = max(largest, float(to_numpy(xp.max(log_p))))
        return float(np.exp(largest))

    def _observed_log_proba(self, Xd, codes):
        """(n,) float64 log fitted probability of each row's own class, where Xd lives."""
        proba = self._proba(Xd)
        xp = get_namespace(proba)
        with np.errstate(divide="ignore"):
            return xp.log(proba[xp.arange(proba.shape[0], device=device(proba)), codes])

    # -- prediction -------------------------------------------------------------------
    def predict_proba(self, X):
        """(n, K) class probabilities, columns in the order of ``classes_``."""
        if is_dask(X):
            return _lazy(self, "predict_proba", X)
        check_is_fitted(self)
        return to_numpy(self._proba(self._design(X, reset=False)))

    def predict(self, X):
        """(n,) the most probable class; for a binary ``LogisticRegression``, classes_[1]
        where its probability is >= ``threshold``, else classes_[0]."""
        if is_dask(X):
            return _lazy(self, "predict", X)
        proba = self.predict_proba(X)
        if proba.shape[1] == 2 and hasattr(self, "threshold"):  # LogisticRegression only
            return self.classes_[(proba[:, 1] >= self.threshold).astype(np.intp)]
        return self.classes_[np.argmax(proba, axis=1)]

    def save(self, path) -> None:
        """Write the fitted model to ``path`` (a single, pickle-free file; see logitkit.io)."""
        from logitkit.io import save_model

        check_is_fitted(self)
        save_model(self, path)

    def score(self, X, y, sample_weight=None):
        """Weighted accuracy (scikit-learn's ``score``); y and sample_weight may be tensors
        on any device."""
        y, sample_weight = (to_numpy(a) if is_torch_array(a) else a for a in (y, sample_weight))
        return super().score(X, y, sample_weight)

    def predict_log_proba(self, X):
        if is_dask(X):
            return _lazy(self, "predict_log_proba", X)
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


_COMMON_PARAMETERS = """
    device: None keeps the data where it is (NumPy on the host, a torch tensor on its
    device); "cpu", "cuda", ... fits on that torch device (torch tensors and NumPy input
    alike). Predictions come back as NumPy arrays. Without PyTorch this is an ImportError
    naming the extra to install; a name torch does not know, or a device this machine
    lacks, a ValueError naming the devices available.
    n_passes_ (fitted): how many times the fit read X (solver and inference passes; a
    row-sampled Hessian counts as its share of the rows; a minibatch epoch as one).
    inference: compute the observed information and score products at the optimum of an
    unpenalised fit (what summary() needs for standard errors, the HC2/HC3 meats of
    binary fits included); False skips them: an unpenalised 1M x 100 binary fit took
    1.33 s instead of 4.32 s with one BLAS thread (docs/speed.md).
"""


class LogisticRegression(_LogitBase):
    """Binary (2 classes) or multinomial softmax (K > 2) logistic regression.

    Minimises the weighted mean log-loss + alpha * (1 - l1_ratio) / 2 * ||coef||^2;
    intercepts are not penalised. ``coef_`` has shape (1, d) for two classes and (K, d)
    for K > 2 in the symmetric form of scikit-learn (columns sum to zero over classes);
    ``coef_[k] - coef_[0]`` is the baseline-category form that R and Stata report.

    threshold: binary fits only: ``predict`` gives classes_[1] where its probability is
    >= threshold (default 0.5), else classes_[0]. Tune it with scikit-learn's
    ``TunedThresholdClassifierCV`` (docs/threshold.md).
    solver: "auto" (Newton with Cholesky; truncated Newton above 1000 parameters and for
    multinomial fits whose Hessian costs many passes over X), "newton", "newton-cg" or
    "lbfgs". tol bounds the largest gradient entry in standardised coordinates.
    The minibatch solvers "sgd", "adam", "rmsprop" and "adagrad" train the same objective
    the way Keras does; their keyword-only parameters (learning_rate, epochs, batch_size,
    ...) are described in :class:`logitkit.solvers.stochastic.TrainingConfig` and
    docs/training.md.
    """

    def __init__(self, alpha=0.0, l1_ratio=0.0, fit_intercept=True, class_weight=None,
                 solver="auto", tol=1e-8, max_iter=100, *, threshold=0.5,
                 learning_rate=None, epochs=100, batch_size=32, momentum=0.0, nesterov=False,
                 beta_1=0.9, beta_2=0.999, rho=0.9, epsilon=1e-7, schedule=None,
                 decay_rate=0.96, decay_steps=None, early_stopping=False, patience=5,
                 min_delta=0.0, restore_best_weights=True, validation_split=0.0, shuffle=True,
                 kernel_initializer="zeros", random_state=None, verbose=0, device=None,
                 inference=True):
        _set_params(self, locals())

    def _family(self, n_classes):
        if n_classes > 2 and self.threshold != 0.5:
            raise ValueError(f"threshold={plain(self.threshold)!r} applies to binary fits; y has "
                             f"{n_classes} classes (a multinomial fit predicts the most "
                             "probable class): leave threshold at 0.5")
        return Binomial() if n_classes == 2 else Multinomial()

    def _fits_intercept(self):
        return bool(self.fit_intercept)

    def _set_coefficients(self, objective, params):
        W, _ = objective.unpack(params)
        d = objective.d
        slopes = W[:, :d]
        intercepts = W[:, d] if objective.fit_intercept else np.zeros(W.shape[0])
        if len(self.classes_) > 2:
            slopes = np.vstack([np.zeros((1, d)), slopes])
            intercepts = np.concatenate([[0.0], intercepts])
            slopes = slopes - slopes.mean(axis=0)
            intercepts = intercepts - intercepts.mean()
        self.coef_ = slopes
        self.intercept_ = intercepts

    def _model_name(self):
        return "Logit" if len(self.classes_) == 2 else "Multinomial logit"

    def _link_name(self):
        return "logit" if len(self.classes_) == 2 else "softmax"

    def _reported(self, base_class=None) -> ReportedParameters:
        check_is_fitted(self)
        d, K = len(self.coef_names_), len(self.classes_)
        terms = (["Intercept"] if self.fit_intercept else []) + list(self.coef_names_)
        d1 = len(terms)
        # natural row k (class k+1 vs class 0) holds slopes then intercept; reorder
        order = ([d] if self.fit_intercept else []) + list(range(d))
        per_class = np.eye(d1)[order]  # (d1, d1): natural -> reported within one class
        if K == 2:
            if base_class is not None:
                raise ValueError("base_class applies to multinomial fits only")
            return ReportedParameters(per_class, pd.Index(terms, name="term"),
                                      np.ones(d1, bool), np.arange(d1) >= d1 - d)
        base = self._default_base() if base_class is None else self._class_index(base_class)
        natural = np.vstack([np.zeros((d1, d1 * (K - 1))),
                             np.kron(np.eye(K - 1), per_class)])  # (K*d1, p): all classes
        blocks = [natural[k * d1:(k + 1) * d1] - natural[base * d1:(base + 1) * d1]
                  for k in range(K) if k != base]
        labels = [c for k, c in enumerate(self.classes_) if k != base]
        index = pd.MultiIndex.from_product([labels, terms],
                                           names=[self.target_name_ or "class", "term"])
        slope = np.tile(np.arange(d1) >= d1 - d, K - 1)
        return ReportedParameters(np.vstack(blocks), index, np.ones(len(index), bool), slope)

    def _default_base(self) -> int:
        """classes_[0], or the first class with weight when it has none."""
        empty = getattr(self, "empty_classes_", [])
        return next(k for k, c in enumerate(self.classes_) if c not in empty)

    def _class_index(self, label) -> int:
        matches = np.flatnonzero(self.classes_ == label)
        if len(matches) == 0:
            raise ValueError(f"base_class {plain(label)!r} is not one of classes_ "
                             f"{plain(self.classes_)}")
        return int(matches[0])

    def get_weights(self) -> list:
        """Keras's layout of a ``Dense(m, sigmoid | softmax)`` layer: [kernel (d, m), bias
        (m,)], m = 1 for two classes, else K (the centred softmax weights)."""
        check_is_fitted(self)
        return [self.coef_.T.copy(), np.asarray(self.intercept_, dtype=float).copy()]

    def decision_function(self, X):
        """Linear predictor: (n,) log-odds of classes_[1] for 2 classes, else (n, K) logits."""
        if is_dask(X):
            return _lazy(self, "decision_function", X)
        check_is_fitted(self)
        Xd = self._design(X, reset=False)
        scores = to_numpy(self._scores(Xd))
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def _scores(self, Xd):
        """(n, m) float64 linear predictor where Xd lives: m = 1 for two classes, else K."""
        return product(Xd, self.coef_) + like(self.intercept_, Xd)

    def _proba(self, Xd):
        """(n, K) float64 probabilities, where Xd lives."""
        scores = self._scores(Xd)
        if scores.shape[1] == 1:
            return Binomial().predict_proba(scores, np.zeros(0))
        return Multinomial().predict_proba(scores[:, 1:] - scores[:, :1], np.zeros(0))

    def _observed_log_proba(self, Xd, codes):
        scores = self._scores(Xd)
        xp = get_namespace(scores)
        if scores.shape[1] == 1:  # log sigmoid(+-z), the sign by the row's class
            return log_expit(xp.where(codes == 1, scores[:, 0], -scores[:, 0]))
        rows = xp.arange(scores.shape[0], device=device(scores))
        return scores[rows, codes] - logsumexp(scores, axis=1)


class OrdinalLogisticRegression(_LogitBase):
    """Cumulative-link (proportional odds) model for ordered classes.

    P(Y <= classes_[j] | x) = F(thresholds_[j] - x @ coef_), F the ``link``'s CDF
    ("logit", "probit" or "cloglog"); the MASS::polr / Stata ologit sign convention.
    The order of the classes is a pandas Categorical's category order, else sorted.
    ``coef_`` has shape (d,), ``thresholds_`` (K-1,), increasing. No intercept: the
    cut points absorb it.
    """

    def __init__(self, link="logit", alpha=0.0, l1_ratio=0.0, class_weight=None,
                 solver="auto", tol=1e-8, max_iter=100, *,
                 learning_rate=None, epochs=100, batch_size=32, momentum=0.0, nesterov=False,
                 beta_1=0.9, beta_2=0.999, rho=0.9, epsilon=1e-7, schedule=None,
                 decay_rate=0.96, decay_steps=None, early_stopping=False, patience=5,
                 min_delta=0.0, restore_best_weights=True, validation_split=0.0, shuffle=True,
                 kernel_initializer="zeros", random_state=None, verbose=0, device=None,
                 inference=True):
        _set_params(self, locals())

    _ordered_classes = True

    def _check_params(self):
        if self.link not in LINKS:
            raise ValueError(f"link must be one of {sorted(LINKS)}, got {self.link!r}")
        super()._check_params()

    def _family(self, n_classes):
        return Ordinal(self.link)

    def _fits_intercept(self):
        return False

    def _set_coefficients(self, objective, params):
        W, aux = objective.unpack(params)
        self.coef_ = W[0, : objective.d].copy()
        self.thresholds_ = aux.copy()

    def _model_name(self):
        return f"Ordinal {self.link}"

    def _link_name(self):
        return self.link

    def _reported(self, base_class=None) -> ReportedParameters:
        check_is_fitted(self)
        if base_class is not None:
            raise ValueError("base_class applies to multinomial fits only")
        d, q = len(self.coef_names_), len(self.thresholds_)
        cuts = [f"{lo}|{hi}" for lo, hi in zip(self.classes_[:-1], self.classes_[1:],
                                                 strict=True)]
        slope = np.arange(d + q) < d
        return ReportedParameters(np.eye(d + q), pd.Index(list(self.coef_names_) + cuts,
                                                          name="term"),
                                  slope & (self.link == "logit"), slope)

    def get_weights(self) -> list:
        """[kernel (d, 1), thresholds (K-1,)]: the slopes as a Keras kernel and the cut points."""
        check_is_fitted(self)
        return [self.coef_[:, None].copy(), self.thresholds_.copy()]

    def _proba(self, Xd):
        eta = product(Xd, self.coef_[None, :])
        return Ordinal(self.link).predict_proba(eta, like(self.thresholds_, eta))

    def _observed_log_proba(self, Xd, codes):
        eta = product(Xd, self.coef_[None, :])
        return Ordinal(self.link).observed_log_proba(eta, like(self.thresholds_, eta), codes)


for _estimator in (LogisticRegression, OrdinalLogisticRegression):
    _estimator.__doc__ += _COMMON_PARAMETERS
