"""Input validation for the estimators: the design matrix, the labels and the weights.

NumPy, ``scipy.sparse`` (CSR, CSC: :mod:`logitkit.sparse`) and DataFrame input is
checked on the host (DataFrames go through the fitted
:class:`~logitkit.encoding.DesignEncoder`); a torch tensor is checked where it lives, and
labels and weights of a tensor fit are encoded and kept on its device. Errors name the
problem (shape, NaN or infinity, a single class, unknown labels, negative weights) and
the first row concerned, named as :mod:`logitkit.messages` describes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from array_api_compat import is_torch_array
from sklearn.utils import assert_all_finite
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from logitkit.backends import like, to_numpy, weighted_counts
from logitkit.backends.devices import torch_device
from logitkit.design import dense
from logitkit.encoding import DesignEncoder, encode_target
from logitkit.messages import index_of, plain, row_name
from logitkit.sparse import (
    ACCEPTED_FORMATS,
    SparseDesign,
    check_sparse_format,
    is_sparse,
    sparse_design,
)


def _missing(y) -> np.ndarray:
    """(n,) bool: which labels are NaN or None (no per-element objects for numeric y)."""
    values = np.asarray(y)
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind == "O" or isinstance(getattr(y, "dtype", None), pd.CategoricalDtype):
        return np.asarray(pd.isna(values))
    return np.zeros(values.shape, dtype=bool)


def _tensor_target(y, X):
    """(classes, codes) of a label tensor, encoded on X's device (sorted classes)."""
    import torch

    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got a tensor of shape {tuple(y.shape)}")
    if y.shape[0] != X.shape[0]:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{X.shape[0]}, {y.shape[0]}]")
    y = y.to(X.device)
    if y.is_floating_point():
        missing = torch.isnan(y)
        if bool(missing.any()):
            first = int(torch.nonzero(missing)[0, 0])
            raise ValueError("y contains missing values (NaN or None), first at "
                             f"{row_name(first)}")
        if not bool((torch.isfinite(y) & (y == torch.round(y))).all()):
            raise ValueError("Unknown label type: continuous. Maybe you are trying to fit a "
                             "classifier, which expects discrete classes on a regression "
                             "target with continuous values.")
    classes, codes = torch.unique(y, sorted=True, return_inverse=True)
    return to_numpy(classes), codes


def _tensor_weights(sample_weight, X):
    """(n,) float64 weights on X's device, validated there."""
    import torch

    n = X.shape[0]
    if sample_weight is None:
        return torch.ones(n, dtype=torch.float64, device=X.device)
    weights = torch.as_tensor(sample_weight, dtype=torch.float64, device=X.device)
    if weights.ndim == 0:
        return torch.full((n,), float(weights), dtype=torch.float64, device=X.device)
    if tuple(weights.shape) != (n,):
        raise ValueError(f"sample_weight.shape == {tuple(weights.shape)}, expected {(n,)}!")
    if not bool((torch.isfinite(weights) & (weights >= 0)).all()):
        _check_weight_values(to_numpy(weights), None)
    return weights


def _check_weight_values(weights: np.ndarray, index) -> None:
    """Refuse NaN, infinite or negative weights, naming the first such row."""
    finite = np.isfinite(weights)
    if not finite.all():
        raise ValueError("sample_weight contains NaN or infinity, first at "
                         f"{row_name(np.argmin(finite), index)}")
    negative = weights < 0
    if negative.any():
        first = int(np.argmax(negative))
        raise ValueError(f"sample_weight has negative values, first at {row_name(first, index)} "
                         f"({plain(weights[first])}); weights must be >= 0")


def check_finite_design(X: np.ndarray) -> None:
    """scikit-learn's error for NaN or infinity in X. NaN and infinity propagate through
    sums, so the common all-finite case costs one threaded matrix-vector product (half
    the time of scikit-learn's check on a 1M x 100 array); the exact check runs only when
    a row sum is not finite."""
    if X.size and not np.isfinite(X @ np.ones(X.shape[1], dtype=X.dtype)).all():
        try:
            assert_all_finite(X, input_name="X")
        except ValueError as e:
            row, column = np.argwhere(~np.isfinite(X))[0]
            message = str(e).splitlines()[0].rstrip(".")
            raise ValueError(f"{message}: first at {row_name(row)}, column {int(column)}") \
                from None


class InputMixin:
    """Validation and encoding of fit and predict inputs. Needs from the estimator:
    ``device``, ``class_weight``, ``classes_`` (for :meth:`_encode_labels`)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC (logitkit.sparse)
        return tags

    def _design(self, X, reset: bool, check_finite: bool = True):
        """Numeric (n, d) design matrix; DataFrames go through the fitted formula (if
        any) and encoder.

        A torch tensor stays a tensor (on ``device`` if set); with ``device`` set, other
        input is validated on the host, then moved there as a tensor. Without
        ``check_finite``, a NumPy array's NaN and infinity are left for the caller to
        check (an exact fit's first pass does, see :meth:`Objective.settle_finite`).
        """
        device = None if self.device is None else torch_device(self.device)
        if reset:  # a formula's spec is set after its fit (logitkit.formulas)
            self.__dict__.pop("formula_", None)
        elif isinstance(X, pd.DataFrame) and getattr(self, "formula_", None) is not None:
            X = self.formula_.transform(X)  # the fitted formula's model matrix
        if is_torch_array(X):
            return self._tensor_design(X, reset, device)
        Xd = self._host_design(X, reset, check_finite or device is not None)
        if device is None:
            return Xd
        if isinstance(Xd, SparseDesign):
            raise ValueError(
                f"a scipy.sparse X is fitted and predicted on the host: device="
                f"{plain(self.device)!r} would make it dense. Use device=None, or pass "
                "X.toarray() (a dense copy) to use the device")
        import torch

        return torch.as_tensor(dense(Xd), device=device)  # (no codes on a device)

    def _tensor_design(self, X, reset: bool, device):
        import torch

        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a 2-D tensor with at least one row, got shape "
                             f"{tuple(X.shape)}")
        if not X.is_floating_point():
            X = X.double()
        # one pass and no n x d temporary: NaN propagates through min and max
        if not bool(torch.isfinite(torch.stack(torch.aminmax(X))).all()):
            raise ValueError("Input X contains NaN or infinity")
        if reset:
            self.n_features_in_, self.encoder_ = X.shape[1], None
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input")
        return X if device is None else X.to(device)

    def _host_design(self, X, reset: bool, check_finite: bool = True) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            if reset:
                validate_data(self, X, reset=True, skip_check_array=True)
                self.encoder_ = DesignEncoder.fit(X)
            elif self.encoder_ is None:  # fitted on an array: scikit-learn's checks
                validate_data(self, X, reset=False, skip_check_array=True)
            if self.encoder_ is not None:  # the fitted columns, selected by name
                Xd = self.encoder_.design(X)
                if Xd.shape[0] == 0:
                    raise ValueError("X has 0 samples; at least one is required")
                return Xd
        elif not reset and self.encoder_ is not None and self.encoder_.has_categorical:
            raise ValueError(
                "the model was fitted on a DataFrame with categorical columns "
                f"{[c.name for c in self.encoder_.columns if c.levels is not None]}; "
                "pass a DataFrame with the same columns"
            )
        if reset:
            self.encoder_ = None
        if is_sparse(X):  # CSR or CSC, kept sparse (logitkit.sparse)
            check_sparse_format(X)
            return sparse_design(validate_data(
                self, X, reset=reset, accept_sparse=ACCEPTED_FORMATS,
                dtype=(np.float64, np.float32), ensure_all_finite=False))
        Xd = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32),
                           ensure_all_finite=False)
        if check_finite:
            check_finite_design(Xd)
        return Xd

    def _target(self, y, Xd):
        """(classes (K,) host array, codes (n,) kept where Xd lives: NumPy codes of
        :func:`~logitkit.categorical.code_dtype`, tensor codes int64)."""
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        if is_torch_array(y) and is_torch_array(Xd):
            classes, codes = _tensor_target(y, Xd)
        else:
            classes, codes = self._host_target(to_numpy(y) if is_torch_array(y) else y,
                                               Xd.shape[0])
            if is_torch_array(Xd):
                codes = like(codes.astype(np.int64), Xd)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({plain(classes[0])!r}); this classifier needs samples "
                "of at least 2 classes in the data"
            )
        return classes, codes

    def _host_target(self, y, n_rows):
        categorical = isinstance(getattr(y, "dtype", None), pd.CategoricalDtype)
        index = index_of(y)
        if not categorical:
            y = column_or_1d(y, warn=True)
        missing = _missing(y)
        if missing.any():
            raise ValueError("y contains missing values (NaN or None), first at "
                             f"{row_name(np.argmax(missing), index)}")
        infinite = np.isinf(y) if np.asarray(y).dtype.kind == "f" else None
        if infinite is not None and infinite.any():  # (scikit-learn's check warns on these)
            raise ValueError("y contains infinity, which is not a class label, first at "
                             f"{row_name(np.argmax(infinite), index)}")
        if not categorical and np.asarray(y).dtype.kind not in "iu":
            # (1-D integer labels are always binary or multiclass: no scan needed)
            check_classification_targets(y)
        check_consistent_length(np.empty(n_rows), y)
        return encode_target(y)

    def _plain_weights(self, sample_weight, X):
        """(n,) validated frequency weights (ones when None), float64, where X lives."""
        if is_torch_array(X):
            return _tensor_weights(sample_weight, X)
        if sample_weight is None:
            # a read-only view of one 1.0: no (n,) array of ones (300k rows: 2.3 MiB, a
            # tenth of a categorical frame's numbers and codes)
            return np.broadcast_to(np.float64(1.0), (X.shape[0],))
        try:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        except ValueError as error:  # scikit-learn names no row: name the NaN's or inf's
            try:
                values = np.asarray(sample_weight, dtype=np.float64)
            except (TypeError, ValueError):
                raise error from None
            if values.shape == (X.shape[0],):
                _check_weight_values(values, index_of(sample_weight))
            raise
        if not (np.isfinite(weights) & (weights >= 0)).all():
            _check_weight_values(weights, index_of(sample_weight))
        return weights

    def _weights(self, sample_weight, X, classes, codes):
        """Frequency weights times class weights; every class needs positive weight."""
        weights = self._plain_weights(sample_weight, X)
        if self.class_weight is not None:
            counts = weighted_counts(codes, None, len(classes)).astype(np.int64)
            per_class = compute_class_weight(self.class_weight, classes=classes,
                                             y=np.repeat(classes, counts))
            weights = weights * like(per_class, weights)[codes]
        totals = weighted_counts(codes, weights, len(classes))
        if np.count_nonzero(totals > 0) < 2:
            kept = [plain(c) for c in classes[totals > 0]]
            raise ValueError(
                f"only the class(es) {kept} have positive total weight (sample_weight times "
                "class_weight); a classifier needs at least 2 of them"
            )
        return weights

    def _encode_labels(self, y, n_rows) -> np.ndarray:
        """(n,) int codes of labels y into ``classes_``; unknown labels are an error."""
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        if is_torch_array(y):
            y = to_numpy(y)  # labels are few per row: matched on the host
        index = index_of(y)
        values = (np.asarray(y, dtype=object)
                  if isinstance(getattr(y, "dtype", None), pd.CategoricalDtype)
                  else column_or_1d(y, warn=True))
        check_consistent_length(np.empty(n_rows), values)
        codes = pd.Index(self.classes_).get_indexer(values)
        if np.any(codes < 0):
            unknown = sorted({str(v) for v in np.asarray(values, dtype=object)[codes < 0]})
            raise ValueError(f"y has labels {unknown[:10]} that are not among classes_ "
                             f"{plain(self.classes_)} (first at "
                             f"{row_name(np.argmax(codes < 0), index)})")
        return codes.astype(np.int64)
