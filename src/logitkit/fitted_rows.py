"""The rows an estimator was fitted on, kept by reference for post-estimation.

Marginal effects averaged over the sample, profile-likelihood intervals, residuals and
influence measures are functions of the frozen result and of the fitting rows. An
in-memory fit keeps a reference (never a copy) to its encoded design, class codes,
weights and clusters; a model loaded from a file, pickled, or fitted on Dask input
has none, and the methods that need rows then take them as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from logitkit.objective import Objective


@dataclass(frozen=True)
class FitRows:
    """X: (n, d) encoded design (array, tensor or Design); codes: (n,) class codes;
    weights: (n,) frequency times class weights; clusters: (n,) labels or None;
    offset: known term of the linear predictor, or None: (n,) for binary and ordinal
    fits, (n, K-1) for multinomial ones (column k-1 added to the log-odds of classes_[k]
    against classes_[0]; logitkit.offsets)."""

    X: Any
    codes: Any
    weights: Any
    clusters: Any = None
    offset: Any = None


class FitRowsMixin:
    """Keeps ``_fit_rows`` after an in-memory fit and builds objectives from it."""

    _fit_rows: FitRows | None = None

    def __getstate__(self):
        # a copy: object.__getstate__ returns the instance's own __dict__
        state = dict(super().__getstate__())
        state.pop("_fit_rows", None)  # a pickle holds the model, not its training data
        return state

    def fitted_rows(self, X=None, y=None, sample_weight=None, clusters=None,
                    offset=None) -> FitRows:
        """The fitting rows, or the rows given (encoded as at predict time, labels of
        ``y`` into ``classes_``, ``offset`` required when the fit had one); an error names
        what to pass when there are none."""
        check_is_fitted(self)
        if X is None and y is None:
            if self._fit_rows is None:
                raise ValueError(
                    f"this {type(self).__name__} holds no training rows (it was loaded from "
                    "a file, unpickled, or fitted on Dask input): pass the data as X=..., "
                    "y=... (and sample_weight=... if the fit was weighted, offset=... if it "
                    "had one)")
            return self._fit_rows
        if X is None or y is None:
            raise ValueError("pass both X and y (the rows to use), or neither (the fitting rows)")
        Xd = self._design(X, reset=False)
        codes = self._encode_labels(y, Xd.shape[0])
        weights = self._weights(sample_weight, Xd, self.classes_, codes)
        if clusters is not None:
            clusters = column_or_1d(clusters)
            check_consistent_length(codes, clusters)
        return FitRows(Xd, codes, weights, clusters, self._offset(Xd, offset, "fitted_rows"))

    def fitted_objective(self, X=None, y=None, sample_weight=None, offset=None) -> Objective:
        """The fit's Objective (family, penalty, intercepts and offset as fitted) over
        :meth:`fitted_rows`."""
        rows = self.fitted_rows(X, y, sample_weight, offset=offset)
        return self._objective(rows.X, rows.codes, rows.weights, rows.offset)
