"""The objective over the partitions of dask arrays: every pass of
:class:`logitkit.objective.Objective` mapped over the partitions and summed.

On a worker, partition i's NumPy blocks make an in-memory ``Objective`` (every fast path
applies to it) whose pass returns sums; the partitions' sums are added in a fixed order
(a two-level tree: consecutive groups of partitions on the workers, the groups on the
client), so the result does not depend on which worker ran what, nor on a worker lost
and recomputed.
The client keeps only p-sized things: parameters, p x p matrices, the cluster score sums
(G x p) and row samples of bounded size (column scales, the aliasing screen). Each pass is
one graph computed on the active Dask scheduler (a ``distributed`` Client, else Dask's
local one). A row sample (``subset(slice(0, None, k))``) is every k-th row of the whole
data, the same rows as NumPy's ``X[::k]``, so a Dask fit follows the NumPy fit's path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import partial, reduce

import dask
import numpy as np
import scipy.linalg as la
from dask.delayed import Delayed

from logitkit import aliasing
from logitkit import objective as _objective
from logitkit.backends import get_namespace, weighted_counts
from logitkit.block_sums import ScoreSums, add_score_sums, finish_scores
from logitkit.curvature import add_penalty
from logitkit.dask import placement
from logitkit.dask.arrays import sampled
from logitkit.dask.null_start import null_terms
from logitkit.families import Family
from logitkit.families.base import Scratch
from logitkit.objective import Objective, RowReads
from logitkit.penalties import L2Penalty

# a pass brings at most this many records (p-sized sums) back to the client: partitions
# beyond it are added on the workers first, in consecutive groups. Records straight to
# the client took 35-40 ms a pass on a 2-worker LocalCluster with 8 partitions, one
# reduction task 42-48 ms, a pairwise tree 75 ms (2 shared cores, best of 3 x 5 passes)
CLIENT_RECORDS = 16


def _fold(add, *records):
    """The records added left to right by ``add``."""
    return reduce(add, records)


_THREAD = threading.local()


def _thread_scratch() -> Scratch:
    """The work arrays of this worker thread's partition passes, kept between its tasks
    (a pass over a partition then allocates no new temporaries, as an in-memory fit's
    passes reuse theirs)."""
    if not hasattr(_THREAD, "scratch"):
        _THREAD.scratch = Scratch()
    return _THREAD.scratch


@dataclass(frozen=True)
class _Model:
    """What a worker needs besides the rows to make a partition's objective."""

    family: Family
    n_classes: int
    fit_intercept: bool
    step: int  # every step-th row of the whole data
    block_bytes: int  # the in-memory objective's budget for a block's temporaries


def _local(model: _Model, offset: int, X, codes, w, total_weight=None) -> Objective:
    """The in-memory objective of one partition (first row ``offset`` in the whole data),
    over its rows among every ``model.step``-th row; means over ``total_weight``."""
    step = model.step
    start = (-offset) % step
    if step > 1:  # (X's rows copied: the sums then equal those of a persisted copy)
        X = None if X is None else np.ascontiguousarray(X[start::step])
        codes, w = codes[start::step], w[start::step]
    ob = Objective(model.family, X, codes, w, model.n_classes, model.fit_intercept)
    # blocks as the whole data's, not a sixteenth of the partition's (50k x 20: Hessian
    # blocks of 1,041 rows made a Hessian pass about 4x slower than NumPy's over them)
    ob.block_rows = max(256, model.block_bytes // max(1, 8 * ob.d))
    ob.wide_block_rows = max(256, ob.block_rows // (ob.m + 2))
    ob.row_offset = (offset + start) // step
    ob._scratch = _thread_scratch()
    if total_weight is not None:
        ob.total_weight = total_weight
    return ob


# -- partition passes (run on the workers) and how their records add --------------------
def _loss_record(model, theta, order, offset, X, codes, w, groups=None):
    ob = _local(model, offset, X, codes, w)
    loss, grad, hess = ob.loss_terms(theta, order)
    least = ob._least_losses[-1][1] if ob._least_losses else None
    return loss, grad, hess, least


def _add_loss(a, b):
    least = None if a[3] is None or b[3] is None else min(a[3], b[3])
    return (a[0] + b[0], None if a[1] is None else a[1] + b[1],
            None if a[2] is None else a[2] + b[2], least)


def _score_record(model, theta, bread, offset, X, codes, w, groups=None):
    return _local(model, offset, X, codes, w).score_sums(theta, groups, bread)


def _curvature_record(model, theta, total_weight, method, argument, offset, X, codes, w,
                      groups=None):
    """A Hessian-vector product (``method`` "times") or preconditioner blocks
    ("class_blocks" / "class_diagonals") of the partition's rows, unpenalised."""
    ob = _local(model, offset, X, codes, w, total_weight)
    return getattr(ob.curvature(theta)[2], method)(argument)


def _add_arrays(a, b):
    if isinstance(a, tuple):
        return tuple(x + y for x, y in zip(a, b, strict=True))
    return a + b


def _class_sums_record(model, offset, X, codes, w, groups=None):
    rows = slice((-offset) % model.step, None, model.step)
    return weighted_counts(codes[rows], w[rows], model.n_classes)


def _sample_record(model, step, offset, X, codes, w, groups=None):
    """The partition's rows among every ``step``-th row of the objective's rows."""
    ob = _local(model, offset, X, codes, w)
    start = (-ob.row_offset) % step  # (copies: a view would hold the whole partition)
    return np.array(ob.X[start::step]), np.array(ob.w[start::step])


def _concatenate(a, b):
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b, strict=True))


def _factor_record(model, constant, offset, X, codes, w, groups=None):
    ob = _local(model, offset, X, codes, w)
    return aliasing._triangular_factor(ob.X, ob.w, constant)


def _stack_factors(a, b):
    return la.qr(np.vstack([a, b]), mode="r", check_finite=False)[0][: a.shape[1]]


def _residual_record(model, slopes, shift, columns, offset, X, codes, w, groups=None):
    ob = _local(model, offset, X, codes, w)
    return aliasing.residual_sums(ob.X, ob.w, slopes, shift, columns)


def _maximum_record(model, function, offset, X, codes, w, groups=None):
    return _local(model, offset, X, codes, w).row_maximum(function)


def _positive_groups_record(model, offset, X, codes, w, groups):
    rows = slice((-offset) % model.step, None, model.step)
    return np.unique(np.asarray(groups)[rows][np.asarray(w)[rows] > 0])


@dataclass(frozen=True)
class _Pass:
    """What one pass computes: ``record(model, *arguments, offset, X, codes, w, groups)``
    on each of ``objective``'s partitions (X None when not ``reads_x``; ``model`` the
    objective's :class:`_Model` when the graph is made), the records added by ``add``."""

    objective: DaskObjective
    record: object
    add: object
    arguments: tuple
    reads_x: bool


def _records(parts, offset, X, codes, w, groups=None):
    """The records of several passes over one partition (``parts``: their (record,
    arguments) pairs), in one task."""
    return tuple(record(*arguments, offset, X, codes, w, groups) for record, arguments in parts)


def _adds(adds):
    """The function that adds tuples of records (of :func:`_records`) entry by entry."""
    return partial(_add_each, tuple(adds))


def _add_each(adds, a, b):
    return tuple(add(x, y) for add, x, y in zip(adds, a, b, strict=True))


def _records_each(parts, partitions):
    """The records of :func:`_records` of several partitions (``partitions``: their
    (offset, X, codes, w, groups)), one task: a list in their order."""
    return [_records(parts, *partition) for partition in partitions]


def _compute(*passes: _Pass) -> list:
    """The sums of several passes in one graph (one round trip to the scheduler). Passes
    over the same partitions share one task per partition (a partition read once, and
    fewer tasks: on a 2-worker LocalCluster an 8-task graph took 38 ms, a 16-task one 56
    ms), or of persisted data one task per worker that holds partitions of X, submitted
    with the blocks' futures (:mod:`logitkit.dask.placement`). The records are added in
    partition order: on the workers in consecutive groups of partitions (at most
    ``CLIENT_RECORDS`` groups, fixed by the number of partitions), then on the client."""
    full = {id(p.objective.data) for p in passes if not p.objective._lazy}
    for p in passes:  # a lazy row sample read alone: first copied into memory
        if p.objective._lazy and id(p.objective.data) not in full:
            p.objective._materialize()
    groups: dict = {}
    for p in passes:
        ob = p.objective
        groups.setdefault((id(ob.data), tuple(q.index for q in ob._partitions)), []).append(p)
    tasks, adds, batched = [], [], []
    for group in groups.values():
        parts = [(p.record, (p.objective._model, *p.arguments)) for p in group]
        reads_x = any(p.reads_x for p in group)
        partitions = group[0].objective._partitions
        inputs = [(q.offset, q.X if reads_x else None, q.codes, q.w, q.clusters)
                  for q in partitions]
        add = _adds(p.add for p in group)
        data = group[0].objective.data
        batches = placement.worker_batches(data, partitions, CLIENT_RECORDS)
        mine = None if batches is None else placement.submit_batches(
            data, _records_each, parts, inputs, batches)
        if mine is None and batches is not None:
            mine = [dask.delayed(_records_each, pure=False)(parts, [inputs[i] for i in batch])
                    for batch in batches]
        elif mine is None:
            mine = [dask.delayed(_records, pure=False)(parts, *partition)
                    for partition in inputs]
            size = -(-len(mine) // CLIENT_RECORDS)
            if size > 1:
                mine = [dask.delayed(_fold, pure=False)(add, *mine[i:i + size])
                        for i in range(0, len(mine), size)]
        tasks.append(mine)
        adds.append(add)
        batched.append(batches)
    records = iter(_gathered([task for mine in tasks for task in mine]))
    sums = {}
    for group, mine, add, batches in zip(groups.values(), tasks, adds, batched, strict=True):
        results = [next(records) for _ in mine]
        if batches is not None:  # (back in partition order)
            ordered = {i: r for batch, rs in zip(batches, results, strict=True)
                       for i, r in zip(batch, rs, strict=True)}
            results = [ordered[i] for i in range(len(ordered))]
        total = _fold(add, *results)
        sums.update({id(p): value for p, value in zip(group, total, strict=True)})
    return [sums[id(p)] for p in passes]


def _gathered(tasks: list) -> list:
    """The results of ``tasks`` (Delayed objects and futures of submitted tasks), the
    delayed ones computed in one graph, in their order."""
    delayed = [t for t in tasks if isinstance(t, Delayed)]
    computed = iter(dask.compute(*delayed))
    submitted = [t for t in tasks if not isinstance(t, Delayed)]
    gathered = iter(placement.gathered(submitted))
    return [next(computed) if isinstance(t, Delayed) else next(gathered) for t in tasks]


class DaskObjective(Objective):
    """:class:`~logitkit.objective.Objective` over :class:`~logitkit.dask.arrays.DaskData`
    (its rows, or every ``step``-th of them): the same values, derivatives and score
    products, each pass one graph over the partitions.

    ``X``, ``y``, ``w`` are the dask arrays; nothing else of n rows is kept.
    """

    def __init__(self, family: Family, data, n_classes: int, fit_intercept: bool,
                 alpha: float = 0.0, reads: RowReads | None = None, step: int = 1):
        self.family, self.data, self.step = family, data, step
        self.X, self.y, self.w = data.X, data.codes, data.w
        self.xp = get_namespace(np.zeros(0))
        self.n, self.d = -(-data.n // step), int(data.X.shape[1])
        self.reads = RowReads(self.n) if reads is None else reads
        self.n_classes, self.fit_intercept, self.alpha = n_classes, fit_intercept, alpha
        self.m, self.q = family.n_eta(n_classes), family.n_aux(n_classes)
        self.d1 = self.d + int(fit_intercept)
        self.n_params = self.m * self.d1 + self.q
        self.penalty = L2Penalty(alpha, family.slope_gram(n_classes), self.d)
        # (Objective's rule for the whole data: 8 MB, at most a sixteenth of X)
        self._model = _Model(family, n_classes, fit_intercept, step,
                             min(_objective._BLOCK_BYTES, data.X.nbytes // 16))
        self._partitions = [p for p in data.partitions()
                            if -(-(p.rows - (-p.offset) % step) // step) > 0]
        self._class_sums = data.class_totals if step == 1 else data.step_totals.get(
            step, data.moments.get(step, (None,))[0])
        self._least_losses: list = []
        self._subsets: dict = {}  # step -> the row sample made by subset
        # a row sample of streamed data not yet copied into the workers' memory: its
        # passes next to a pass over the whole data share that pass's reads
        self._lazy = False

    def with_family(self, family) -> DaskObjective:
        """This objective under another family (the workers' partitions too)."""
        other = super().with_family(family)
        other._model = replace(self._model, family=family)
        other._subsets = {}
        return other

    # -- the passes -----------------------------------------------------------------------
    def _pass_of(self, record, add, *arguments, rows_read: int | None = None) -> _Pass:
        """A pass of ``record`` over this objective's partitions (see :class:`_Pass` and
        :func:`_compute`). ``rows_read`` rows of X count as read (default: all of this
        objective's); with 0, X is not read (the record gets None)."""
        self.reads.rows += self.n if rows_read is None else rows_read
        return _Pass(self, record, add, arguments, rows_read != 0)

    def _pass(self, record, add, *arguments, rows_read: int | None = None):
        """One pass (:meth:`_pass_of`) computed: its sum."""
        return _compute(self._pass_of(record, add, *arguments, rows_read=rows_read))[0]

    @property
    def total_weight(self) -> float:
        return float(self.class_weight_sums().sum())

    def class_weight_sums(self) -> np.ndarray:
        if self._class_sums is None:
            self._class_sums = _compute(self._class_sums_pass())[0]
        return self._class_sums

    def _class_sums_pass(self) -> _Pass:
        """The pass of :meth:`class_weight_sums`: labels and weights only, no rows of X."""
        return self._pass_of(_class_sums_record, np.add, rows_read=0)

    def subset(self, rows) -> DaskObjective:
        """Every k-th row for ``rows`` = slice(0, None, k) (the only row samples the
        solvers take), the same object for the same k. Of persisted data, a view that
        reads the data's partitions. Of streamed data, a view too while its passes come
        with a pass over the whole data at the same point (:meth:`evaluate_with`: one
        read serves both); before its first pass alone (the ordinal warm start's fit, a
        sample's own sample) its rows are copied into the workers' memory
        (:func:`sampled`, one read of the source) when they fit there. A sample that the
        scan brought back to fit it here (``data.local``) is an in-memory
        :class:`~logitkit.objective.Objective`."""
        if not (isinstance(rows, slice) and rows.start in (None, 0) and rows.stop is None
                and (rows.step or 1) >= 1):
            raise ValueError(f"a Dask objective's row sample is slice(0, None, k), got {rows}")
        step = rows.step or 1
        if self.step * step in self.data.local and self.step * step in self.data.samples:
            if step not in self._subsets:  # (brought back by the scan: fitted here)
                self._subsets[step] = self._in_memory(self.step * step)
            return self._subsets[step]
        if step > 1 and self._lazy:  # a sample's sample: the sample in memory
            self._materialize()
        if step not in self._subsets:
            sample = DaskObjective(self.family, self.data, self.n_classes,
                                   self.fit_intercept, self.alpha, self.reads,
                                   self.step * step)
            sample._lazy = step > 1 and not self.data.persisted
            self._subsets[step] = sample
        return self._subsets[step]

    def _in_memory(self, step: int) -> Objective:
        """The in-memory objective of the data's every ``step``-th row that the scan
        brought back (the ordinal warm start's innermost sample: its fit makes no graph),
        in the whole data's blocks (as a NumPy fit's row sample); its reads count here."""
        X, codes, w = self.data.samples[step]
        local = Objective(self.family, X, codes, w, self.n_classes, self.fit_intercept,
                          self.alpha, self.reads)
        local.block_rows = max(256, self._model.block_bytes // max(1, 8 * self.d))
        local.wide_block_rows = max(256, local.block_rows // (self.m + 2))
        return local

    def _materialize(self) -> None:
        """A lazy row sample's rows copied into the workers' memory (:func:`sampled`; it
        stays a view when they do not fit there)."""
        self._lazy = False
        kept = self.step in self.data.copies  # (by the scan: no read)
        sample = sampled(self.data, self.step)
        if sample is None:
            return
        self.reads.rows += 0 if kept else self.data.n  # (the read that makes it)
        self.data, self.step = sample, 1
        self.X, self.y, self.w = sample.X, sample.codes, sample.w
        self._model = replace(self._model, step=1)
        self._partitions = [p for p in sample.partitions() if p.rows]
        self._subsets = {}

    def loss_terms(self, theta, order: int, host_hessian: bool = True):
        """As the in-memory objective's; the Hessian is always the client's NumPy array. At
        the null model, from the scan's per-class sums when it found them (no pass)."""
        theta = np.array(theta, dtype=float)
        known = null_terms(self, theta, order)
        if known is not None:
            return self._loss_terms(theta, known)
        return self._loss_terms(theta, _compute(self._loss_pass(theta, order))[0])

    def _loss_pass(self, theta, order: int) -> _Pass:
        return self._pass_of(_loss_record, _add_loss, theta, order)

    def _loss_terms(self, theta, sums):
        """:meth:`loss_terms` from the sums of its pass (:meth:`_loss_pass`) at theta."""
        loss, grad, hess, least = sums
        if least is not None:
            self._least_losses = [*self._least_losses[-2:], (theta, least)]
        return float(loss), grad, hess

    def evaluate_with(self, theta, other, host_hessian: bool = True):
        """As the in-memory objective's, in one graph: with ``other`` this objective, its
        order-2 pass; else this objective's order-1 pass, ``other``'s order-2 pass (and
        its class weight sums when not yet known) side by side."""
        theta = np.array(theta, dtype=float)
        if other is self:
            value, grad, hess = self.evaluate(theta, 2)
            return value, grad, lambda: (value, grad, hess)
        # (either from the scan's per-class sums at the null model: see null_terms)
        mine, sample = null_terms(self, theta, 1), null_terms(other, theta, 2)
        passes = (([self._loss_pass(theta, 1)] if mine is None else [])
                  + ([other._loss_pass(theta, 2)] if sample is None else []))
        if passes and other._class_sums is None:
            passes.append(other._class_sums_pass())
        if passes:
            computed = iter(_compute(*passes))
            mine = next(computed) if mine is None else mine
            sample = next(computed) if sample is None else sample
            if other._class_sums is None:
                other._class_sums = next(computed)
        value, grad, _ = self.penalised(theta, 1, *self._loss_terms(theta, mine))
        result = other.penalised(theta, 2, *other._loss_terms(theta.copy(), sample))
        return value, grad, lambda: result

    def score_sums(self, theta, groups=None, bread=None) -> ScoreSums:
        """``groups``: the data's cluster codes (dask array) or None."""
        if groups is not None and groups is not self.data.clusters:
            raise ValueError("a Dask objective's clusters are its data's (DaskData.clusters)")
        record = _score_record if groups is not None else _without_groups
        return self._pass(record, add_score_sums, np.asarray(theta, float), bread)

    def score_products(self, theta, groups=None, bread=None):
        return finish_scores([self.score_sums(theta, groups, bread)])

    def curvature(self, theta):
        """(value, grad, operator) as the in-memory objective's; each product of the
        operator is one pass that recomputes the partitions' curvature."""
        value, grad, _ = self.evaluate(theta, 1)
        return value, grad, PassCurvature(self, np.asarray(theta, float))

    # -- whole-data summaries -------------------------------------------------------------
    def sample_rows(self, step: int):
        """(X[::step], w[::step]) as NumPy arrays: from the data's samples when the scan
        brought them back, else one pass."""
        k = self.step * step
        if k in self.data.samples:
            X, _, w = self.data.samples[k]
            return X, w
        return self._pass(_sample_record, _concatenate, step,
                          rows_read=-(-self.n // step))

    def aliased_columns(self, constant: bool) -> np.ndarray:
        return aliasing.find_aliased(None, None, constant, rows=_PartitionRows(self))

    def group_codes(self, clusters):
        """(the data's cluster codes, the clusters with positive weight): one pass over
        the clusters and weights."""
        positive = self._pass(_positive_groups_record, np.union1d, rows_read=0)
        return clusters, len(positive)

    def row_maximum(self, function) -> float:
        return float(self._pass(_maximum_record, max, function))


def _without_groups(model, theta, bread, offset, X, codes, w, groups=None):
    return _score_record(model, theta, bread, offset, X, codes, w, None)


class _PartitionRows:
    """:class:`logitkit.aliasing.Rows` over a Dask objective's partitions."""

    def __init__(self, objective: DaskObjective):
        self.objective = objective
        self.shape = (objective.n, objective.d)

    def sample(self, step: int):
        return self.objective.sample_rows(step)

    def triangular_factor(self, constant: bool) -> np.ndarray:
        ob = self.objective
        return ob._pass(_factor_record, _stack_factors, constant)

    def residual_sums(self, slopes, shift, columns):
        ob = self.objective
        return ob._pass(_residual_record, _add_arrays, slopes, shift, columns)


class PassCurvature:
    """The mean Hessian at one point as an operator whose every use is a pass (the
    interface of :class:`logitkit.curvature.RowCurvature` that the solvers use)."""

    def __init__(self, objective: DaskObjective, theta):
        self.objective, self.theta = objective, theta

    def _run(self, method, argument, rows_read):
        ob = self.objective
        return ob._pass(_curvature_record, _add_arrays, self.theta,
                        ob.total_weight, method, argument, rows_read=rows_read)

    def times(self, v) -> np.ndarray:
        """(p,) H v: one pass."""
        ob = self.objective
        result = self._run("times", np.asarray(v, float), ob.n)
        V, _ = ob.unpack(v)
        result[: ob.m * ob.d1] += ob.penalty.gradient(V).ravel()
        return result

    def class_blocks(self, step: int):
        ob = self.objective
        blocks, cross, aux = self._run("class_blocks", step, -(-ob.n // step))
        add_penalty(ob.penalty, blocks, np.arange(ob.d))
        return blocks, cross, aux

    def class_diagonals(self, step: int = 1):
        ob = self.objective
        diagonals, aux = self._run("class_diagonals", step, -(-ob.n // step))
        diagonals = diagonals[:, :, None].copy()
        add_penalty(ob.penalty, diagonals, np.arange(ob.d), diagonal=True)
        return diagonals[:, :, 0], aux
