"""Cross-validated choice of the penalty: ``LogisticRegressionCV`` and
``OrdinalLogisticRegressionCV``.

For each ``l1_ratio`` the alpha grid is that of the regularization path on all rows
(:func:`logitkit.regularization_path`: from the smallest alpha that zeroes every
penalised coefficient down a log grid, or ``alphas``). The folds are drawn once and
shared by every l1_ratio (an int ``cv``: scikit-learn's
``StratifiedKFold(cv, shuffle=True, random_state)``). On each fold a warm-started path
over that grid is fitted to the training rows, and every alpha's fit is scored on the
held-out rows with a scikit-learn scorer (default ``neg_log_loss``: greater is better;
held-out ``sample_weight`` weighs the score). Per (l1_ratio, alpha): the mean score over
the folds, its sample standard deviation (ddof=1) and standard error sd / sqrt(folds).

The choice (``rule``): "min" the best mean score over every (l1_ratio, alpha) (ties: the
first l1_ratio given, then the largest alpha); "1se" glmnet's ``lambda.1se``: on the
best l1_ratio's grid, the largest alpha whose mean score is within one standard error
(the best point's) of the best. Then the estimator is refitted on all rows at
(``alpha_``, ``l1_ratio_``), and the CV object behaves as that refitted estimator
(predict, predict_proba, summary, save, ``coef_``, ...).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from logitkit.design import dense
from logitkit.estimators import (
    LogisticRegression,
    OrdinalLogisticRegression,
    _set_params,
    is_dask,
)
from logitkit.exceptions import ConvergenceWarning
from logitkit.messages import plain
from logitkit.paths import regularization_path

__all__ = ["LogisticRegressionCV", "OrdinalLogisticRegressionCV", "choose", "neg_log_loss"]

RULES = ("min", "1se")


def choose(means, ses, alphas, rule: str) -> tuple[int, int]:
    """(k, i): the chosen l1_ratio k and alpha i of the mean scores ``means[k]`` (one
    array per l1_ratio, over its grid ``alphas[k]``; greater is better, NaN = not
    scored) by ``rule`` (module docstring); ``ses`` their standard errors."""
    best = None  # (mean, k, i); ties: the first l1_ratio, then the largest alpha
    for k, (mean, alpha) in enumerate(zip(means, alphas, strict=True)):
        for i in np.argsort(-np.asarray(alpha), kind="stable"):
            if np.isfinite(mean[i]) and (best is None or mean[i] > best[0]):
                best = (mean[i], k, i)
    if best is None:
        raise ValueError("no (l1_ratio, alpha) could be scored: every held-out score is NaN")
    _, k, i = best
    if rule == "1se":
        se = ses[k][i]
        if not np.isfinite(se):
            raise ValueError('rule="1se" needs the standard error of the scores, which one '
                             'fold does not give: use 2 or more folds, or rule="min"')
        within = np.flatnonzero(np.isfinite(means[k]) & (means[k] >= means[k][i] - se))
        i = within[np.argmax(alphas[k][within])]
    return k, int(i)


def _warn_unconverged(ratios, paths, unconverged, n_folds) -> None:
    """One ConvergenceWarning for the fold fits that did not converge (if any)."""
    total = sum(len(path.alphas_) for path in paths) * n_folds
    failed = sum(int(counts.sum()) for counts in unconverged)
    if failed:
        where = "; ".join(
            f"l1_ratio {r:g}: alpha " + " to ".join(
                dict.fromkeys(f"{a:.3g}" for a in (path.alphas_[counts > 0].max(),
                                                   path.alphas_[counts > 0].min())))
            for r, path, counts in zip(ratios, paths, unconverged, strict=True)
            if counts.any())
        warnings.warn(
            f"{failed} of {total} fold fits did not converge ({where}; cv_results_ "
            "column n_unconverged): their held-out scores are those of the last iterate. "
            "Increase max_iter or tol, or end the grid at a larger alpha (alpha_min_ratio).",
            ConvergenceWarning, stacklevel=3)


def neg_log_loss(estimator, X, y, sample_weight=None) -> float:
    """scikit-learn's ``neg_log_loss`` scorer (the weighted mean of log p, p the fitted
    probability of each row's class clipped to [eps, 1 - eps]) without its checks of
    the labels, which took half the time of a 5-fold, 200-alpha CV of 944 rows."""
    proba = estimator.predict_proba(X)
    codes = pd.Index(estimator.classes_).get_indexer(np.asarray(y))
    eps = np.finfo(proba.dtype).eps
    p = np.clip(proba[np.arange(len(codes)), codes], eps, 1 - eps)
    return float(np.average(np.log(p), weights=sample_weight))


def _score(scorer, estimator, X, y, sample_weight) -> float:
    if sample_weight is None:
        return float(scorer(estimator, X, y))
    return float(scorer(estimator, X, y, sample_weight=sample_weight))


def _rows(data, base=None):
    """X or y (checked by the path on all rows) in a form whose rows can be taken: a
    DataFrame X encoded once by ``base``'s encoder on all rows (dense: every fold sees
    the same one-hot columns), a column y as (n,), other array-likes as arrays; arrays,
    sparse matrices, Series and Categoricals unchanged."""
    if isinstance(data, pd.DataFrame) and base is not None:
        return dense(clone(base)._design(data, reset=True))
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    if base is None and isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]  # (the path on all rows has warned about the column)
    return data


class _CVBase(ClassifierMixin, BaseEstimator):
    """The cross-validation, choice and refit; subclasses name the estimator and the
    parameters they forward to it (``_shared``)."""

    _estimator_class = None
    _shared: tuple[str, ...] = ()

    def _base(self):
        """The unfitted estimator whose paths are cross-validated (alpha and l1_ratio
        are set per fit)."""
        return self._estimator_class(**{name: getattr(self, name) for name in self._shared})

    # -- validation -------------------------------------------------------------------
    def _l1_ratios(self) -> list[float]:
        ratios = self.l1_ratios
        ratios = [ratios] if isinstance(ratios, numbers.Real) else ratios
        try:
            ratios = list(ratios)
        except TypeError:
            ratios = []
        if not ratios or not all(isinstance(r, numbers.Real) and not isinstance(r, bool)
                                 and 0 <= r <= 1 for r in ratios):
            raise ValueError("l1_ratios must be a non-empty list of numbers in [0, 1] (0 "
                             f"ridge, 1 lasso), got {plain(self.l1_ratios)!r}")
        ratios = [float(r) for r in ratios]
        if len(set(ratios)) < len(ratios):
            raise ValueError(f"l1_ratios has repeated values: {ratios}")
        return ratios

    def _check_params(self) -> list[float]:
        ratios = self._l1_ratios()
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {plain(self.rule)!r}")
        if self.alphas is None:
            if not (isinstance(self.n_alphas, numbers.Integral) and self.n_alphas >= 1):
                raise ValueError("n_alphas must be an integer >= 1, got "
                                 f"{plain(self.n_alphas)!r}")
        else:
            alphas = np.asarray(self.alphas, dtype=float)
            if alphas.ndim != 1 or alphas.size == 0 or not (
                    np.isfinite(alphas).all() and (alphas > 0).all()):
                raise ValueError("alphas must be a non-empty list of finite numbers > 0, "
                                 f"got {plain(self.alphas)!r}")
        if isinstance(self.cv, numbers.Integral) and self.cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {self.cv}")
        if not isinstance(self.refit, bool):
            raise ValueError(f"refit must be True or False, got {plain(self.refit)!r}")
        if self.solver not in ("auto", "prox-newton"):
            raise ValueError(f"{type(self).__name__} fits its paths with solver="
                             f"'prox-newton' (warm starts); got solver={plain(self.solver)!r}:"
                             " leave it at 'auto'")
        return ratios

    def _scorer(self):
        scoring = "neg_log_loss" if self.scoring is None else self.scoring
        if scoring == "neg_log_loss":
            return neg_log_loss
        if isinstance(scoring, str):
            return get_scorer(scoring)  # (an unknown name: scikit-learn's ValueError)
        if callable(scoring):
            return scoring
        raise ValueError("scoring must be None (log loss), a scikit-learn scorer name such "
                         "as 'roc_auc', or a callable scorer(estimator, X, y), got "
                         f"{plain(scoring)!r}")

    # -- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, groups=None):
        """Choose (alpha, l1_ratio) by cross-validation, then refit on all rows.

        X: (n, d) array or DataFrame (its columns are encoded once on all rows, so every
        fold sees the same one-hot columns, as a dense matrix). y: (n,) labels.
        sample_weight: (n,) frequency weights, used in the fits and the held-out scores.
        groups: (n,) group labels for a group splitter passed as ``cv``.
        """
        ratios = self._check_params()
        if is_dask(X):
            raise TypeError(f"{type(self).__name__} needs the rows in memory (it fits paths "
                            "on row subsets); X is a Dask collection: compute() it first")
        base = self._base()
        scorer = self._scorer()
        grid = {"n_alphas": self.n_alphas, "alpha_min_ratio": self.alpha_min_ratio,
                "alphas": self.alphas}
        # all rows: the grids (and the check of X, y and the weights)
        paths = [regularization_path(X, y, estimator=base, l1_ratio=r, sample_weight=
                                     sample_weight, **grid) for r in ratios]
        X_cv, y = _rows(X, base), _rows(y)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        folds = self._folds(X_cv, y, groups)
        scores = [np.full((len(folds), len(path.alphas_)), np.nan) for path in paths]
        unconverged = [np.zeros(len(path.alphas_), int) for path in paths]
        for f, (train, test) in enumerate(folds):
            X_train, y_train = _safe_indexing(X_cv, train), _safe_indexing(y, train)
            X_test, y_test = _safe_indexing(X_cv, test), _safe_indexing(y, test)
            w_train = None if weights is None else weights[train]
            w_test = None if weights is None else weights[test]
            for r, path, table, failed in zip(ratios, paths, scores, unconverged,
                                              strict=True):
                with warnings.catch_warnings():  # (counted, and told once below)
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    fold = regularization_path(X_train, y_train, estimator=base,
                                               l1_ratio=r, alphas=path.alphas_,
                                               sample_weight=w_train)
                for i in range(min(len(fold.alphas_), len(path.alphas_))):
                    model = fold.estimator(i)
                    failed[i] += not model.converged_
                    table[f, i] = _score(scorer, model, X_test, y_test, w_test)
        _warn_unconverged(ratios, paths, unconverged, len(folds))
        self._keep(ratios, paths, scores, unconverged, len(folds))
        if self.refit:
            self.best_estimator_ = clone(base).set_params(
                alpha=self.alpha_, l1_ratio=self.l1_ratio_).fit(X, y, sample_weight)
            self.classes_ = self.best_estimator_.classes_
        else:
            self.classes_ = paths[0].estimator(0).classes_
        return self

    def _folds(self, X, y, groups) -> list:
        """The (train, test) row indices, drawn once; every class of y in every
        training part. (Stratified on the classes' codes in order of appearance: the
        folds scikit-learn draws from the labels themselves.)"""
        codes, classes = pd.factorize(np.asarray(y))
        if isinstance(self.cv, numbers.Integral):  # (before the splitter's own warning)
            counts = np.bincount(codes, minlength=len(classes))
            if counts.min() < 2:
                raise ValueError(
                    f"the class {plain(classes[np.argmin(counts)])!r} has a single row: "
                    "each class needs rows in every training part of the folds, so at "
                    "least 2 rows; drop or merge the class")
        splitter = check_cv(self.cv, codes, classifier=True, shuffle=True,
                            random_state=self.random_state)
        folds = list(splitter.split(np.zeros((len(codes), 1)), codes, groups))
        for f, (train, _) in enumerate(folds):
            missing = np.setdiff1d(np.arange(len(classes)), codes[train])
            if missing.size:
                raise ValueError(
                    f"the training rows of fold {f} hold no row of the class(es) "
                    f"{plain(classes[missing])}: a fit needs rows of every class; use a "
                    "splitter (cv) that keeps each class in every training part")
        return folds

    def _keep(self, ratios, paths, scores, unconverged, n_folds) -> None:
        """Set cv_results_, the choice and the paths from the fold scores."""
        means = [table.mean(axis=0) for table in scores]
        stds = [table.std(axis=0, ddof=1) if n_folds > 1 else np.full(table.shape[1], np.nan)
                for table in scores]
        ses = [std / np.sqrt(n_folds) for std in stds]
        k, i = choose(means, ses, [path.alphas_ for path in paths], self.rule)
        frames = []
        for r, path, table, mean, std, se, failed in zip(ratios, paths, scores, means, stds,
                                                         ses, unconverged, strict=True):
            columns = {"l1_ratio": r, "alpha": path.alphas_, "mean_score": mean,
                       "std_score": std, "se_score": se}
            columns.update({f"split{f}_score": table[f] for f in range(n_folds)})
            columns["n_nonzero"] = np.asarray(path.n_nonzero_)
            columns["n_unconverged"] = failed
            frames.append(pd.DataFrame(columns))
        self.cv_results_ = pd.concat(frames, ignore_index=True)
        self.best_index_ = sum(len(path.alphas_) for path in paths[:k]) + i
        self.alpha_ = float(paths[k].alphas_[i])
        self.l1_ratio_ = ratios[k]
        self.best_score_ = float(means[k][i])
        self.paths_ = paths
        self.n_splits_ = n_folds

    # -- the refitted estimator -------------------------------------------------------
    def _refitted(self):
        check_is_fitted(self)
        if not self.refit:
            raise NotFittedError(
                f"this {type(self).__name__} was fitted with refit=False: it holds the "
                "choice (alpha_, l1_ratio_, cv_results_) but no model; fit "
                f"{self._estimator_class.__name__}(alpha=cv.alpha_, l1_ratio=cv.l1_ratio_)"
                " or refit=True")
        return self.best_estimator_

    def __getattr__(self, name):
        # fitted attributes of the refitted estimator (coef_, n_features_in_, aic_, ...)
        if name.endswith("_") and not name.startswith("_") and name != "best_estimator_":
            refit = self.__dict__.get("best_estimator_")
            if refit is not None:
                return getattr(refit, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags = self._base().__sklearn_tags__().input_tags
        return tags

    def predict(self, X):
        """(n,) the refitted estimator's predicted classes."""
        return self._refitted().predict(X)

    def predict_proba(self, X):
        """(n, K) the refitted estimator's class probabilities."""
        return self._refitted().predict_proba(X)

    def predict_log_proba(self, X):
        return self._refitted().predict_log_proba(X)

    def summary(self, *args, **kwargs):
        """The refitted estimator's summary (see its ``summary``)."""
        return self._refitted().summary(*args, **kwargs)

    def covariance(self, *args, **kwargs):
        return self._refitted().covariance(*args, **kwargs)

    def lr_test(self, other):
        return self._refitted().lr_test(getattr(other, "best_estimator_", other))

    def get_weights(self) -> list:
        return self._refitted().get_weights()

    def save(self, path) -> None:
        """Write the refitted estimator to ``path``: ``logitkit.load`` gives it back as a
        plain estimator (the choice and cv_results_ are not in the file)."""
        self._refitted().save(path)


_CV_PARAMETERS = """
    l1_ratios: the l1_ratio values to cross-validate (each with its own alpha grid).
    n_alphas, alpha_min_ratio, alphas: the grid of :func:`logitkit.regularization_path`
    (alphas, if given, is used for every l1_ratio).
    cv: number of folds (stratified, shuffled with random_state), or a scikit-learn
    splitter or iterable of (train, test) index arrays. scoring: None (neg_log_loss), a
    scikit-learn scorer name, or a callable scorer(estimator, X, y); greater is better.
    rule: "min" or "1se" (module docstring of logitkit.cv). refit: refit on all rows at
    the choice (False: only the choice and cv_results_).
    The other parameters are the estimator's, used in every fit (solver: "auto" or
    "prox-newton", the path's solver; the refit's "auto" picks it when l1_ratio_ > 0).

    Fitted: alpha_, l1_ratio_, best_score_ (its mean score), best_index_ (its row of
    cv_results_), cv_results_ (DataFrame, one row per (l1_ratio, alpha): mean_score,
    std_score (ddof=1), se_score, split<f>_score, n_nonzero on all rows, n_unconverged
    fold fits (told in one ConvergenceWarning)), paths_ (the paths on all rows, one per
    l1_ratio), n_splits_, best_estimator_ (the refit), and
    every fitted attribute and method of the refit (coef_, summary(), save(), ...).
"""


class LogisticRegressionCV(_CVBase):
    """Binary or multinomial :class:`~logitkit.LogisticRegression` with (alpha,
    l1_ratio) chosen by cross-validation."""

    _estimator_class = LogisticRegression
    _shared = ("fit_intercept", "class_weight", "solver", "tol", "max_iter", "threshold",
               "inference", "penalty_factor", "penalty_groups", "link", "information")

    def __init__(self, l1_ratios=(1.0,), n_alphas=100, alphas=None, alpha_min_ratio=None,
                 cv=5, scoring=None, rule="min", random_state=None, refit=True, *,
                 fit_intercept=True, class_weight=None, solver="auto", tol=1e-8,
                 max_iter=100, threshold=0.5, inference=True, penalty_factor=None,
                 penalty_groups="none", link="logit", information="observed"):
        _set_params(self, locals())

    def decision_function(self, X):
        """The refitted estimator's linear predictor: (n,) or (n, K)."""
        return self._refitted().decision_function(X)


class OrdinalLogisticRegressionCV(_CVBase):
    """:class:`~logitkit.OrdinalLogisticRegression` with (alpha, l1_ratio) chosen by
    cross-validation (the slopes are penalised, the cut points not)."""

    _estimator_class = OrdinalLogisticRegression
    _shared = ("link", "class_weight", "solver", "tol", "max_iter", "inference",
               "penalty_factor")

    def __init__(self, l1_ratios=(1.0,), n_alphas=100, alphas=None, alpha_min_ratio=None,
                 cv=5, scoring=None, rule="min", random_state=None, refit=True, *,
                 link="logit", class_weight=None, solver="auto", tol=1e-8, max_iter=100,
                 inference=True, penalty_factor=None):
        _set_params(self, locals())


for _estimator in (LogisticRegressionCV, OrdinalLogisticRegressionCV):
    _estimator.__doc__ += _CV_PARAMETERS
