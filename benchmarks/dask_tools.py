"""What benchmarks/dask_bench.py measures with: a seeded Parquet dataset, a sampler of the
workers' peak memory, a scheduler plugin that counts reads of the data, and the objective
of any solution computed in one Dask pass with the same code for every solver.

Workers import this module (and common.py): the benchmark puts benchmarks/ on PYTHONPATH
before it starts the cluster.
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
from common import ordinal_objective, softmax_objective
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

SIGNAL = 1.0  # log-odds sd of the binary target
K_MULTI = 5  # classes of the multinomial target
LEVELS = 5  # levels of the ordinal target


# ---- data -------------------------------------------------------------------------------

def _truth(d, seed):
    """(binary slopes (d,), multinomial slopes (d, K), ordinal slopes (d,), ordinal cut
    points (LEVELS - 1,)): drawn once from ``seed``; the cut points at the quantiles of the
    latent variable (equal class shares), from a seeded sample of 200,000 rows."""
    rng = np.random.default_rng([seed, 0])
    beta = rng.normal(size=d) * SIGNAL / np.sqrt(d)
    B = rng.normal(size=(d, K_MULTI)) / np.sqrt(d)
    gamma = rng.normal(size=d) * 2.0 / np.sqrt(d)
    latent = rng.normal(size=(200_000, d)) @ gamma + rng.logistic(size=200_000)
    cuts = np.quantile(latent, np.arange(1, LEVELS) / LEVELS)
    return beta, B, gamma, cuts


def make_partition(i, rows, d, seed):
    """Partition ``i`` (``rows`` rows) of the dataset: columns x00..x{d-1} float64 i.i.d.
    N(0, 1), and three targets from the same X: ``y`` binary (logit model, log-odds sd 1),
    ``y_multi`` K=5 classes (softmax with Gumbel noise), ``y_ord`` 5 ordered levels
    (cumulative logit). Each partition from its own seeded stream: any partition can be
    regenerated alone, and the data do not depend on how many are written at once."""
    beta, B, gamma, cuts = _truth(d, seed)
    rng = np.random.default_rng([seed, 1, i])
    X = rng.normal(size=(rows, d))
    frame = pd.DataFrame(X, columns=feature_names(d))
    frame["y"] = (X @ beta + rng.logistic(size=rows) > 0).astype(np.int8)
    frame["y_multi"] = np.argmax(X @ B + rng.gumbel(size=(rows, K_MULTI)), axis=1).astype(np.int8)
    frame["y_ord"] = np.digitize(X @ gamma + rng.logistic(size=rows), cuts).astype(np.int8)
    return frame


def feature_names(d):
    return [f"x{j:02d}" for j in range(d)]


def partition_sizes(rows, partition_rows):
    full, rest = divmod(rows, partition_rows)
    return [partition_rows] * full + ([rest] if rest else [])


def write_dataset(path, rows, d, partition_rows, seed, log=print):
    """Write the dataset (one file per partition) to the directory ``path`` unless a
    complete one with the same settings is there; returns its size in bytes."""
    path = Path(path)
    spec = {"rows": rows, "d": d, "partition_rows": partition_rows, "seed": seed}
    stamp = path / "_dataset.json"
    if stamp.exists() and json.loads(stamp.read_text()) == spec:
        log(f"reusing {path}")
    else:
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("part-*.parquet"):
            old.unlink()
        stamp.unlink(missing_ok=True)
        sizes = partition_sizes(rows, partition_rows)
        for i, n in enumerate(sizes):
            make_partition(i, n, d, seed).to_parquet(path / f"part-{i:05d}.parquet",
                                                     index=False)
            log(f"\rwriting {path}: {i + 1}/{len(sizes)} files", end="")
        log("")
        stamp.write_text(json.dumps(spec))
    return sum(f.stat().st_size for f in path.glob("part-*.parquet"))


# ---- peak worker memory -----------------------------------------------------------------

def _sample(state, interval):
    import psutil

    process = psutil.Process()
    while not state["stop"].wait(interval):
        state["peak"] = max(state["peak"], process.memory_info().rss)


def _start_sampler(interval, dask_worker):
    rss = __import__("psutil").Process().memory_info().rss
    state = {"stop": threading.Event(), "peak": rss, "start": rss}
    state["thread"] = threading.Thread(target=_sample, args=(state, interval), daemon=True)
    state["thread"].start()
    dask_worker._bench_memory = state


def _stop_sampler(dask_worker):
    state = dask_worker._bench_memory
    state["stop"].set()
    state["thread"].join()
    return state["start"], state["peak"]


class PeakMemory:
    """Each worker's resident set size sampled every ``interval`` seconds by a thread in the
    worker process while the block runs; ``peak`` is the largest over workers (bytes),
    ``start`` the largest when the block began."""

    def __init__(self, client, interval=0.02):
        self.client, self.interval = client, interval
        self.peak = self.start = None

    def __enter__(self):
        self.client.run(_start_sampler, self.interval)
        return self

    def __exit__(self, *exc):
        out = self.client.run(_stop_sampler).values()
        self.start = max(s for s, _ in out)
        self.peak = max(p for _, p in out)


# ---- reads of the data ------------------------------------------------------------------

def _name(key):
    return key[0] if isinstance(key, tuple) else str(key)


def _block(key):
    """A chunk's row block index (its key's first index), or the key itself."""
    return key[1] if isinstance(key, tuple) and len(key) > 1 else str(key)


class ChunkReads(SchedulerPlugin):
    """Counts, as they finish, the chunks of a persisted collection (its keys' names in
    ``watched``) that tasks take as inputs: a task counts once for each row block it
    takes, however many of the watched collections' chunks of that block (X's, y's); a
    task that reads a row sample of its chunk counts as a read."""

    name = "bench-chunk-reads"

    def __init__(self):
        self.watched, self.reads = set(), 0

    async def start(self, scheduler):
        self.scheduler = scheduler

    def transition(self, key, start, finish, *args, **kwargs):
        if finish != "memory" or start != "processing":
            return
        ts = self.scheduler.tasks.get(key)
        if ts is not None:
            self.reads += len({_block(d.key) for d in ts.dependencies
                               if _name(d.key) in self.watched})


# [columns read / columns in the file, summed over the Parquet files a worker read]
_FILE_READS = [0.0]


class FileReads(WorkerPlugin):
    """Counts, in each worker, the Parquet files Dask's (default, fsspec) reader reads:
    each call of ``dask.dataframe.io.parquet.arrow._read_table_from_path`` (one file, the
    columns asked for) adds the share of the file's columns it reads."""

    name = "bench-file-reads"

    def setup(self, worker):
        import dask.dataframe.io.parquet.arrow as arrow

        read = arrow._read_table_from_path
        if getattr(read, "_bench_counted", False):
            return

        def counted(path, fs, row_groups, columns, schema, filters, **kwargs):
            share = 1.0 if columns is None or schema is None else \
                min(1.0, len(columns) / len(schema.names))
            _FILE_READS[0] += share
            return read(path, fs, row_groups, columns, schema, filters, **kwargs)

        counted._bench_counted = True
        arrow._read_table_from_path = counted


def _reset_chunks(dask_scheduler, watched):
    plugin = dask_scheduler.plugins[ChunkReads.name]
    plugin.watched, plugin.reads = set(watched), 0


def _chunk_reads(dask_scheduler):
    return dask_scheduler.plugins[ChunkReads.name].reads


def _file_reads(reset=False):
    value = _FILE_READS[0]
    if reset:
        _FILE_READS[0] = 0.0
    return value


class Reads:
    """Reads of the data during the block, in passes: ``chunk_passes`` = row blocks of the
    persisted arrays in ``watched`` that tasks took (ChunkReads) / their number of
    blocks; ``file_passes`` = Parquet files read (weighted by the share of their columns
    read) / files in the dataset."""

    def __init__(self, client, watched, n_chunks, n_files):
        self.client, self.n_chunks, self.n_files = client, n_chunks, n_files
        self.watched = sorted({a.name for a in watched})
        self.chunk_passes = self.file_passes = None

    def __enter__(self):
        self.client.run_on_scheduler(_reset_chunks, watched=self.watched)
        self.client.run(_file_reads, reset=True)
        return self

    def __exit__(self, *exc):
        chunks = self.client.run_on_scheduler(_chunk_reads)
        files = sum(self.client.run(_file_reads).values())
        self.chunk_passes, self.file_passes = chunks / self.n_chunks, files / self.n_files


def install_read_counters(client):
    client.register_plugin(ChunkReads(), name=ChunkReads.name)
    client.register_plugin(FileReads(), name=FileReads.name)


# ---- the objective of a solution --------------------------------------------------------

def _chunk_loss(X, y, kind, params):
    """Sum over the rows of one chunk of the negative log-likelihood (float64)."""
    y = np.asarray(y, dtype=np.int64)
    if kind == "ordinal":
        return ordinal_objective(X, y, params["coef"], params["thresholds"]) * len(y)
    return softmax_objective(X, y, params["coef"], params["intercept"], 0.0) * len(y)


def mean_log_loss(X, y, kind, params):
    """The mean negative log-likelihood of the solution ``params`` on the dask arrays X
    (n, d), y (n,) in one pass: per chunk sums from benchmarks/common.py's formulas (the
    one used for every solver), added on the client in chunk order (math.fsum).

    ``params``: binary {"coef": (d,), "intercept": float}; multinomial {"coef": (K, d),
    "intercept": (K,)}; ordinal {"coef": (d,), "thresholds": (LEVELS - 1,)}."""
    import dask
    from dask import delayed

    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    y = y.rechunk({0: X.chunks[0]})
    parts = [delayed(_chunk_loss)(xb, yb, kind, params)
             for xb, yb in zip(X.to_delayed().ravel(), y.to_delayed().ravel(),
                                   strict=True)]
    return math.fsum(dask.compute(*parts)) / X.shape[0]


def benchmarks_on_pythonpath():
    """Put benchmarks/ on PYTHONPATH (for worker processes started after this call)."""
    here = str(Path(__file__).resolve().parent)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here, *paths])
