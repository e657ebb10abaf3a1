"""Dask arrays in: X (n, d), labels y (n,), sample_weight (n,), clusters (n,) checked,
aligned and encoded for :class:`~logitkit.dask.objective.DaskObjective`.

One pass over the partitions (:func:`prepare`'s scan) validates every partition (NaN or
infinity in X, missing or continuous labels, bad weights), finds the class labels, their
counts and weight sums (also those of the row samples the fit will take), and the
cluster labels, and brings back the few row samples that the fit takes from every k-th
row (column scales, the aliasing screen). Errors name the
partition, the row (in the whole data and in the partition) and the column. Labels and
clusters become int64 codes and the weights float64 (times class weights) partition by
partition, lazily; with ``persist`` the prepared partitions are kept in the workers'
memory, else every pass reads them from their source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import dask
import dask.array as da
import numpy as np
import pandas as pd
from sklearn.utils.class_weight import compute_class_weight

from logitkit.dask.null_start import merge_moments, partition_moments, weighted_onehot
from logitkit.dask.placement import active_client
from logitkit.messages import plain

# "auto" persists the prepared partitions when they take at most this share of the
# workers' free memory: their limits less what their processes hold already (an idle
# worker with logitkit and pyarrow loaded holds about 290 MiB; distributed spills to disk
# from 60% of a worker's limit and pauses it at 80%; the rest is for the passes'
# temporaries)
PERSIST_SHARE = 0.5


@dataclass
class Partition:
    """One non-empty row partition: its index among all partitions, its first row in the
    whole data, its rows, and the dask keys of its blocks (as Delayed objects)."""

    index: int
    offset: int
    rows: int
    X: object
    codes: object
    w: object
    clusters: object = None


@dataclass
class DaskData:
    """Prepared dask arrays, one row chunk per partition (X's).

    X (n, d) float32/float64 in one column chunk; codes (n,) int64 into ``classes``;
    w (n,) float64 frequency weights times class weights; clusters (n,) int64 codes into
    ``cluster_labels`` or None. class_totals (K,): total weight of each class (None when
    not known: the objective adds them up in a pass over labels and weights).
    samples: {k: (X[::k], codes[::k], w[::k])} NumPy row samples already brought back;
    step_totals: {k: (K,)} the class totals of every k-th row.
    moments: {k: (W (K,), S (K, d), G (K, d, d) or None)} per-class weights, weighted
    column sums and Gram matrices of every k-th row (:mod:`logitkit.dask.null_start`).
    """

    X: da.Array
    codes: da.Array
    w: da.Array
    clusters: da.Array | None
    classes: np.ndarray
    class_totals: np.ndarray | None
    cluster_labels: np.ndarray | None
    persisted: bool
    samples: dict = field(default_factory=dict)
    step_totals: dict = field(default_factory=dict)
    moments: dict = field(default_factory=dict)
    # {partition index: the address of the worker holding its block of X}, found by the
    # first pass over persisted data ({} without a distributed client)
    placement: dict | None = None
    # {key: Future} of the persisted blocks, found by the first pass submitted with them
    futures: dict | None = None
    # the k of the samples in ``samples`` that the fit takes in memory (see prepare)
    local: frozenset = frozenset()
    # {k: DaskData} the copies of every k-th row that the scan kept on the workers
    copies: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def partitions(self) -> list[Partition]:
        """The non-empty partitions, in row order."""
        lengths = self.X.chunks[0]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
        blocks = [_blocks(a, len(lengths)) for a in (self.X, self.codes, self.w,
                                                      self.clusters)]
        return [Partition(i, int(offsets[i]), int(rows), *(b[i] for b in blocks))
                for i, rows in enumerate(lengths) if rows]


def prepare(X, y, sample_weight=None, clusters=None, *, class_weight=None, classes=None,
            persist="auto", sample_steps=(), total_steps=(), null_steps=((), ()),
            local_steps=(), copy_steps=()) -> DaskData:
    """Check, align and encode the fit's dask arrays (see the module docstring).

    y, sample_weight, clusters: dask arrays (any row chunks: aligned to X's) or
    NumPy/pandas arrays of n rows. classes: the class order when known (a categorical
    target's categories; only those that occur are kept), else sorted labels.
    class_weight: as the estimators take it. persist: "auto", True or False.
    sample_steps: the k of the every-k-th-row samples to bring back (k > 1);
    total_steps: the k of those whose class totals to find (k > 1).
    null_steps: (sum steps, Gram steps), the k of the every-k-th-row samples (k >= 1)
    whose per-class column sums (and Gram matrices) to find (float64 X only; see
    :mod:`logitkit.dask.null_start`). local_steps: the k of the samples that come back
    for the fit to take in memory (also sample steps). copy_steps: the k of the samples
    of streamed data that the fit will pass over alone (the ordinal warm start's), kept
    on the workers by the scan when they fit there (:func:`sampled` then reads nothing).
    """
    X = _design_array(X)
    chunks = X.chunks[0]
    y = _column(y, "y", chunks)
    w = None if sample_weight is None else _column(sample_weight, "sample_weight", chunks)
    groups = None if clusters is None else _column(clusters, "clusters", chunks)
    if persist not in ("auto", True, False):
        raise ValueError(f'persist must be "auto", True or False, got {plain(persist)!r}')
    n = X.shape[0]
    nbytes = X.nbytes + 8 * n * (2 + (clusters is not None))
    persisted = persist is True or (persist == "auto" and _fits_in_memory(nbytes))
    if persisted:  # the raw columns once from their source; the passes read memory
        X, y, w, groups = dask.persist(X, y, w, groups)
    steps = sorted({int(k) for k in (*sample_steps, *local_steps) if k > 1})
    totals_of = sorted({int(k) for k in total_steps if k > 1})
    sum_steps, gram_steps = ([int(k) for k in ks] if X.dtype == np.float64 else []
                             for ks in null_steps)
    copies = [k for k in sorted({int(k) for k in copy_steps if k > 1}) if not persisted
              and _fits_in_memory(-(-n // k) * _row_bytes(X, groups))]
    scans, kept = _run_scan(X, y, w, groups, steps, totals_of, sum_steps, gram_steps, copies)
    classes, counts, raw_totals = _classes(scans, classes)
    per_class = _class_weights(class_weight, classes, counts)
    labels = None
    if groups is not None:
        labels = _merged_unique([s["clusters"] for s in scans], "clusters")
    raw = (y, w, groups)
    codes, weights, groups = _encoded(*raw, classes, per_class, labels)
    if persisted:
        codes, weights, groups = dask.persist(codes, weights, groups)
    totals = raw_totals if per_class is None else raw_totals * per_class
    data = DaskData(X, codes, weights, groups, classes, totals, labels, persisted,
                    local=frozenset(int(k) for k in local_steps if k > 1))
    for k in totals_of:
        sums = _label_sums(scans, classes, lambda s, k=k: s["step_weights"][k])
        data.step_totals[k] = sums if per_class is None else sums * per_class
    if all(s["moments"] is not None for s in scans):
        data.moments = merge_moments([s["moments"] for s in scans],
                                     [_codes(s["labels"], classes) for s in scans],
                                     len(classes), per_class)
    for k in steps:
        parts = [s["samples"][k] for s in scans]
        Xs = np.concatenate([p[0] for p in parts]) if parts else X[:0].compute()
        ys = _codes(np.concatenate([p[1] for p in parts]), classes)
        ws = np.concatenate([p[2] for p in parts])
        if per_class is not None:
            ws = ws * per_class[ys]
        data.samples[k] = (Xs, ys, ws)
    for k in copies:
        data.copies[k] = _scan_copy(data, kept, k, *raw, per_class)
    return data


def _encoded(y, w, groups, classes, per_class, labels):
    """(class codes, weights times class weights, cluster codes or None) dask arrays of
    the labels ``y``, weights ``w`` (None: unit) and clusters ``groups`` (or None)."""
    codes = (y if y.dtype == np.int64 and classes.dtype.kind in "iu"
             and np.array_equal(classes, np.arange(len(classes)))  # (labels are codes)
             else y.map_blocks(_codes, classes, dtype=np.int64))
    # unit weights from the labels' blocks, not da.ones: its blocks are root tasks, which
    # the scheduler queues apart from the partitions' reads, and a streamed pass's
    # partitions then waited in the workers' memory for their weights
    weights = w if w is not None else y.map_blocks(_unit_weights, dtype=np.float64)
    if per_class is not None:
        weights = da.map_blocks(_times_class_weight, weights, codes, per_class,
                                dtype=np.float64)
    if groups is not None:
        groups = groups.map_blocks(_codes, labels, dtype=np.int64)
    return codes, weights, groups


def _row_bytes(X, groups) -> int:
    """Bytes of a prepared row: X's, its class code and weight, its cluster code."""
    return X.shape[1] * X.dtype.itemsize + 8 * (2 + (groups is not None))


def _scan_copy(data: DaskData, kept, step: int, y, w, groups, per_class) -> DaskData:
    """Every ``step``-th row of ``data`` as :func:`sampled` makes it, from the raw rows
    that the scan's tasks ``kept`` (persisted) hold: no read of the source."""
    columns = (data.X, y, w, groups)
    parts: list[list] = [[] for _ in columns]
    for task, p in zip(kept, data.partitions(), strict=True):
        start = (-p.offset) % step
        rows = -(-(p.rows - start) // step)
        for j, (out, array) in enumerate(zip(parts, columns, strict=True)):
            if rows > 0 and array is not None:
                out.append(da.from_delayed(dask.delayed(_kept_rows, pure=True)(task, step, j),
                                           (rows, *array.shape[1:]), dtype=array.dtype))
    X, ys, ws, gs = (da.concatenate(out) if out else None for out in parts)
    arrays = dask.persist(X, *_encoded(ys, ws, gs, data.classes, per_class,
                                       data.cluster_labels))
    return _sample_data(data, step, *arrays)


def _kept_rows(summary: dict, step: int, j: int):
    """Column ``j`` (X, y, w, clusters) of a scan summary's copy of every step-th row."""
    return summary["copies"][step][j]


def sampled(data: DaskData, step: int) -> DaskData | None:
    """Every ``step``-th row of streamed ``data`` (the rows of NumPy's ``X[::step]``),
    persisted on the workers: one read of the source, after which the passes over the
    sample (Newton's Hessians from a row sample, the ordinal warm start's fit) read the
    workers' memory instead of the whole source each. None when ``data`` is persisted
    already or the sample would take more than PERSIST_SHARE of the workers' free memory."""
    if step in data.copies:  # (kept by the scan)
        return data.copies[step]
    n = -(-data.n // step)
    if data.persisted or not _fits_in_memory(n * _row_bytes(data.X, data.clusters)):
        return None
    columns = [a for a in (data.X, data.codes, data.w, data.clusters) if a is not None]
    parts: list[list] = [[] for _ in columns]
    for p in data.partitions():
        start = (-p.offset) % step
        rows = -(-(p.rows - start) // step)
        blocks = [b for b in (p.X, p.codes, p.w, p.clusters) if b is not None]
        for out, block, array in zip(parts, blocks, columns, strict=True):
            if rows > 0:
                out.append(da.from_delayed(dask.delayed(_every, pure=True)(block, start, step),
                                           (rows, *array.shape[1:]), dtype=array.dtype))
    arrays = dask.persist(*(da.concatenate(out) for out in parts))
    return _sample_data(data, step, *arrays[:3],
                        arrays[3] if data.clusters is not None else None)


def _sample_data(data: DaskData, step: int, X, codes, w, groups) -> DaskData:
    """The DaskData of ``data``'s every ``step``-th row (persisted arrays), with what
    ``data`` knows of its samples."""
    samples, totals = ({k // step: v for k, v in kept.items() if k % step == 0 and k > step}
                       for kept in (data.samples, data.step_totals))
    moments = {k // step: v for k, v in data.moments.items() if k % step == 0}
    local = frozenset(k // step for k in data.local if k % step == 0 and k > step)
    return DaskData(X, codes, w, groups, data.classes, data.step_totals.get(step),
                    data.cluster_labels, True, samples, totals, moments, local=local)


def _unit_weights(labels) -> np.ndarray:
    """(rows,) float64 ones: the weights of an unweighted partition."""
    return np.ones(len(labels))


def _every(block, start: int, step: int) -> np.ndarray:
    """A copy of every ``step``-th row of ``block`` from ``start`` (a view would keep
    the whole block in the worker's memory)."""
    return np.array(block[start::step])


# -- shapes and chunks ------------------------------------------------------------------
def _unknown_chunks(name: str) -> ValueError:
    return ValueError(
        f"{name} has unknown chunk sizes (NaN): logitkit needs the rows of every partition. "
        f"Call {name}.compute_chunk_sizes() first, or make it with "
        "DataFrame.to_dask_array(lengths=True)")


def _blocks(array, count: int) -> list:
    """The row blocks of a dask array as Delayed objects ([None] * count for None),
    unoptimised: blocks of arrays made from one source (X and y from one table) then
    share its tasks, and a pass reads that source once."""
    if array is None:
        return [None] * count
    return list(array.to_delayed(optimize_graph=False).ravel())


def _design_array(X) -> da.Array:
    """X as a 2-D float32/float64 dask array with known row chunks and one column chunk."""
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimension(s)")
    if any(math.isnan(c) for c in X.chunks[0]):
        raise _unknown_chunks("X")
    if X.shape[0] == 0:
        raise ValueError("X has 0 samples; at least one is required")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"X must hold numbers, got dtype {X.dtype}; encode other columns "
                         "first (a dask DataFrame's are encoded by logitkit.dask.frames)")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def _column(values, name: str, chunks) -> da.Array:
    """(n,) dask array of ``values`` in the row chunks ``chunks``."""
    n = int(sum(chunks))
    if not isinstance(values, da.Array):
        values = np.asarray(values)
        if values.ndim == 0 and name == "sample_weight":  # one weight for every row
            return da.full(n, float(values), chunks=(chunks,))
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1 or len(values) != n:
            raise ValueError(f"{name} has shape {values.shape}, X has {n} rows: they must "
                             "have the same rows")
        return da.from_array(values, chunks=(chunks,))
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got a dask array of shape {values.shape}")
    if any(math.isnan(c) for c in values.chunks[0]):
        raise _unknown_chunks(name)
    if values.shape[0] != n:
        raise ValueError(f"{name} has {values.shape[0]} rows, X has {n}: they must have "
                         "the same rows")
    return values if values.chunks[0] == tuple(chunks) else values.rechunk({0: chunks})


def _fits_in_memory(nbytes: int) -> bool:
    """Whether ``nbytes`` are at most PERSIST_SHARE of the active scheduler's free memory:
    the distributed workers' limits (0: unlimited) less their processes' memory now, else
    the machine's available memory."""
    client = active_client()
    if client is None:
        import psutil

        return nbytes <= PERSIST_SHARE * psutil.virtual_memory().available
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    limits = [w.get("memory_limit") or 0 for w in workers]
    if not limits or any(limit == 0 for limit in limits):
        return bool(limits)
    free = sum(max(0, w["memory_limit"] - w.get("metrics", {}).get("memory", 0))
               for w in workers)
    return nbytes <= PERSIST_SHARE * free


# -- the scan ---------------------------------------------------------------------------
def _run_scan(X, y, w, groups, steps, total_steps, sum_steps=(), gram_steps=(),
              copy_steps=()):
    """One pass: (:func:`_scan_partition` of every non-empty partition, in row order;
    with ``copy_steps``, the tasks persisted, their copies kept on the workers, else
    None)."""
    lengths = X.chunks[0]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    blocks = [_blocks(a, len(lengths)) for a in (X, y, w, groups)]
    tasks = [dask.delayed(_scan_partition, pure=False)(i, int(offsets[i]), steps,
                                                       total_steps, *(b[i] for b in blocks),
                                                       sum_steps, gram_steps, copy_steps)
             for i, rows in enumerate(lengths) if rows]
    if not copy_steps:
        return list(dask.compute(*tasks)), None
    kept = dask.persist(*tasks)
    return list(dask.compute(*(dask.delayed(_without_copies)(t) for t in kept))), kept


def _without_copies(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "copies"}


def _where(i: int, offset: int, row: int, rows: int) -> str:
    return (f"partition {i} (rows {offset} to {offset + rows - 1}), first at row "
            f"{offset + row} (row {row} of the partition)")


def _scan_partition(i, offset, steps, total_steps, X, y, w, groups, sum_steps=(),
                    gram_steps=(), copy_steps=()) -> dict:
    """Validate partition ``i`` (first row ``offset``) and summarise it: labels (sorted
    unique), their counts and raw weight sums (also over its rows of every k-th row of
    the whole data, for each k in ``total_steps``), the cluster labels, its rows of
    every k-th row for each k in ``steps``, and the per-label moments of
    :func:`~logitkit.dask.null_start.partition_moments` (None when X's sums overflow);
    "copies": copies of its raw rows (X, y, w, clusters) of every k-th row for each k in
    ``copy_steps``."""
    rows = X.shape[0]
    y = np.asarray(y)
    missing = pd.isna(y) if y.dtype.kind in "fcO" else np.zeros(rows, bool)
    if missing.any():
        raise ValueError("y contains missing values (NaN or None) in "
                         f"{_where(i, offset, int(np.argmax(missing)), rows)}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ValueError(f"y holds {plain(y[np.argmax(bad)])}, not a class label, in "
                             f"{_where(i, offset, int(np.argmax(bad)), rows)}: a classifier "
                             "needs discrete labels")
    weights = np.ones(rows) if w is None else np.asarray(w, dtype=np.float64)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        raise ValueError(f"sample_weight has {plain(weights[np.argmax(bad)])} in "
                         f"{_where(i, offset, int(np.argmax(bad)), rows)}; weights must be "
                         "finite and >= 0")
    labels, codes = _unique(y, "y", i)
    # X's check for NaN and infinity: sums that propagate them, the per-label weighted
    # column sums of the null start when they are needed (a column of ones with them
    # when a weight is 0: a product may skip zeros)
    sums1 = None
    if 1 in sum_steps:
        ones = not (weights > 0).all()
        check = weighted_onehot(codes, weights, len(labels), ones).T @ X
        sums1 = check[: len(labels)]
    else:
        check = X @ np.ones(X.shape[1], dtype=X.dtype)
    overflow = X.size and not np.isfinite(check).all()
    if overflow and not np.isfinite(X).all():
        row, column = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"X contains NaN or infinity in {_where(i, offset, row, rows)}, "
                         f"column {int(column)}")
    summary = {
        "labels": labels,
        "counts": np.bincount(codes, minlength=len(labels)),
        "weights": np.bincount(codes, weights=weights, minlength=len(labels)),
        "clusters": None,
        "samples": {},
        "step_weights": {k: np.bincount(codes[(-offset) % k::k],
                                        weights=weights[(-offset) % k::k],
                                        minlength=len(labels)) for k in total_steps},
        "moments": None if overflow else partition_moments(
            X, codes, len(labels), weights, offset, sum_steps, gram_steps, sums1),
    }
    if groups is not None:
        groups = np.asarray(groups)
        if groups.dtype.kind in "fcO" and pd.isna(groups).any():
            first = int(np.argmax(pd.isna(groups)))
            raise ValueError("clusters contains missing values (NaN or None) in "
                             f"{_where(i, offset, first, rows)}")
        summary["clusters"] = _unique(groups, "clusters", i)[0]
    for k in steps:  # copies: a view would keep the partition in the worker's memory
        local = slice((-offset) % k, None, k)     # until the whole scan is gathered
        summary["samples"][k] = tuple(np.array(a[local]) for a in (X, y, weights))
    if copy_steps:
        summary["copies"] = {k: tuple(None if a is None else np.array(a[(-offset) % k::k])
                                      for a in (X, y, w, groups)) for k in copy_steps}
    return summary


def _unique(values, name: str, i: int):
    """(sorted distinct values, (n,) their codes), as ``np.unique(values,
    return_inverse=True)``; integer labels of a small range are counted rather than
    sorted (125,000 int64 labels: 0.6 ms against 5.3 ms)."""
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values) + 1024:
            shifted = values - values.dtype.type(low)
            present = np.flatnonzero(np.bincount(shifted))
            codes = np.zeros(high - low + 1, dtype=np.intp)
            codes[present] = np.arange(len(present))
            return (present + low).astype(values.dtype), codes[shifted]
    try:
        return np.unique(values, return_inverse=True)
    except TypeError:
        raise ValueError(f"{name} mixes label types in partition {i} (e.g. strings and "
                         "numbers); use one type") from None


def _merged_unique(parts, name: str) -> np.ndarray:
    try:
        return np.unique(np.concatenate(parts))
    except TypeError:
        raise ValueError(f"{name} mixes label types across partitions (e.g. strings and "
                         "numbers); use one type") from None


def _classes(scans, order):
    """(classes (K,), counts (K,), raw weight sums (K,)) over the partitions' summaries."""
    labels = _merged_unique([s["labels"] for s in scans], "y")
    if order is not None:
        order = np.asarray(order, dtype=object)
        unknown = pd.Index(labels).difference(pd.Index(order))
        if len(unknown):
            raise ValueError(f"y has labels {plain(list(unknown[:10]))} that are not among "
                             f"its categories {plain(order)}")
        labels = order[pd.Index(order).isin(labels)]
    counts = _label_sums(scans, labels, lambda s: s["counts"]).astype(np.int64)
    totals = _label_sums(scans, labels, lambda s: s["weights"])
    if len(labels) < 2:
        raise ValueError(f"y has only one class ({plain(labels[0])!r}); this classifier "
                         "needs samples of at least 2 classes in the data")
    return labels, counts, totals


def _label_sums(scans, labels, part) -> np.ndarray:
    """(K,) the sums over the partitions' summaries of ``part(summary)`` (one entry per
    label of the summary) by label of ``labels``."""
    sums = np.zeros(len(labels))
    for s in scans:
        sums[_codes(s["labels"], labels)] += part(s)
    return sums


def _class_weights(class_weight, classes, counts):
    """(K,) class weights (scikit-learn's rule, as the in-memory fit), or None."""
    if class_weight is None:
        return None
    return compute_class_weight(class_weight, classes=classes, y=np.repeat(classes, counts))


def _codes(values, labels) -> np.ndarray:
    """(b,) int64 positions of ``values`` in ``labels``."""
    if isinstance(labels, np.ndarray) and labels.dtype != object and np.all(
            labels[:-1] < labels[1:]):
        return np.searchsorted(labels, values).astype(np.int64)
    return pd.Index(labels).get_indexer(np.asarray(values)).astype(np.int64)


def _times_class_weight(w, codes, per_class):
    return np.asarray(w, dtype=np.float64) * per_class[codes]
