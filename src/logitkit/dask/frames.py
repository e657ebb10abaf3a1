"""Dask DataFrames in, dask arrays with known row chunks out (the core fits arrays).

:func:`frame_arrays` turns a dask DataFrame ``X`` with dask Series (or 1-d dask arrays)
``y``, ``sample_weight`` and ``clusters`` into the dask arrays that
:func:`logitkit.dask.arrays.prepare` takes, all with X's row chunks: X (n, d) float64,
the design of :class:`~logitkit.encoding.DesignEncoder` (the encoder of the in-memory
fit: the columns, names and order of encoding the whole pandas DataFrame), built
partition by partition; y (n,) labels; sample_weight (n,) float64; clusters (n,) labels.

The levels are frozen before the fit by ONE pass over the data (one ``dask.compute``,
reading only the columns it needs when Dask partitions them as the whole frame). It
counts the rows of each partition and finds the levels of the categorical columns whose
categories are unknown (text and bool columns, and Categoricals read from Parquet), and
the class order of a Categorical y with unknown categories. Columns with known
categories are used as they are (all their categories: an absent one gives a column of
zeros, which an unpenalised fit reports as aliased). Levels found by the pass are
flagged (``ColumnEncoding.scanned``) and the summary says so. y's classes, the cluster
labels and the checks of y, weights and X's numbers are the core's scan
(:mod:`logitkit.dask.arrays`), the fit's next pass.

Series taken from X's own DataFrame (``df["y"]`` next to ``df[features]``) are assigned as
columns of one frame, so they are read with X's partitions whatever Dask's optimizer does
to single-column reads; others are matched to X's rows by position (as the in-memory fit
does) and rechunked to X's row chunks. Errors name the partition and column: missing
values in a categorical column (found by the pass), NaN or infinity in a numeric column
(found when the partition is encoded, in the fit's first pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd

from logitkit.encoding import ColumnEncoding, DesignEncoder, _is_categorical, numeric_block
from logitkit.messages import row_name

__all__ = ["FrameArrays", "design_array", "frame_arrays", "is_dask_frame"]

# names of y, sample_weight and clusters when they become columns of X's frame
_ROLES = {"y": "__logitkit_y__", "sample_weight": "__logitkit_w__",
          "clusters": "__logitkit_clusters__"}


def is_dask_frame(value) -> bool:
    """Whether ``value`` is a dask DataFrame or Series."""
    return isinstance(value, dd.DataFrame | dd.Series)


@dataclass(frozen=True)
class FrameArrays:
    """What :func:`frame_arrays` returns. X: (n, d) float64; y: (n,) labels;
    sample_weight: (n,) float64 or None; clusters: (n,) labels or None; all with X's row
    chunks. encoder: the frozen encoding of X's columns; class_order: a Categorical y's
    categories in their order (object array; ``prepare`` keeps those that occur), else
    None (the classes are the sorted labels); target_name: y's name or None; scanned:
    what the pass found levels for (column names, and "y"); x_share: the share of X's
    columns that the pass read (its reads of X, for ``n_passes_``)."""

    X: da.Array
    y: da.Array
    sample_weight: da.Array | None
    clusters: da.Array | None
    encoder: DesignEncoder
    class_order: np.ndarray | None
    target_name: str | None
    scanned: tuple[str, ...]
    x_share: float = 1.0


# ---------------------------------------------------------------------- the pass

def _scan(part, number: int, columns: dict) -> tuple:
    """([rows], {role: (distinct values, categories or None)}) of one partition (a pandas
    DataFrame, Series or NumPy array); ``columns`` maps a column (None for a Series or
    array) to the role naming it in errors. Missing values are an error."""
    found = {}
    for column, role in columns.items():
        series = part if column is None else part[column]
        if isinstance(series, np.ndarray):  # a chunk of a dask array
            series = pd.Series(series)
        missing = series.isna().to_numpy()
        if missing.any():
            first = int(np.argmax(missing))
            raise ValueError(f"{role} has missing values in partition {number} (first at "
                             f"{row_name(first, series.index)} of that partition); drop or "
                             "fill them before the fit")
        if isinstance(series.dtype, pd.CategoricalDtype):
            categories = series.cat.categories
            present = np.unique(series.cat.codes.to_numpy())
            found[role] = (np.asarray(categories[present[present >= 0]]), list(categories))
        else:
            found[role] = (np.asarray(series.unique()), None)
    return [len(part)], found


def _merge(a: tuple, b: tuple) -> tuple:
    """Two scans (of consecutive partitions) as one: row counts in order, values united
    in order of first appearance."""
    found = {}
    for role, (values, categories) in a[1].items():
        other_values, other_categories = b[1][role]
        both = pd.unique(np.concatenate([values, other_values]))
        if categories is not None or other_categories is not None:
            categories = list(dict.fromkeys((categories or []) + (other_categories or [])))
        found[role] = (np.asarray(both), categories)
    return a[0] + b[0], found


def _tree(values: list, combine):
    """``combine`` applied pairwise in a fixed order (a balanced tree of delayed calls)."""
    while len(values) > 1:
        merged = [dask.delayed(combine, pure=True)(values[i], values[i + 1])
                  for i in range(0, len(values) - 1, 2)]
        values = merged + ([values[-1]] if len(values) % 2 else [])
    return values[0]


def _levels(values: np.ndarray, categories, role: str) -> tuple:
    """The levels of a column as the in-memory encoder finds them: a Categorical's
    categories that occur, in category order; otherwise the distinct values sorted."""
    if categories is not None:
        present = set(values.tolist())
        return tuple(c for c in categories if c in present)
    try:
        return tuple(sorted(values))
    except TypeError:  # e.g. numbers and text in one object column
        kinds = sorted({type(v).__name__ for v in values})
        raise ValueError(f"{role} mixes {kinds} values; give it numbers, or text for "
                         "categories") from None


# ------------------------------------------------------------------ the blocks

def _check_rows(part, number: int, rows: int) -> None:
    if len(part) != rows:
        raise RuntimeError(f"partition {number} has {len(part)} rows where the pass before "
                           f"the fit counted {rows}: the data changed during the fit")


def _design_block(part, number: int, rows, encoder: DesignEncoder) -> np.ndarray:
    """(rows, d) float64 design of one partition; errors name the partition."""
    if rows is not None:
        _check_rows(part, number, rows)
    design = None if encoder.has_categorical else _numeric_design(part, encoder)
    if design is not None:
        return design
    try:
        return encoder.transform(part)
    except ValueError as e:
        raise ValueError(f"partition {number} of X: {e}") from None


def _numeric_design(part, encoder: DesignEncoder) -> np.ndarray | None:
    """(rows, d) float64 design of a partition whose fitted columns are all numeric
    (:func:`~logitkit.encoding.numeric_block`: pandas' column-ordered view of its float64
    block, as Dask's Parquet reader makes it, with no work per column and no copy). None
    when a column has another dtype, is missing, or holds a value that is not finite:
    the encoder then builds the design (or names the column)."""
    names = [c.name for c in encoder.columns]
    if not isinstance(part, pd.DataFrame) or any(str(c) != c for c in part.columns):
        return None
    try:
        selected = part[names]
    except KeyError:
        return None
    if selected.shape[1] != len(names):  # (repeated names: the encoder's error)
        return None
    return numeric_block(selected)


def _column_block(part, number: int, rows: int, column, dtype) -> np.ndarray:
    """(rows,) values of one column (or Series, or array chunk) of a partition, as
    ``dtype``."""
    _check_rows(part, number, rows)
    values = part if column is None else part[column]
    if isinstance(values, pd.Series) and not isinstance(values.dtype, np.dtype):
        values = values.astype(object)  # Categorical, pyarrow strings: Python objects
    return np.asarray(values).astype(dtype, copy=False)


def _numpy_dtype(dtype) -> np.dtype:
    """The NumPy dtype of a column's values (object for pandas' extension dtypes)."""
    return dtype if isinstance(dtype, np.dtype) else np.dtype(object)


def _blocks(parts, lengths, function, shape_tail, dtype, *args) -> da.Array:
    """One dask array from per-partition delayed blocks of ``lengths`` rows."""
    blocks = [da.from_delayed(dask.delayed(function, pure=True)(part, i, rows, *args),
                              (rows, *shape_tail), dtype=dtype)
              for i, (part, rows) in enumerate(zip(parts, lengths, strict=True))]
    return da.concatenate(blocks, axis=0)


# ------------------------------------------------------------------ the inputs

def _co_aligned(frame: dd.DataFrame, series: dd.Series) -> bool:
    """Whether ``series`` derives from X's own data partition by partition (Dask can
    then assign it as a column, whatever the optimizer does to its partitions)."""
    try:
        from dask.dataframe.dask_expr._expr import are_co_aligned
    except ImportError:  # another Dask layout: match by position instead
        return False
    return bool(are_co_aligned(frame.expr, series.expr))


def _numeric(dtype) -> bool:
    return not _is_categorical(pd.Series([], dtype=dtype))


class _Source:
    """A collection read partition by partition: X's frame (with the co-aligned
    Series as columns), a separate Series, or a 1-d dask array."""

    def __init__(self, collection, scan_columns: dict):
        self.collection = collection
        self.scan_columns = scan_columns  # column -> role, the values the pass collects
        self.parts = _partitions(collection)
        self.columns_read = None  # the columns the pass read (None: all)

    def scan(self):
        """The delayed merged scan of every partition (a projection of the scanned
        columns when Dask partitions it as it partitions the whole frame)."""
        parts = self.parts
        if isinstance(self.collection, dd.DataFrame):
            columns = list(self.scan_columns) or list(self.collection.columns[:1])
            projected = _partitions(self.collection[columns])
            if len(projected) == len(parts):  # (each block checks its rows anyway)
                parts, self.columns_read = projected, columns
        return _tree([dask.delayed(_scan, pure=True)(part, i, self.scan_columns)
                      for i, part in enumerate(parts)], _merge)


def _partitions(collection) -> list:
    """The partitions of a dask collection as Delayed objects, its graph optimised
    without Dask's tuning stage. That stage fuses the files of a Parquet read that takes
    fewer than all the columns (``dd.read_parquet(...)[features]``) into fewer, larger
    partitions, by a rule that depends on the share of the columns read: X's partitions
    then differed from those of the one-column read that counts their rows, which had
    to read all of X's columns instead; and each fused partition concatenated its files
    (a copy)."""
    with dask.config.set({"optimization.tune.active": False}):
        return list(np.ravel(collection.to_delayed()))


def _one_dimensional(values, role: str, n_rows=None):
    """``values`` as a dask Series or 1-d dask array with known chunks; errors name the
    role."""
    if isinstance(values, dd.DataFrame):
        if len(values.columns) != 1:
            raise ValueError(f"{role} should be a dask Series or 1-d dask array, got a dask "
                             f"DataFrame with {len(values.columns)} columns")
        return values[values.columns[0]]
    if isinstance(values, dd.Series):
        return values
    if isinstance(values, da.Array):
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f"{role} should be 1-d, got a dask array of shape {values.shape}")
        if any(np.isnan(c) for c in values.chunks[0]):
            raise ValueError(f"{role} is a dask array of unknown chunk sizes: call "
                             f"{role}.compute_chunk_sizes() first (or make it with "
                             "to_dask_array(lengths=True))")
        return values
    raise TypeError(f"with a dask DataFrame X, {role} should be a dask Series or dask array "
                    f"(of X's rows), got {type(values).__name__}")


def _design_plan(meta: pd.DataFrame) -> tuple[dict, list]:
    """({column: its known levels or None (a numeric column)}, [columns to scan])."""
    names = [str(c) for c in meta.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"X has the column(s) {repeated} more than once")
    known, scan = {}, []
    for column in meta.columns:
        series = meta[column]
        if not _is_categorical(series):
            known[column] = None
        elif isinstance(series.dtype, pd.CategoricalDtype) and not _unknown_categories(series):
            known[column] = tuple(series.cat.categories)
        else:
            scan.append(column)
    return known, scan


def _unknown_categories(values) -> bool:
    """Whether a (dask or meta) Series is a Categorical whose categories Dask does not
    know (Dask's pyarrow-filesystem Parquet reader declares none: unknown too)."""
    dtype = values.dtype
    return isinstance(dtype, pd.CategoricalDtype) and (
        not len(dtype.categories) or "__UNKNOWN_CATEGORIES__" in dtype.categories)


def frame_arrays(X, y, sample_weight=None, clusters=None) -> FrameArrays:
    """Dask arrays of a dask DataFrame fit, the levels frozen by one pass (see the
    module docstring)."""
    if isinstance(X, dd.Series):
        X = X.to_frame()
    if not isinstance(X, dd.DataFrame):
        raise TypeError(f"X should be a dask DataFrame, got {type(X).__name__}")
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    features = list(X.columns)
    if not features:
        raise ValueError("X has no columns")
    known, scan_design = _design_plan(X._meta)
    extras = {role: _one_dimensional(values, role) for role, values in
              (("y", y), ("sample_weight", sample_weight), ("clusters", clusters))
              if values is not None}
    attached = {role: values for role, values in extras.items()
                if isinstance(values, dd.Series) and _co_aligned(X, values)}
    frame = X.assign(**{_ROLES[role]: values for role, values in attached.items()}) \
        if attached else X
    scan_frame = {column: f"column {column!r} of X" for column in scan_design}
    y = extras["y"]
    scan_y = isinstance(y, dd.Series) and _unknown_categories(y)
    if scan_y and "y" in attached:
        scan_frame[_ROLES["y"]] = "y"
    separate = {role: _Source(values, {None: role} if role == "y" and scan_y else {})
                for role, values in extras.items()
                if role not in attached and isinstance(values, dd.Series)}
    sources = {"X": _Source(frame, scan_frame), **separate}
    scans = dict(zip(sources, dask.compute(*[s.scan() for s in sources.values()]),
                     strict=True))
    found = {role: v for (_, seen) in scans.values() for role, v in seen.items()}

    encodings = [ColumnEncoding(str(c), known[c]) if c in known else ColumnEncoding(
        str(c), _levels(*found[f"column {c!r} of X"], f"column {c!r} of X"), scanned=True)
        for c in features]
    encoder = DesignEncoder(tuple(encodings))
    lengths, parts = scans["X"][0], sources["X"].parts
    if not sum(lengths):
        raise ValueError("X has 0 rows; at least one is required")
    Xa = _blocks(parts, lengths, _design_block, (len(encoder.output_names),), np.float64,
                 encoder)
    arrays = {}
    for role, values in extras.items():
        dtype = np.dtype(np.float64) if role == "sample_weight" else _numpy_dtype(
            values.dtype)
        if role in attached:
            arrays[role] = _blocks(parts, lengths, _column_block, (), dtype, _ROLES[role],
                                   dtype)
            continue
        if role in separate:
            values = _blocks(sources[role].parts, scans[role][0], _column_block, (), dtype,
                             None, dtype)
        if values.shape[0] != Xa.shape[0]:
            raise ValueError(f"X has {Xa.shape[0]} rows but {role} has {values.shape[0]}")
        arrays[role] = values.astype(dtype).rechunk({0: Xa.chunks[0]})
    order = None
    if isinstance(y, dd.Series) and isinstance(y.dtype, pd.CategoricalDtype):
        order = np.asarray(_levels(*found["y"], "y") if scan_y else y.dtype.categories,
                           dtype=object)
    scanned = tuple(c.name for c in encodings if c.scanned) + (("y",) if scan_y else ())
    name = y.name if isinstance(y, dd.Series) else None
    return FrameArrays(Xa, arrays["y"], arrays.get("sample_weight"), arrays.get("clusters"),
                       encoder, order, None if name is None else str(name), scanned,
                       _share(sources["X"].columns_read, features))


def _share(columns_read, features) -> float:
    """The share of X's columns (``features``) among ``columns_read`` (None: all)."""
    if columns_read is None:
        return 1.0
    return len(set(columns_read) & set(features)) / len(features)


def design_array(X, encoder: DesignEncoder) -> da.Array:
    """(n, d) float64 lazy design of a dask DataFrame with a fitted encoder (prediction:
    one task per partition, row chunks unknown); a missing column is an error now, an
    unseen category or NaN one naming its partition when it is computed."""
    if isinstance(X, dd.Series):
        X = X.to_frame()
    if not isinstance(X, dd.DataFrame):
        raise TypeError(f"X should be a dask DataFrame, got {type(X).__name__}")
    encoder._selected(X._meta)
    wanted = {c.name for c in encoder.columns}
    parts = list(X[[c for c in X.columns if str(c) in wanted]].to_delayed())
    blocks = [da.from_delayed(dask.delayed(_design_block, pure=True)(part, i, None, encoder),
                              (np.nan, len(encoder.output_names)), dtype=np.float64)
              for i, part in enumerate(parts)]
    return da.concatenate(blocks, axis=0)

