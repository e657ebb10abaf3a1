"""What ``logitkit fit --dask`` needs: a Dask client, the data read lazily and typed as
the in-memory command types them, and a progress bar of the passes over the data.

``--dask local`` or ``local:N`` starts a LocalCluster of N single-threaded worker
processes (default: one per core) for the command's lifetime; ``--dask
tcp://host:port`` (any Dask scheduler address) connects to a running scheduler. DATA is
a Parquet file, directory or glob (``trips/*.parquet``), or CSV/TSV files (a glob),
read with ``dask.dataframe.read_parquet`` / ``read_csv``: files in name order, one
partition per Parquet file or row group, never all in the command's memory.
"""

from __future__ import annotations

import glob
import os
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd

from logitkit import readers
from logitkit.exceptions import DataFileError

__all__ = ["connect", "parse_dask", "pass_bar", "read_frame", "training_frames"]

_LOCAL = re.compile(r"local(?::(\d+))?\Z")
# Dask's fsspec Parquet reader calls reset_index(inplace=True), deprecated in pandas 3.1:
# its warning is Dask's, and not worth a line per partition on the command's stderr
_DASK_NOISE = "The inplace keyword in DataFrame.reset_index"


def parse_dask(spec: str) -> tuple[str, int | str]:
    """("local", n_workers) for ``local[:N]``, ("address", spec) for a scheduler address
    (``scheme://...``); anything else is a ValueError saying what is accepted."""
    match = _LOCAL.match(spec)
    if match:
        n = int(match.group(1)) if match.group(1) else os.cpu_count() or 1
        if n < 1:
            raise ValueError(f"--dask {spec}: the number of workers must be at least 1")
        return "local", n
    if "://" in spec:
        return "address", spec
    raise ValueError(f"--dask {spec!r}: give local, local:N_WORKERS or a scheduler address "
                     "such as tcp://scheduler:8786")


def _quiet_workers(dask_worker=None) -> None:  # run on every worker (and the client)
    warnings.filterwarnings("ignore", message=_DASK_NOISE)


# pyarrow's default pool (jemalloc/mimalloc) keeps the temporaries of reading a partition;
# with the system allocator a streamed 30-file fit completed on 2 workers of 600 MiB that
# the default pool restarted until it failed (docs/dask.md, "Memory of a streamed fit")
WORKER_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system"}


@contextmanager
def connect(spec: str):
    """A ``distributed.Client`` for ``--dask spec`` (the default client while the block
    runs); a local cluster is shut down at the end."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--dask needs Dask's distributed scheduler: pip install "
                          "'logitkit[dask]'") from None
    kind, value = parse_dask(spec)
    _quiet_workers()
    if kind == "local":  # (the scheduler's HTTP server on a free port: no port clash)
        with LocalCluster(n_workers=value, threads_per_worker=1, processes=True,
                          dashboard_address=":0", env=WORKER_ENV) as cluster, \
                Client(cluster) as client:
            client.run(_quiet_workers)
            yield client
        return
    try:
        client = Client(value, timeout="10s")
    except OSError as e:
        raise ValueError(f"cannot connect to the Dask scheduler at {value}: {e}") from None
    with client:
        client.run(_quiet_workers)
        yield client


def _is_parquet(data: str) -> bool:
    if Path(data).is_dir():
        return True
    return Path(data).suffix.lower() in (".parquet", ".pq")


def read_frame(data: str, sep: str | None) -> dd.DataFrame:
    """The lazy DataFrame of DATA (Parquet: a file, directory or glob; else CSV/TSV)."""
    if data == "-":
        raise DataFileError("--dask reads files, not stdin: give a path or a glob")
    local = "://" not in data
    if local and not Path(data).is_dir() and not glob.glob(data):
        raise FileNotFoundError(2, "no such file or directory", data)
    if _is_parquet(data):
        return dd.read_parquet(data)
    if sep is None:
        first = sorted(glob.glob(data))[0] if local else None
        suffix = Path(first or data).suffix.lower()
        sep = "\t" if suffix in (".tsv", ".tab") else (
            readers._sniff(Path(first).read_bytes()[:65536]) if first else ",")
    sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    return dd.read_csv(data, sep=sep, skipinitialspace=True, encoding="utf-8-sig")


def _as_labels(series: pd.Series) -> pd.Series:
    """A column declared categorical: its values as Python objects (None where missing),
    as the in-memory command makes them."""
    return series.astype(object).where(series.notna(), None)


def _ordered_partition(series: pd.Series, order, target: str, partition_info=None):
    try:
        return readers._ordered(series, order, target)
    except DataFileError as e:
        number = (partition_info or {}).get("number")
        raise DataFileError(f"partition {number}: {e}") from None


def training_frames(frame: dd.DataFrame, target: str, features=None, categorical=(),
                    order=None, weights=None, id_column=None, clusters=None,
                    name: str = "data", ordinal: bool = False):
    """(X, y, sample_weight, clusters) of a fit, lazily: the columns selected and typed
    as :func:`logitkit.readers.training_data` does for the in-memory command (numeric
    columns float64, ``categorical`` ones as labels, the ordinal target a Categorical in
    ``order``); columns of text are categorical by their type (no numbers-in-text
    guess). ``ordinal``: an ordinal fit, whose target needs an ``order`` unless it holds
    numbers."""
    readers._require(frame, [target], "target")
    dtype = frame._meta[target].dtype
    if ordinal and order is None and not isinstance(dtype, pd.CategoricalDtype) and (
            not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        raise DataFileError(f"the ordinal target {target!r} holds text; give its levels "
                            'from lowest to highest with --order "low,mid,high"')
    if weights is not None:
        readers._require(frame, [weights], "weights")
    features = readers.feature_columns(frame, target, features, categorical, weights,
                                       id_column, clusters, name)
    meta = frame._meta
    typed = {}
    for column in features:
        series = meta[column]
        if column in categorical:
            typed[column] = frame[column].map_partitions(
                _as_labels, meta=pd.Series([], dtype=object, name=column))
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            typed[column] = frame[column].astype(np.float64)
    used = frame.assign(**typed) if typed else frame
    X = used[list(features)]
    y = used[target]
    if order is not None:
        y = y.map_partitions(_ordered_partition, list(order), target,
                             meta=readers._ordered(meta[target], list(order), target))
    w = None if weights is None else used[weights].astype(np.float64)
    c = None if clusters is None else used[clusters]
    return X, y, w, c


@contextmanager
def pass_bar(client, enabled: bool, file=None):
    """A tqdm bar on ``file`` (stderr) counting the task graphs this client has the
    scheduler run while the block runs (the scheduler's "update-graph" events on the
    client's topic): each is a pass over the data (the pass freezing the levels, the
    core's scan, each solver pass, the final inference pass)."""
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm

    bar = tqdm(desc="passes over the data", bar_format="{desc}: {n} [{elapsed}]",
               leave=False, file=file)

    def count(event):
        message = event[1]
        if isinstance(message, dict) and message.get("action") == "update-graph" and \
                message.get("status") == "OK":
            bar.update(1)

    client.subscribe_topic(client.id, count)
    try:
        yield bar
    finally:
        client.unsubscribe_topic(client.id)
        bar.close()
