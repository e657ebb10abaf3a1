"""From user data to a numeric design matrix, and from labels to class codes.

DataFrame columns of Categorical, string/object or bool dtype are one-hot encoded with
the first level dropped (the reference level): the first category of a Categorical,
otherwise the first in sorted order. Expanded columns are named ``column[level]``.
The fitted encoding is kept and applied unchanged at predict time to the fitted columns,
selected by name (a DataFrame may hold them in another order, and other columns).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from logitkit.categorical import CategoricalDesign, code_dtype, stacked_view
from logitkit.messages import plain, row_name

# rows of the design filled at a time (a block of it stays in cache)
_ROW_BLOCK = 4096


@dataclass(frozen=True)
class ColumnEncoding:
    """How one input column becomes design columns: numeric, or one-hot of ``levels[1:]``.
    ``scanned``: the levels were found by a pass over a dask DataFrame's partitions (its
    dtype did not declare them), which the summary notes."""

    name: str
    levels: tuple | None = None  # None for a numeric column; levels[0] is the reference
    scanned: bool = False

    @property
    def output_names(self) -> list[str]:
        if self.levels is None:
            return [self.name]
        return [f"{self.name}[{level}]" for level in self.levels[1:]]


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _levels(series: pd.Series, name=None) -> tuple:
    if isinstance(series.dtype, pd.CategoricalDtype):  # the categories that occur
        codes = series.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(series.cat.categories))
        return tuple(c for c, count in zip(series.cat.categories, counts, strict=True)
                     if count)
    values = series.dropna().unique()
    try:
        return tuple(sorted(values))
    except TypeError:  # e.g. numbers and text in one object column
        kinds = series.map(lambda v: type(v).__name__)
        row = int(np.argmax((kinds != kinds.iloc[0]).to_numpy()))
        raise ValueError(
            f"column {name!r} mixes {sorted(set(kinds))} values ({plain(series.iloc[0])!r} at "
            f"{row_name(0, series.index)}, {plain(series.iloc[row])!r} at "
            f"{row_name(row, series.index)}); give it numbers, or text for categories"
        ) from None


@dataclass(frozen=True)
class DesignEncoder:
    """The fitted encoding of a DataFrame's columns."""

    columns: tuple[ColumnEncoding, ...]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> DesignEncoder:
        encodings = []
        for name in frame.columns:
            series = frame[name]
            if _is_categorical(series):
                _check_no_missing(series, name)
                encodings.append(ColumnEncoding(str(name), _levels(series, name)))
            else:
                encodings.append(ColumnEncoding(str(name)))
        return cls(tuple(encodings))

    @property
    def output_names(self) -> list[str]:
        return [out for col in self.columns for out in col.output_names]

    @property
    def has_categorical(self) -> bool:
        return any(col.levels is not None for col in self.columns)

    def design(self, frame: pd.DataFrame):
        """The design of the fitted columns of ``frame`` (selected as :meth:`transform`
        does): with categorical columns a :class:`~logitkit.categorical.CategoricalDesign`
        of the numeric columns (views of the frame's float columns) and the level codes,
        no one-hot block; without them :func:`numeric_block` (pandas' view of a float64
        block, no copy), else the dense :meth:`transform`."""
        if not self.has_categorical:
            view = self._block_view(frame)
            return self.transform(frame) if view is None else view
        frame = self._selected(frame)
        numeric, numeric_at, codes, sizes, starts = [], [], [], [], []
        position = 0
        for col in self.columns:
            series = frame[col.name]
            if col.levels is None:
                numeric.append(_numeric_column(series, col.name, keep_float=True))
                numeric_at.append(position)
            else:
                codes.append(_level_codes(series, col))
                sizes.append(len(col.levels))
                starts.append(position)
            position += len(col.output_names)
        stacked = stacked_view(numeric)  # one view of the frame's block, when it is one
        return CategoricalDesign(numeric if stacked is None else stacked, numeric_at, codes,
                                 sizes, starts, position)

    def _block_view(self, frame: pd.DataFrame) -> np.ndarray | None:
        """:func:`numeric_block` of the fitted columns of ``frame``."""
        return numeric_block(self._selected(frame)[[col.name for col in self.columns]])

    def _selected(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with string column names, checked to hold each fitted column once."""
        names = [str(c) for c in frame.columns]
        counts = Counter(names)
        missing = [col.name for col in self.columns if col.name not in counts]
        if missing:
            raise ValueError(f"X is missing the column(s) {missing} that the model was fitted "
                             f"on; its columns are {names[:20]}")
        repeated = sorted({col.name for col in self.columns if counts[col.name] > 1})
        if repeated:
            raise ValueError(f"X has the column(s) {repeated} more than once")
        return frame.set_axis(names, axis=1)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """(n, n_outputs) float64 design matrix of the fitted columns, selected by name (in
        any order; other columns are ignored); errors name the offending column."""
        frame = self._selected(frame)
        # per column: its values, or its level codes (no n x levels one-hot blocks)
        columns = [_numeric_column(frame[col.name], col.name) if col.levels is None
                   else _level_codes(frame[col.name], col) for col in self.columns]
        starts = np.cumsum([0] + [len(col.output_names) for col in self.columns])
        # one output array in column order, filled by row blocks (nothing to stack)
        design = np.zeros((len(frame), starts[-1]), order="F")  # (as _block_view)
        for begin in range(0, len(frame), _ROW_BLOCK):
            block = design[begin:begin + _ROW_BLOCK]
            for col, values, start in zip(self.columns, columns, starts, strict=False):
                values = values[begin:begin + _ROW_BLOCK]
                if col.levels is None:
                    block[:, start] = values
                else:  # level 0 is the reference: no column
                    rows = np.flatnonzero(values > 0)
                    block[rows, start + values[rows] - 1] = 1.0
        return design


def numeric_block(selected: pd.DataFrame) -> np.ndarray | None:
    """(n, d) float64 values of ``selected``'s columns in column order, when all have
    NumPy integer or float dtypes: of float64 columns that lie in pandas' block in order,
    its view (as pandas keeps them: no copy, where :meth:`DesignEncoder.transform` copies
    X; the fits' passes read X in column order as fast as in row order), else one copy,
    in column order whatever the frame's layout (the same fit to the last digit). None
    when a column has another dtype or a value is not finite (the transform then names
    it)."""
    if not all(isinstance(t, np.dtype) and t.kind in "fiu" for t in selected.dtypes):
        return None
    values = np.asfortranarray(selected.to_numpy(dtype=np.float64))
    # (NaN and infinity propagate into the product; an overflow is checked by name)
    if values.size and not np.isfinite(values @ np.ones(values.shape[1])).all():
        return None
    return values


def _check_no_missing(series: pd.Series, name) -> None:
    if series.isna().any():
        row = np.flatnonzero(series.isna().to_numpy())[0]
        raise ValueError(f"column {name!r} has missing values (first at "
                         f"{row_name(row, series.index)})")


def _numeric_column(series: pd.Series, name: str, keep_float: bool = False) -> np.ndarray:
    """(n,) values of a numeric column: float64, or with ``keep_float`` the column's own
    float32/float64 array (a view, no copy); an error names a non-numeric or non-finite
    value."""
    if _is_categorical(series):
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna() & series.notna()
        if bad.any():
            row = np.flatnonzero(bad.to_numpy())[0]
            raise ValueError(
                f"column {name!r} should be numeric but has the value "
                f"{plain(series.iloc[row])!r} at {row_name(row, series.index)}"
            )
        series = values
    keep = keep_float and series.dtype in (np.float32, np.float64)
    values = series.to_numpy() if keep else series.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        row = np.flatnonzero(~np.isfinite(values))[0]
        raise ValueError(f"Input X contains NaN or infinity in column {name!r} (first at "
                         f"{row_name(row, series.index)})")
    return values


def _level_codes(series: pd.Series, col: ColumnEncoding) -> np.ndarray:
    """(n,) int codes of series' values in col.levels (the smallest integer dtype; a
    Categorical's own codes when its categories are the levels), from pandas' hash-based
    lookup (not a per-row Python loop); an unseen category is an error naming it."""
    _check_no_missing(series, col.name)
    codes = _codes_in(series, col.levels, code_dtype(len(col.levels)))
    if np.any(codes < 0):
        values = series.to_numpy(dtype=object)
        unseen = sorted({str(v) for v in values[codes < 0]})
        raise ValueError(
            f"column {col.name!r} has categories not seen during fit: {unseen} (first at "
            f"{row_name(np.argmax(codes < 0), series.index)}); known categories are "
            f"{[str(level) for level in col.levels]}"
        )
    return codes


def _codes_in(series: pd.Series, levels, dtype=None) -> np.ndarray:
    """(n,) position of each value of series in levels, -1 where absent: a hash lookup of
    the distinct values (a Categorical's categories) or of every value. int64 for
    ``dtype`` None; else of the signed ``dtype``, or a Categorical's own codes (no copy)
    when its categories are the levels."""
    index = pd.Index(list(levels), dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        positions = index.get_indexer(series.cat.categories)
        codes = np.asarray(series.array.codes)  # (the Categorical's own, a view)
        if dtype is not None and np.array_equal(positions, np.arange(len(index))):
            return codes
        lookup = np.append(positions, -1).astype(dtype or np.int64)  # code -1: NaN
        return lookup[codes]
    return index.get_indexer(series.to_numpy(dtype=object)).astype(dtype or np.int64)


def encode_target(y) -> tuple[np.ndarray, np.ndarray]:
    """(classes, codes): classes in the order of a Categorical's categories (those that
    occur), otherwise sorted; codes (n,) index into classes, of the smallest signed
    integer type that holds them (:func:`~logitkit.categorical.code_dtype`: an int64 code
    for each of 50,000 rows was a sixth of a K=50 fit's extra memory)."""
    if isinstance(getattr(y, "dtype", None), pd.CategoricalDtype):
        series = pd.Series(y)
        classes = np.asarray(_levels(series), dtype=object)
        return classes, _codes_in(series, classes, code_dtype(len(classes)))
    values = np.asarray(y)
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        bounds = np.iinfo(np.int64)
        if high - low <= 4 * values.size and bounds.min <= low and high <= bounds.max:
            # integer labels in a compact range: counting finds the classes in one pass
            # (several times faster than sorting a long target)
            offsets = values.astype(np.int64, copy=False)
            if low:
                offsets = offsets - low
            present = np.bincount(offsets) > 0
            classes = (np.flatnonzero(present) + low).astype(values.dtype)
            lookup = (np.cumsum(present) - 1).astype(code_dtype(len(classes)))
            return classes, lookup[offsets]
    classes = np.unique(values)
    # searchsorted needs less memory than unique(return_inverse=True) on long targets
    codes = np.searchsorted(classes, values)
    return classes, codes.astype(code_dtype(len(classes)), copy=False)
