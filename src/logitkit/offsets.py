"""Offsets: a known term of the linear predictor, with coefficient 1 (e.g. log exposure).

Binary and ordinal models take an (n,) offset: eta = X @ coef + intercept + offset
(ordinal: P(Y <= j) = F(theta_j - eta)). Multinomial models take (n, K-1), one column per
class of ``classes_[1:]``, added to that class's log-odds against ``classes_[0]``, or an
(n,) vector added to all of them. :class:`~logitkit.fitted_rows.FitRows` keeps this
user-level form; :func:`eta_offset` lays it out as an objective's (n, m) eta columns.
"""

from __future__ import annotations

import numpy as np

from logitkit.backends import to_numpy
from logitkit.messages import plain


def check_offset(offset, n_rows: int, n_classes: int, multinomial: bool):
    """The validated float64 offset: (n,) for binary and ordinal models, (n, K-1) for
    multinomial ones (a scalar: the same for every row); None stays None. Errors name the
    shape expected."""
    if offset is None:
        return None
    values = offset.to_numpy() if hasattr(offset, "to_numpy") else offset
    try:
        values = np.asarray(to_numpy(values), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"offset must hold numbers, got {plain(type(offset).__name__)}: "
                         f"{error}") from None
    columns = n_classes - 1 if multinomial else 1
    if values.ndim == 0:  # one number for every row
        values = np.full(n_rows, float(values))
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 1 and values.shape[0] == n_rows:
        values = np.repeat(values[:, None], columns, axis=1) if multinomial else values
    elif not (multinomial and values.shape == (n_rows, columns)):
        expected = (f"({n_rows},) or ({n_rows}, {columns}) (one column per class of "
                    "classes_[1:])" if multinomial else f"({n_rows},)")
        raise ValueError(f"offset has shape {values.shape}; X has {n_rows} rows, so the "
                         f"offset must have shape {expected}")
    if not np.all(np.isfinite(values)):
        raise ValueError("offset holds NaN or infinite values; an offset is a known, finite "
                         "term of each row's linear predictor")
    return values


def eta_offset(offset, m: int):
    """An offset from :func:`check_offset` as an objective's (n, m) eta columns: (n,) as
    one column; a multinomial (n, K-1) as is (baseline form) or with a zero column for
    classes_[0] first (the symmetric form, m = K)."""
    if offset is None:
        return None
    if offset.ndim == 1:
        return offset[:, None]
    if offset.shape[1] == m:
        return offset
    return np.hstack([np.zeros((offset.shape[0], 1)), offset])


def missing_offset_error(method: str) -> ValueError:
    return ValueError(f"this model was fitted with an offset: pass {method}(X, offset=...) "
                      "with each row's offset (e.g. np.log(exposure)); use offset=0 (a "
                      "scalar) for rows without one")
