"""scikit-learn estimators: build the Objective from validated input, solve, keep the result.

``LogisticRegression`` fits binary (2 classes) or multinomial softmax (more) models;
``OrdinalLogisticRegression`` fits cumulative-link (proportional odds) models.
Both default to the maximum-likelihood fit (``alpha=0``), as R and Stata do. Input
validation and encoding live in :mod:`logitkit.inputs`, minibatch training in
:mod:`logitkit.training`, summaries in :mod:`logitkit.reporting`.
"""

from __future__ import annotations

import numbers
import warnings
from functools import partial

import numpy as np
import pandas as pd
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
from logitkit.checks import ChecksMixin
from logitkit.confint import ConfIntMixin
from logitkit.cov_default import CovTypeMixin
from logitkit.diagnosis import DiagnosisMixin
from logitkit.exceptions import AliasedColumnsWarning
from logitkit.families import LINKS, Multinomial, Ordinal, binary_family
from logitkit.firth_estimator import FirthMixin
from logitkit.fitted_rows import FitRows, FitRowsMixin
from logitkit.fitting import fit_objective
from logitkit.inference import collect
from logitkit.inputs import InputMixin, check_finite_design
from logitkit.links import LinkOffsetMixin
from logitkit.margins import MarginsMixin
from logitkit.messages import plain
from logitkit.objective import Objective
from logitkit.offsets import check_offset, eta_offset
from logitkit.penalties import L1Penalty, check_penalty_factor
from logitkit.prediction import PredictionMixin, is_dask, lazy
from logitkit.reporting import ReportedParameters, StatisticsMixin
from logitkit.solvers.optimizers import OPTIMIZERS
from logitkit.training import MinibatchMixin

_SOLVERS = ("auto", "newton", "newton-cg", "lbfgs", "prox-newton") + OPTIMIZERS


def _set_params(estimator, values: dict) -> None:
    """Store a constructor's arguments unchanged under their own names (scikit-learn's
    rule: ``__init__`` only records its parameters; validation happens in fit)."""
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class _LogitBase(FirthMixin, InputMixin, PredictionMixin, MinibatchMixin, StatisticsMixin,
                 DiagnosisMixin,
                 FitRowsMixin, ConfIntMixin, ChecksMixin, MarginsMixin, LinkOffsetMixin,
                 CovTypeMixin, ClassifierMixin, BaseEstimator):
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
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}, got {self.solver!r}")
        if self._has_l1() and self.solver not in ("auto", "prox-newton"):
            raise ValueError(
                f"solver={self.solver!r} cannot fit an L1 or elastic-net penalty (alpha > 0 "
                "and l1_ratio > 0): use solver='prox-newton' (or 'auto', which picks it)")
        if getattr(self, "penalty_groups", "none") not in ("none", "grouped"):
            raise ValueError("penalty_groups must be 'none' or 'grouped', got "
                             f"{plain(self.penalty_groups)!r}")
        if self.penalty_factor is not None and self.solver in OPTIMIZERS:
            raise ValueError(f"penalty_factor applies to the exact solvers, not to "
                             f"solver={self.solver!r}")
        if not (isinstance(self.tol, numbers.Real) and self.tol > 0):
            raise ValueError(f"tol must be a number > 0, got {plain(self.tol)!r}")
        if not (isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be an integer >= 1, got {plain(self.max_iter)!r}")
        if self.solver in OPTIMIZERS:
            self._training_config()
        elif self.validation_split:
            raise ValueError("validation_split applies to the minibatch solvers "
                             f"{OPTIMIZERS}, not to solver={self.solver!r}")

    def _has_l1(self) -> bool:
        return self.alpha > 0 and self.l1_ratio > 0

    def _penalties(self, n_features: int):
        """(ridge alpha, (d,) penalty factors or None, L1Penalty or None) of the
        elastic net alpha * sum_j f_j (l1_ratio |b_j| + (1 - l1_ratio) / 2 b_j^2)."""
        factor = check_penalty_factor(self.penalty_factor, n_features)
        l1 = (L1Penalty(self.alpha * self.l1_ratio, n_features, factor,
                        getattr(self, "penalty_groups", "none") == "grouped")
              if self._has_l1() else None)
        return float(self.alpha) * (1.0 - float(self.l1_ratio)), factor, l1

    # -- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, clusters=None, validation_data=None, *,
            offset=None, persist="auto"):
        """Fit by (penalised) maximum likelihood, exactly or by minibatch training.

        X: (n, d) array or DataFrame (categorical/string/bool columns are one-hot
        encoded), or a dask array (docs/dask.md). y: (n,) labels; a pandas Categorical
        fixes the class order. sample_weight: (n,) frequency weights (2 == the row
        repeated). clusters: (n,) group labels for cluster-robust standard errors
        (``cov_type="cluster"``). offset: a known term of the linear predictor
        with coefficient 1 (docs/links_offsets.md): (n,), or for multinomial fits (n, K-1),
        one column per class of classes_[1:]; then predictions need ``offset=`` too.
        validation_data: (X_val, y_val) or (X_val, y_val, sample_weight_val), minibatch
        solvers only: ``val_loss`` and ``val_accuracy`` in ``history_`` every epoch.
        persist: Dask input only: "auto" (keep the prepared partitions in the workers'
        memory when they fit), True or False (read them from their source every pass).
        """
        self._check_params()
        self._check_cov_type(clusters)
        self.__dict__.pop("formula_", None)  # (set by logitkit.formulas after its fit)
        if getattr(self, "penalty", None) is not None:  # Firth's (logitkit.firth_estimator)
            return self._fit_firth(X, y, sample_weight, clusters, offset)
        if is_dask(X):
            from logitkit.dask.estimator import client_threads, dask_objective

            if self._has_l1() or self.penalty_factor is not None or \
                    self.solver == "prox-newton":
                raise ValueError("L1 and elastic-net penalties (l1_ratio > 0), penalty_factor "
                                 "and solver='prox-newton' are not supported on Dask input: "
                                 "fit in memory (e.g. X.compute()) or use l1_ratio=0")

            if offset is not None:
                raise ValueError("offset is not supported on Dask input: fit in memory "
                                 "(e.g. X.compute()), or add the offset's column to X")
            with client_threads():
                objective, clusters = dask_objective(self, X, y, sample_weight, clusters,
                                                     validation_data, persist)
                self.has_offset_ = False
                self._fit_rows = None
                return self._fit_exact(objective, clusters)
        if persist != "auto":
            raise ValueError(f"persist={plain(persist)!r} applies to Dask input; X is "
                             f"{type(X).__name__}, which is fitted in memory")
        # an exact fit's first pass checks X for NaN and infinity (no read of its own)
        deferred = self.solver not in OPTIMIZERS and not self._has_l1()
        Xd, codes, weights, family = self._prepare(X, y, sample_weight, not deferred)
        if clusters is not None:
            clusters = column_or_1d(clusters)
            check_consistent_length(Xd, clusters)
        classes = self.classes_
        offset = check_offset(offset, Xd.shape[0], len(classes), self._multinomial())
        self.has_offset_ = offset is not None
        self._fit_rows = FitRows(Xd, codes, weights, clusters, offset)
        if self.solver in OPTIMIZERS:
            return self._fit_minibatch(Xd, codes, weights, clusters, validation_data, offset)
        if validation_data is not None:
            raise ValueError("validation_data applies to the minibatch solvers "
                             f"{OPTIMIZERS}, not to solver={self.solver!r}")
        ridge, factor, l1 = self._penalties(Xd.shape[1])
        objective = Objective(family, Xd, codes, weights, len(classes),
                              self._fits_intercept(), alpha=ridge, penalty_factor=factor,
                              offset=eta_offset(offset, family.n_eta(len(classes))))
        if deferred and isinstance(Xd, np.ndarray):
            objective.finite_check = partial(check_finite_design, Xd)
        return self._fit_exact(objective, clusters, Xd, l1)

    def _prepare(self, X, y, sample_weight, check_finite: bool = True):
        """(design Xd, (n,) class codes, (n,) weights, family) of in-memory input, X
        validated and encoded once (without ``check_finite``, a NumPy X's NaN and
        infinity are left to the caller); sets the attributes that describe the input
        (``classes_``, ``coef_names_``, ``empty_classes_``, ...)."""
        Xd = self._design(X, reset=True, check_finite=check_finite)
        classes, codes = self._target(y, Xd)
        weights = self._weights(sample_weight, Xd, classes, codes)
        self.empty_classes_ = self._empty_classes(
            classes, weighted_counts(codes, weights, len(classes)))
        family = self._family(len(classes))
        self.classes_ = classes
        self.target_name_ = getattr(y, "name", None)
        self.coef_names_ = (self.encoder_.output_names if self.encoder_ is not None
                            else [f"x{j}" for j in range(Xd.shape[1])])
        return Xd, codes, weights, family

    def _fit_exact(self, objective, clusters, Xd=None, l1=None):
        """Solve ``objective`` (+ ``l1``) and keep the result; ``Xd`` the in-memory design
        matrix (None for a Dask objective: no separation linear program then)."""
        # an ordinal fit's inference reads the rows' score products at the optimum: Newton
        # forms them in its last pass there (one read of X less)
        objective.wants_scores = bool(
            self.alpha == 0 and self.inference and clusters is None
            and objective.family.name == "ordinal" and l1 is None)
        try:
            with np.errstate(over="ignore", under="ignore"):
                aliased = self._aliased_columns(objective)
                result = fit_objective(objective, self.solver, self.tol, self.max_iter,
                                       aliased, l1)
        except Exception:
            objective.require_finite()  # NaN or infinity in X: that error, not its effects
            raise
        objective.require_finite()  # (no pass settled it: a read of X now)
        return self._keep_result(objective, result, clusters, Xd)

    def _keep_result(self, objective, result, clusters=None, Xd=None):
        """Set the fitted attributes from ``result``, a FitResult of ``objective``."""
        self.result_ = result
        self.kkt_violation_ = result.report.kkt_violation
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self._set_coefficients(objective, result.params)
        self.separation_ = self._diagnose(Xd, result, objective)
        objective, params, hessian = self._information(objective, result)
        self.inference_ = (collect(objective, params, clusters, hessian,
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
            objective.require_finite()  # (NaN or infinity in X would look aliased)
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

    def _observed_log_proba(self, Xd, codes, offset=None):
        """(n,) float64 log fitted probability of each row's own class, where Xd lives."""
        proba = self._proba(Xd, offset)
        xp = get_namespace(proba)
        with np.errstate(divide="ignore"):
            return xp.log(proba[xp.arange(proba.shape[0], device=device(proba)), codes])

    # -- files ------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the fitted model to ``path`` (a single, pickle-free file; see logitkit.io)."""
        from logitkit.io import save_model

        check_is_fitted(self)
        if self._is_firth() and self._fit_rows is not None:  # logistf keeps them too
            self.firth_tests()
        save_model(self, path)


_COMMON_PARAMETERS = """
    penalty_factor: None or (d,) non-negative factors f_j of the penalty of each feature
    column (after encoding), glmnet's ``penalty.factor`` used as given (not rescaled);
    0 leaves a column unpenalised.
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
    cov_type: the covariance that summary(), covariance(), conf_int(), marginal_effects(),
    predict_interval() and wald_test() use when not given one (docs/inference.md); fit
    refuses one the fit cannot give (e.g. "cluster" without fit(..., clusters=...)).
"""


class LogisticRegression(_LogitBase):
    """Binary (2 classes) or multinomial softmax (K > 2) logistic regression.

    Minimises the weighted mean log-loss + alpha * sum_j f_j * (l1_ratio * |coef_j| +
    (1 - l1_ratio) / 2 * coef_j^2) (docs/penalties.md); intercepts are not penalised.
    ``coef_`` has shape (1, d) for two classes and (K, d) for K > 2 in the symmetric form
    of scikit-learn (columns sum to zero over classes, except with an L1 part, where the
    K x d coefficients are what the penalty sees, as in glmnet, and the intercepts are
    centred); ``coef_[k] - coef_[0]`` is the baseline-category form that R and Stata report.
    penalty_groups: multinomial L1 only: "none" (each coefficient on its own) or
    "grouped" (a feature's K coefficients enter or leave together, glmnet's
    ``type.multinomial="grouped"``). penalty: None, or "firth" for Firth's bias-reduced
    fit (Jeffreys penalty; binary and multinomial; docs/firth.md).

    link: binary fits only: "logit" (default), "probit" or "cloglog": P(y = classes_[1]) =
    F(eta), F the link's CDF (the ordinal model's links); an error for more than 2 classes.
    information: the information matrix of the standard errors (the bread of the
    sandwich ones) for the probit and cloglog links: "observed" (default, Stata's
    probit and cloglog) or "expected" (Fisher's, R's glm); equal for the logit
    (docs/links_offsets.md).
    threshold: binary fits only: ``predict`` gives classes_[1] where its probability is
    >= threshold (default 0.5), else classes_[0]. Tune it with scikit-learn's
    ``TunedThresholdClassifierCV`` (docs/threshold.md).
    solver: "auto" (Newton with Cholesky; above 1000 parameters L-BFGS handing over to
    truncated Newton for binary and ordinal fits, truncated Newton for multinomial fits,
    also where their Hessian costs many passes over X), "newton", "newton-cg" or
    "lbfgs"; "prox-newton" (proximal Newton with working sets; what "auto" picks when alpha
    > 0 and l1_ratio > 0, the only exact solver for an L1 part). tol bounds the largest
    gradient entry in standardised coordinates (prox-newton: the largest violation of
    the optimality conditions, in the units of the gradient of the mean loss, reported
    as ``kkt_violation_``; None for the other solvers).
    The minibatch solvers "sgd", "adam", "rmsprop" and "adagrad" train the same objective
    the way Keras does; their keyword-only parameters (learning_rate, epochs, batch_size,
    ...) are described in :class:`logitkit.solvers.stochastic.TrainingConfig` and
    docs/training.md.
    """

    def __init__(self, alpha=0.0, l1_ratio=0.0, fit_intercept=True, class_weight=None,
                 solver="auto", tol=1e-8, max_iter=100, *, threshold=0.5, link="logit",
                 information="observed", learning_rate=None, epochs=100, batch_size=32,
                 momentum=0.0, nesterov=False,
                 beta_1=0.9, beta_2=0.999, rho=0.9, epsilon=1e-7, schedule=None,
                 decay_rate=0.96, decay_steps=None, early_stopping=False, patience=5,
                 min_delta=0.0, restore_best_weights=True, validation_split=0.0, shuffle=True,
                 kernel_initializer="zeros", random_state=None, verbose=0, device=None,
                 inference=True, penalty_factor=None, penalty_groups="none", penalty=None,
                 cov_type="nonrobust"):
        _set_params(self, locals())

    def _check_params(self):
        binary_family(self.link, self.information)  # (the errors name the choices)
        super()._check_params()

    def _family(self, n_classes):
        self._check_cov_kind(n_classes)
        if n_classes > 2 and self.threshold != 0.5:
            raise ValueError(f"threshold={plain(self.threshold)!r} applies to binary fits; y has "
                             f"{n_classes} classes (a multinomial fit predicts the most "
                             "probable class): leave threshold at 0.5")
        if n_classes > 2 and self.link != "logit":
            raise ValueError(f"link={self.link!r} applies to binary fits; y has {n_classes} "
                             "classes: a multinomial fit is a softmax (link='logit'); for "
                             "ordered classes use OrdinalLogisticRegression(link=...)")
        if n_classes == 2:  # (fitted by Newton on the observed information)
            return binary_family(self.link)
        # an L1 part penalises the K x d coefficients of the symmetric form (glmnet's)
        return Multinomial(full=self._has_l1())

    def _fits_intercept(self):
        return bool(self.fit_intercept)

    def _set_coefficients(self, objective, params):
        W, _ = objective.unpack(params)
        d = objective.d
        slopes = W[:, :d]
        intercepts = W[:, d] if objective.fit_intercept else np.zeros(W.shape[0])
        if objective.m == len(self.classes_) > 2:  # the symmetric form: as fitted
            slopes = slopes.copy()
            intercepts = intercepts - intercepts.mean()
        elif len(self.classes_) > 2:
            slopes = np.vstack([np.zeros((1, d)), slopes])
            intercepts = np.concatenate([[0.0], intercepts])
            slopes = slopes - slopes.mean(axis=0)
            intercepts = intercepts - intercepts.mean()
        self.coef_ = slopes
        self.intercept_ = intercepts

    def _model_name(self):
        if len(self.classes_) > 2:
            return "Multinomial logit"
        return {"logit": "Logit", "probit": "Probit"}.get(self.link, "Complementary log-log")

    def _link_name(self):
        return self.link if len(self.classes_) == 2 else "softmax"

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
                                      np.full(d1, self.link == "logit"),
                                      np.arange(d1) >= d1 - d)
        base = self._default_base() if base_class is None else self._class_index(base_class)
        natural = np.kron(np.eye(K), per_class)  # (K*d1, p): all classes
        if len(self.result_.params) < K * d1:  # the baseline form: class 0's row is 0
            natural = natural[:, d1:]
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

    def decision_function(self, X, offset=None):
        """Linear predictor (offset included): (n,) eta of classes_[1] (its log-odds for the
        logit link) for 2 classes, else (n, K) logits."""
        if is_dask(X):
            return lazy(self, "decision_function", X, offset)
        check_is_fitted(self)
        Xd = self._design(X, reset=False)
        scores = to_numpy(self._scores(Xd, self._offset(Xd, offset, "decision_function")))
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def _scores(self, Xd, offset=None):
        """(n, m) float64 linear predictor where Xd lives: m = 1 for two classes, else K;
        ``offset`` a checked one (logitkit.offsets), or None."""
        scores = product(Xd, self.coef_) + like(self.intercept_, Xd)
        if offset is None:
            return scores
        return scores + like(eta_offset(offset, len(self.classes_)) if scores.shape[1] > 1
                             else offset[:, None], Xd)

    def _proba(self, Xd, offset=None):
        """(n, K) float64 probabilities, where Xd lives."""
        scores = self._scores(Xd, offset)
        if scores.shape[1] == 1:
            return binary_family(self.link).predict_proba(scores, np.zeros(0))
        return Multinomial().predict_proba(scores[:, 1:] - scores[:, :1], np.zeros(0))

    def _observed_log_proba(self, Xd, codes, offset=None):
        scores = self._scores(Xd, offset)
        xp = get_namespace(scores)
        if scores.shape[1] == 1 and self.link != "logit":
            return binary_family(self.link).observed_log_proba(scores, codes)
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
    cut points absorb it. Penalised as LogisticRegression (the slopes only; solver
    "prox-newton" for alpha > 0 and l1_ratio > 0); penalty="firth" is refused (docs/firth.md).
    """

    def __init__(self, link="logit", alpha=0.0, l1_ratio=0.0, class_weight=None,
                 solver="auto", tol=1e-8, max_iter=100, *,
                 learning_rate=None, epochs=100, batch_size=32, momentum=0.0, nesterov=False,
                 beta_1=0.9, beta_2=0.999, rho=0.9, epsilon=1e-7, schedule=None,
                 decay_rate=0.96, decay_steps=None, early_stopping=False, patience=5,
                 min_delta=0.0, restore_best_weights=True, validation_split=0.0, shuffle=True,
                 kernel_initializer="zeros", random_state=None, verbose=0, device=None,
                 inference=True, penalty_factor=None, penalty=None, cov_type="nonrobust"):
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

    def _eta(self, Xd, offset=None):
        eta = product(Xd, self.coef_[None, :])
        return eta if offset is None else eta + like(offset[:, None], Xd)

    def _proba(self, Xd, offset=None):
        eta = self._eta(Xd, offset)
        return Ordinal(self.link).predict_proba(eta, like(self.thresholds_, eta))

    def _observed_log_proba(self, Xd, codes, offset=None):
        eta = self._eta(Xd, offset)
        return Ordinal(self.link).observed_log_proba(eta, like(self.thresholds_, eta), codes)


for _estimator in (LogisticRegression, OrdinalLogisticRegression):
    _estimator.__doc__ += _COMMON_PARAMETERS
