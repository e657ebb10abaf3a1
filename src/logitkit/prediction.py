"""Predictions of a fitted estimator: probabilities, classes, accuracy, on in-memory
input (where X lives) or, lazily, on Dask collections (:mod:`logitkit.dask.estimator`).

A mixin of the estimators; ``_design``, ``_proba`` and ``_offset`` come from them.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import is_torch_array
from sklearn.utils.validation import check_is_fitted

from logitkit.backends import to_numpy


def is_dask(data) -> bool:
    """Whether ``data`` is a Dask collection (without importing dask)."""
    return type(data).__module__.partition(".")[0] == "dask"


def lazy(estimator, method: str, X, offset=None):
    """``estimator.method(X)`` of a fitted estimator on a Dask collection: a lazy dask
    array, one task per partition (:mod:`logitkit.dask.estimator`)."""
    from logitkit.dask.estimator import lazy_prediction

    check_is_fitted(estimator)
    if offset is not None or getattr(estimator, "has_offset_", False):
        raise ValueError("predictions with an offset are not supported on Dask input: "
                         "compute X (and the offset) in memory")
    return lazy_prediction(estimator, method, X)


class PredictionMixin:
    """predict_proba, predict, predict_log_proba and score."""

    def predict_proba(self, X, offset=None):
        """(n, K) class probabilities, columns in the order of ``classes_``; ``offset``
        as in fit (required when the fit had one)."""
        if is_dask(X):
            return lazy(self, "predict_proba", X, offset)
        check_is_fitted(self)
        Xd = self._design(X, reset=False)
        return to_numpy(self._proba(Xd, self._offset(Xd, offset, "predict_proba")))

    def predict(self, X, offset=None):
        """(n,) the most probable class; for a binary ``LogisticRegression``, classes_[1]
        where its probability is >= ``threshold``, else classes_[0]."""
        if is_dask(X):
            return lazy(self, "predict", X, offset)
        if offset is None:  # (the error of a fit with one)
            self._offset(X, None, "predict")
        proba = self.predict_proba(X, offset)
        if proba.shape[1] == 2 and hasattr(self, "threshold"):  # LogisticRegression only
            return self.classes_[(proba[:, 1] >= self.threshold).astype(np.intp)]
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None, offset=None):
        """Weighted accuracy (scikit-learn's ``score``); y and sample_weight may be tensors
        on any device; ``offset`` as in predict."""
        y, sample_weight = (to_numpy(a) if is_torch_array(a) else a for a in (y, sample_weight))
        if offset is None:
            return super().score(X, y, sample_weight)
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, offset=offset), sample_weight=sample_weight)

    def predict_log_proba(self, X, offset=None):
        if is_dask(X):
            return lazy(self, "predict_log_proba", X, offset)
        if offset is None:  # (the error of a fit with one)
            self._offset(X, None, "predict_log_proba")
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, offset))
