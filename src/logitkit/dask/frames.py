"""Dask DataFrames in, dask arrays with known row chunks out (the core fits arrays).

:func:`frame_arrays` turns a dask DataFrame ``X`` with dask Series (or 1-d dask arrays)
``y``, ``sample_weight`` and ``clusters`` into dask arrays that all have X's row chunks:
X (n, d) float64, the design of :class:`~logitkit.encoding.DesignEncoder` (the encoder of
the in-memory fit: same columns, names and order as encoding the whole pandas DataFrame),
built partition by partition; y (n,) labels; sample_weight (n,) float64; clusters (n,)
labels (int64 codes for text). The levels are frozen before the fit by ONE pass over the
data (one ``dask.compute``), which also counts the rows of each partition, finds y's
classes and the levels of text clusters, and the levels of categorical columns whose
categories are unknown (text, bool, and Categorical columns read from Parquet); columns
with known categories are used as they are (all their categories, none dropped for being
absent: an absent one gives a column of zeros, which an unpenalised fit reports as
aliased). Those found by the pass are flagged (``ColumnEncoding.scanned``) and the
summary says so.

Series taken from X's own DataFrame (``df["y"]`` next to ``df[features]``) are assigned as
columns of one frame, so they are read with X's partitions whatever Dask's optimizer does
to single-column reads; others are matched to X's rows by position (as the in-memory fit
does) and rechunked to X's row chunks. Errors name the partition and column: missing
values in y, a categorical column or text clusters (found by the pass), NaN or infinity
in a numeric column (found when the partition is encoded, in the fit's first pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets

from logitkit.encoding import ColumnEncoding, DesignEncoder, _is_categorical
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
    """What :func:`frame_arrays` returns. X: (n, d) float64; y: (n,) labels (the values
    of ``classes``); sample_weight: (n,) float64 or None; clusters: (n,) or None (int64
    codes when the labels were text); all with X's row chunks. encoder: the frozen
    encoding of X's columns; classes: (K,) y's classes, in the order of the in-memory fit
    (a Categorical's category order, else sorted); scanned: what the pass found levels
    for (column names, and "y" / "clusters")."""

    X: da.Array
    y: da.Array
    sample_weight: da.Array | None
    clusters: da.Array | None
    encoder: DesignEncoder
    classes: np.ndarray
    scanned: tuple[str, ...]


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
    try:
        return encoder.transform(part)
    except ValueError as e:
        raise ValueError(f"partition {number} of X: {e}") from None


def _column_block(part, number: int, rows: int, column, dtype, index=None) -> np.ndarray:
    """(rows,) values of one column (or Series, or array chunk) of a partition, as
    ``dtype``; with ``index`` their positions in it (int64 codes)."""
    _check_rows(part, number, rows)
    values = part if column is None else part[column]
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    values = np.asarray(values)
    if index is not None:
        return index.get_indexer(values.astype(object)).astype(np.int64)
    return values.astype(dtype, copy=False)


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
        self.parts = list(np.ravel(collection.to_delayed()))

    def scan(self):
        """The delayed merged scan of every partition (a projection of the scanned
        columns when Dask partitions it as it partitions the whole frame)."""
        parts = self.parts
        if isinstance(self.collection, dd.DataFrame):
            columns = list(self.scan_columns) or list(self.collection.columns[:1])
            projected = list(self.collection[columns].to_delayed())
            if len(projected) == len(parts):  # (each block checks its rows anyway)
                parts = projected
        return _tree([dask.delayed(_scan, pure=True)(part, i, self.scan_columns)
                      for i, part in enumerate(parts)], _merge)


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
        elif isinstance(series.dtype, pd.CategoricalDtype) and len(
                series.cat.categories) and "__UNKNOWN_CATEGORIES__" not in series.cat.categories:
            # (Dask's pyarrow-filesystem Parquet reader declares none: scanned)
            known[column] = tuple(series.cat.categories)
        else:
            scan.append(column)
    return known, scan


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
    separate = {}
    for role, values in extras.items():
        wanted = role == "y" or (role == "clusters" and not _numeric(values.dtype))
        if role in attached:
            if wanted:
                scan_frame[_ROLES[role]] = role
        elif wanted or isinstance(values, dd.Series):  # (a Series' rows need counting)
            separate[role] = _Source(values, {None: role} if wanted else {})
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
    classes = _classes(*found["y"])
    arrays = {}
    for role, values in extras.items():
        index = None
        if role == "clusters" and "clusters" in found:  # text labels: int64 codes
            index = dask.delayed(pd.Index(found["clusters"][0], dtype=object), pure=True)
        dtype = {"y": classes.dtype, "sample_weight": np.dtype(np.float64)}.get(
            role, np.dtype(np.int64) if index is not None else values.dtype)
        if role in attached:
            arrays[role] = _blocks(parts, lengths, _column_block, (), dtype, _ROLES[role],
                                   dtype, index)
            continue
        if role in separate:
            values = _blocks(sources[role].parts, scans[role][0], _column_block, (), dtype,
                             None, dtype, index)
        else:
            values = values.astype(dtype)
        if values.shape[0] != Xa.shape[0]:
            raise ValueError(f"X has {Xa.shape[0]} rows but {role} has {values.shape[0]}")
        arrays[role] = values.rechunk({0: Xa.chunks[0]})
    scanned = tuple(c.name for c in encodings if c.scanned) + ("y",) + (
        ("clusters",) if "clusters" in found else ())
    return FrameArrays(Xa, arrays["y"], arrays.get("sample_weight"), arrays.get("clusters"),
                       encoder, classes, scanned)


def _classes(values: np.ndarray, categories) -> np.ndarray:
    """(K,) y's classes as :func:`logitkit.encoding.encode_target` orders them."""
    if categories is not None:
        return np.asarray(_levels(values, categories, "y"), dtype=object)
    try:
        classes = np.unique(values)
    except TypeError:  # numbers and text
        raise ValueError(f"y mixes {sorted({type(v).__name__ for v in values})} labels; "
                         "give it labels of one type") from None
    if classes.dtype.kind not in "iu":
        check_classification_targets(classes)  # e.g. continuous values
    return classes


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

