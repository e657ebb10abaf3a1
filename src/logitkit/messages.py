"""How error messages show values and name rows: one convention for Python and the CLI.

Rows are named by their 0-based position among the data rows, as ``DataFrame.iloc``
counts them: "row 3". The CLI reads a file into a DataFrame and counts the same way,
the header not included (row 0 is the first line after the header). When a pandas
index is not the default 0, 1, ..., n-1, the row's label follows: "row 3 (index 'b')".
Values are shown as Python values, never as a NumPy repr such as ``np.float64(0.0)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["index_of", "plain", "row_name"]


def plain(value):
    """``value`` with NumPy scalars as Python scalars; arrays, lists and tuples as lists
    (tuples) of Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray | pd.Index | pd.Series):
        return [plain(v) for v in np.asarray(value, dtype=object).tolist()]
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


def row_name(position, index=None) -> str:
    """"row 3" for the 0-based ``position``; "row 3 (index 'b')" when ``index`` (the
    pandas index of the data) is not the default 0..n-1."""
    position = int(position)
    text = f"row {position}"
    if index is not None and not (isinstance(index, pd.RangeIndex) and index.start == 0
                                  and index.step == 1):
        label = plain(index[position])
        if label != position:
            text += f" (index {label!r})"
    return text


def index_of(values):
    """The pandas index of ``values`` (a Series or DataFrame), else None."""
    return values.index if isinstance(values, pd.Series | pd.DataFrame) else None
