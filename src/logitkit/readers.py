"""Data files for the command line: read and write CSV/TSV/Parquet, check them for a model.

Every problem with the data raises :class:`~logitkit.exceptions.DataFileError` (a
``ValueError``) with a one-line message naming the column and, where there is one, the
first bad row, numbered as in Python's errors (:mod:`logitkit.messages`): from 0, the
header not included. A missing file raises ``FileNotFoundError``.

Column types follow the estimators (:mod:`logitkit.encoding`): numeric columns stay
numeric; string and bool columns, and the columns named ``categorical``, are one-hot
encoded. A text column whose values are mostly numbers is taken to be a numeric column
with a typo, and its first non-number is reported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from logitkit.exceptions import DataFileError
from logitkit.io import atomic_write
from logitkit.messages import plain, row_name

__all__ = ["TrainingData", "evaluation_target", "find_id_column", "prediction_features",
           "read_table", "row_ids", "training_data", "typed_columns", "write_table"]

_DELIMITERS = ",\t;|"
_PARQUET_MAGIC = b"PAR1"
_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
                csv.Error, ValueError, OverflowError, IndexError)


# ---------------------------------------------------------------------------- reading

def read_table(source, sep: str | None = None, name: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table from a path or a binary file object (stdin).

    Parquet is recognised by its extension (.parquet, .pq) or its magic bytes; text files
    use ``sep``, else a tab for .tsv/.tab, else the delimiter among ``, TAB ; |`` that
    occurs most often in the header line.
    """
    if hasattr(source, "read"):
        name = name or getattr(source, "name", "<stdin>")
        data, suffix = source.read(), ""
    else:
        name = name or str(source)
        data, suffix = Path(source).read_bytes(), Path(source).suffix.lower()
    if not data.strip():
        raise DataFileError(f"{name} is empty")
    if suffix in (".parquet", ".pq") or data[:4] == _PARQUET_MAGIC:
        frame = _read_parquet(data, name)
    else:
        if sep is None:
            sep = "\t" if suffix in (".tsv", ".tab") else _sniff(data)
        frame = _read_text(data, sep, name)
    if len(frame) == 0:
        raise DataFileError(f"{name} has a header but no data rows")
    names = [str(c).strip() for c in frame.columns]
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise DataFileError(f"{name} has duplicate column names {duplicated}")
    return frame.set_axis(names, axis=1)


def write_table(frame: pd.DataFrame, path) -> None:
    """Write ``frame`` atomically as CSV, TSV (.tsv, .tab) or Parquet (.parquet, .pq)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataFileError("writing Parquet files needs pyarrow: pip install "
                                "'logitkit[parquet]'") from None
        with atomic_write(path) as fh:
            frame.to_parquet(fh, index=False)
        return
    sep = "\t" if suffix in (".tsv", ".tab") else ","
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False, sep=sep, lineterminator="\n")


def _sniff(data: bytes) -> str:
    header = data[:65536].decode("utf-8-sig", errors="replace").splitlines()[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


def _read_text(data: bytes, sep: str, name: str) -> pd.DataFrame:
    sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    try:
        return pd.read_csv(io.BytesIO(data), sep=sep, encoding="utf-8-sig",
                           skipinitialspace=True)
    except UnicodeDecodeError:
        raise DataFileError(f"{name} is not UTF-8 text") from None
    except _READ_ERRORS as e:
        detail = " ".join(str(e).split()) or type(e).__name__
        raise DataFileError(f"cannot parse {name} as a table (separator {sep!r}): "
                            f"{detail}") from None


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataFileError(f"reading the Parquet file {name} needs pyarrow: "
                            "pip install 'logitkit[parquet]'") from None
    try:
        return pq.read_table(pa.BufferReader(data)).to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as e:
        detail = " ".join(str(e).split()) or type(e).__name__
        raise DataFileError(f"cannot read the Parquet file {name}: {detail}") from None


# ------------------------------------------------------------------------- columns

def find_id_column(frame: pd.DataFrame, requested: str | None) -> str | None:
    """The row-identifier column: ``requested``, else a column named "id" (any case)."""
    if requested is not None:
        _require(frame, [requested], "id")
        return requested
    named_id = [c for c in frame.columns if c.lower() == "id"]
    return named_id[0] if len(named_id) == 1 else None


def row_ids(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    """Identifiers for the rows: the id column, a non-default index (Parquet), or 1..n."""
    if id_column is not None:
        return frame[id_column].reset_index(drop=True)
    if not isinstance(frame.index, pd.RangeIndex):
        return frame.index.to_series(name=frame.index.name or "id").reset_index(drop=True)
    return pd.Series(np.arange(1, len(frame) + 1), name="row")


def _require(frame: pd.DataFrame, columns, role: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataFileError(f"no {role} column {', '.join(map(repr, missing))}; the columns "
                            f"are {list(frame.columns)}")


def _first_row(mask: pd.Series) -> str:
    """"row i" of the first True: frames here are indexed by position in the file (from
    0), and keep that index when rows are dropped."""
    return row_name(mask.idxmax())


def _numeric(series: pd.Series, name: str) -> pd.Series:
    """The column as float64; a value that is not a number is an error naming its row."""
    if pd.api.types.is_bool_dtype(series):
        raise DataFileError(f"column {name!r} holds true/false values, not numbers")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(np.float64)
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        raise DataFileError(f"column {name!r} should be numeric but {_first_row(bad)} has "
                            f"the value {plain(series[bad].iloc[0])!r}; fix it, or declare the "
                            "column categorical")
    return values.astype(np.float64)


def numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """(n,) float64 values of the column ``name`` (an error names a row that is not a
    number)."""
    return _numeric(frame[name], name).to_numpy()


def _looks_numeric(series: pd.Series) -> bool:
    """Text where at least half of the values present are numbers: a numeric column."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return not pd.api.types.is_bool_dtype(series)
    present = series.dropna().astype(str)
    numbers = pd.to_numeric(present, errors="coerce").notna().sum()
    return numbers > 0 and 2 * numbers >= len(present)


def _bad_rows(frame: pd.DataFrame) -> pd.Series:
    """(n,) True where a value is missing, or infinite in a numeric column."""
    bad = frame.isna().any(axis=1)
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            bad |= np.isinf(frame[column].to_numpy())
    return bad


def _drop_bad_rows(frame: pd.DataFrame, dropna: bool, name: str) -> tuple[pd.DataFrame, int]:
    bad = _bad_rows(frame)
    if not bad.any():
        return frame, 0
    if not dropna:
        row = int(np.argmax(bad.to_numpy()))
        column = next(c for c in frame.columns if _bad_rows(frame[[c]]).iloc[row])
        raise DataFileError(
            f"{name}: column {column!r} has a missing or infinite value in {row_name(row)}; "
            f"{int(bad.sum())} of {len(frame)} rows have such values; fix them, or drop those "
            "rows (--dropna)")
    kept = frame.loc[~bad.to_numpy()]
    if len(kept) == 0:
        raise DataFileError(f"{name}: every row has a missing or infinite value")
    return kept, int(bad.sum())


# ------------------------------------------------------------------------- training

@dataclass(frozen=True)
class TrainingData:
    """X: the feature columns, typed for the estimator; y: (n,) target (a Categorical in
    ``order`` for ordinal fits); sample_weight: (n,) or None; n_dropped: rows dropped;
    clusters: (n,) cluster labels or None; offset: (n,) float offsets or None."""

    X: pd.DataFrame
    y: pd.Series
    sample_weight: np.ndarray | None
    n_dropped: int
    clusters: np.ndarray | None = None
    offset: np.ndarray | None = None


def feature_columns(frame, target: str, features, categorical, weights, id_column,
                    clusters, name: str) -> list:
    """The feature columns of a fit (``features``, or every column but the target,
    weights, id and clusters ones), checked against the frame (pandas or Dask) and the
    other roles; the target and weights columns are checked by the caller."""
    if clusters is not None:
        _require(frame, [clusters], "clusters")
        if clusters in (target, weights):
            raise DataFileError(f"{clusters!r} cannot be both the clusters column and the "
                                "target or weights column")
    reserved = {target, weights, id_column, clusters}
    if features is None:
        features = [c for c in frame.columns if c not in reserved]
    else:
        _require(frame, features, "feature")
        clash = [c for c in features if c in (target, weights, clusters)]
        if clash:
            raise DataFileError(f"{clash[0]!r} cannot be both a feature and the target, "
                                "weights or clusters column")
    if not features:
        raise DataFileError(f"{name} has no feature columns besides the target {target!r}")
    unknown = [c for c in categorical if c not in features]
    if unknown:
        raise DataFileError(f"the categorical column(s) {unknown} are not among the "
                            f"features {list(features)}")
    return list(features)


def training_data(frame: pd.DataFrame, target: str, features=None, categorical=(),
                  order=None, weights: str | None = None, id_column: str | None = None,
                  dropna: bool = False, name: str = "data",
                  clusters: str | None = None, offset: str | None = None) -> TrainingData:
    """Select and type the columns of a fit; ``order``: the ordinal target's levels;
    ``clusters``: the column of cluster labels, ``offset`` the offsets' (never features)."""
    frame = frame.reset_index(drop=True)
    _require(frame, [target], "target")
    if weights is not None:
        _require(frame, [weights], "weights")
    if offset is not None:
        _require(frame, [offset], "offset")
        if offset in (target, weights, clusters, id_column) or offset in (features or ()):
            raise DataFileError(f"{offset!r} cannot be both the offset column and a feature, "
                                "the target, weights, id or clusters column")
    features = feature_columns(frame if offset is None else frame.drop(columns=[offset]),
                               target, features, categorical, weights, id_column,
                               clusters, name)
    columns = {}
    for column in features:
        series = frame[column]
        if column in categorical:
            columns[column] = series.astype(object).where(series.notna(), None)
        elif _looks_numeric(series):
            columns[column] = _numeric(series, column)
        else:
            columns[column] = series
    columns[target] = frame[target]
    if weights is not None:
        columns[weights] = _numeric(frame[weights], weights)
    if clusters is not None:
        columns[clusters] = frame[clusters]
    if offset is not None:
        columns[offset] = _numeric(frame[offset], offset)
    used, n_dropped = _drop_bad_rows(pd.DataFrame(columns), dropna, name)
    y = used[target] if order is None else _ordered(used[target], order, target)
    classes = pd.unique(y)
    if len(classes) < 2:
        raise DataFileError(f"the target {target!r} has only one class ({plain(classes[0])}); a "
                            "model needs at least 2")
    sample_weight = None
    if weights is not None:
        negative = used[weights] < 0
        if negative.any():
            raise DataFileError(f"the weights column {weights!r} has a negative value in "
                                f"{_first_row(negative)}")
        sample_weight = used[weights].to_numpy()
    X = used[list(features)].reset_index(drop=True)
    groups = None if clusters is None else used[clusters].to_numpy()
    return TrainingData(X, y.reset_index(drop=True), sample_weight, n_dropped, groups,
                        None if offset is None else used[offset].to_numpy(dtype=float))


def _ordered(y: pd.Series, order, target: str) -> pd.Series:
    """The target as an ordered Categorical with the levels ``order`` (texts or numbers)."""
    order = list(order)
    if len(set(order)) != len(order):
        raise DataFileError(f"the order {order} repeats a level")
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        levels = pd.to_numeric(pd.Series(order, dtype=object), errors="coerce")
        if levels.isna().any():
            raise DataFileError(f"the target {target!r} is numeric but the order {order} "
                                "has levels that are not numbers")
        order = list(levels.astype(y.dtype) if levels.eq(levels.round()).all() else levels)
    else:
        y = y.astype(str)
    outside = ~y.isin(order)
    if outside.any():
        values = sorted({str(v) for v in y[outside]})
        raise DataFileError(f"the target {target!r} has values outside the order {order}: "
                            f"{values[:10]} (first in {_first_row(outside)})")
    return pd.Series(pd.Categorical(y, categories=order, ordered=True), index=y.index,
                     name=target)


# ------------------------------------------------------------------------- prediction

def prediction_features(frame: pd.DataFrame, model, dropna: bool = False,
                        name: str = "data", extra=()) -> tuple:
    """(X, extra_frame, kept): the model's features typed for ``model.predict`` (a
    DataFrame; an array for a model fitted on an array, whose features the file must name
    x0, x1, ...), the ``extra`` columns (e.g. the evaluation target) of the same rows, and
    the (n,) bool mask of the rows kept."""
    frame = frame.reset_index(drop=True)
    if getattr(model, "formula_", None) is not None:
        return _formula_features(frame, model.formula_.variables, dropna, name, list(extra))
    encoder = model.encoder_
    if encoder is not None:
        levels = {c.name: c.levels for c in encoder.columns}
    else:
        levels = dict.fromkeys(f"x{j}" for j in range(model.n_features_in_))
    features = list(levels)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise DataFileError(f"{name} lacks the feature column(s) {missing} that the model "
                            f"was fitted on; its columns are {list(frame.columns)}")
    _require(frame, extra, "target")
    columns = {c: (frame[c] if levels[c] is not None else _numeric(frame[c], c))
               for c in features}
    columns.update({c: frame[c] for c in extra if c not in columns})
    used = pd.DataFrame(columns)
    kept = ~_bad_rows(used).to_numpy()
    used, _ = _drop_bad_rows(used, dropna, name)
    for column in features:
        if levels[column] is not None:
            used[column] = _check_levels(used[column], levels[column], column)
    X = used[features] if hasattr(model, "feature_names_in_") else used[features].to_numpy()
    return X, used[list(extra)], kept


def typed_columns(frame: pd.DataFrame, columns, keep=()) -> pd.DataFrame:
    """The ``columns`` of ``frame`` for a formula: numeric columns as read, text columns
    that look numeric as float64 (except ``keep``; a stray non-number is an error), the
    others as read (text and true/false: categorical)."""
    typed = {}
    for column in dict.fromkeys(columns):
        series = frame[column]
        if (column not in keep and not pd.api.types.is_numeric_dtype(series)
                and _looks_numeric(series)):
            series = _numeric(series, column)
        typed[column] = series
    return pd.DataFrame(typed, index=frame.index)


def _formula_features(frame, variables: list, dropna: bool, name: str, extra: list):
    """prediction_features of a model fitted with a formula: the formula's columns, typed
    as at fit; the model applies the formula (levels checked there)."""
    _require(frame, variables, "feature")
    _require(frame, extra, "target")
    used = typed_columns(frame, variables)
    used = used.join(frame[[c for c in extra if c not in used.columns]])
    kept = ~_bad_rows(used).to_numpy()
    used, _ = _drop_bad_rows(used, dropna, name)
    return used[variables], used[extra], kept


def _check_levels(series: pd.Series, levels: tuple, column: str) -> pd.Series:
    """The column with values of the levels' type; an unseen category is an error."""
    if all(isinstance(level, str) for level in levels):
        series = series.astype(str)
    unseen = ~series.isin(list(levels))
    if unseen.any():
        raise DataFileError(
            f"column {column!r} has the category {plain(series[unseen].iloc[0])!r} in "
            f"{_first_row(unseen)}, "
            f"which was not seen in training; the known categories are "
            f"{[str(level) for level in levels]}")
    return series


def evaluation_target(y: pd.Series, classes: np.ndarray, target: str) -> np.ndarray:
    """(n,) int64 codes of the labels ``y`` in ``classes``; an unknown label is an error."""
    if all(isinstance(c, str) for c in classes):
        y = y.astype(str)
    codes = y.map({c: i for i, c in enumerate(classes)})
    unknown = codes.isna()
    if unknown.any():
        values = sorted({str(v) for v in y[unknown]})
        raise DataFileError(f"the target {target!r} has values the model does not know: "
                            f"{values[:10]} (first in {_first_row(unknown)}); the "
                            f"model's classes are {[str(c) for c in classes]}")
    return codes.to_numpy(dtype=np.int64)
