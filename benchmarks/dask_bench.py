"""logitkit on Dask against dask-ml's LogisticRegression, from a Parquet dataset.

    python benchmarks/dask_bench.py                   # 10M x 50 float64, about 4 GB on disk
    python benchmarks/dask_bench.py --rows 2000000    # 2M x 50
    python benchmarks/dask_bench.py --rows 200000 --repeat 1 --admm-rounds 1   # a smoke run

Writes a seeded Parquet dataset (benchmarks/dask_tools.py: i.i.d. N(0, 1) columns, a binary,
a K=5 multinomial and a 5-level ordinal target from the same X; reused when it is already
there), starts a LocalCluster of ``--workers`` worker processes with one thread each, and
fits, on the same unpenalised objective (the mean log-loss; dask-ml ``C=1e12``: dask-glm
penalises the standardised coefficients and its intercept, so no penalised mapping is
exact), without standard errors on either side (logitkit ``inference=False``; its fit with
standard errors is a row of its own):

- streamed: X read from the Parquet files in every pass (logitkit ``persist=False`` on
  the DataFrame; dask-ml on ``to_dask_array(lengths=True)`` of it, made inside its timing),
  and one pass that only reads the columns (a sum over them), the unit of the ratios;
- persisted: X, y persisted in the workers' memory (dask arrays) before the timings;
- the in-memory NumPy fit of the same rows in this process, at 1 BLAS thread and at as
  many threads as workers (the same cores).

logitkit fits the binary target, then the multinomial (K=5) and ordinal ones, which dask-ml
cannot fit. dask-ml's solvers: ``lbfgs`` and ``newton`` at settings that reach the optimum
(``max_iter`` raised so that they stop on their own tolerance); ``admm`` at each cap on
its rounds in ``--admm-rounds`` (default 1 and 3), as it does not stop on its own (see
docs/dask.md): the table shows the objective each cap reaches.

Columns: ``time s`` the best of ``--repeat`` runs, interleaved (every run once, then
again); ``passes`` logitkit's ``n_passes_`` (rows read / n; dask-ml reports no iteration
counts); ``counted`` the reads of the data counted alike for every run: persisted, the
chunks of the persisted X that tasks took as inputs (each task's row blocks, counted
once however many of its arrays' chunks of a block it took) / the number of chunks (a
task reading a row sample of its chunk counts as a read), streamed, the Parquet files the
workers read, each weighted by the share of its columns read / the number of files
(dask_tools.FileReads); for dask-ml this includes its standardisation pass (mean and std
of X) and the row counts of ``to_dask_array(lengths=True)``; ADMM's local L-BFGS reads its
chunk up to 250 times per round inside one task, counted as one read; ``start MiB`` /
``peak MiB`` the largest resident set size of a worker process when the run began / during
it, sampled every 20 ms by a thread in the worker (NumPy rows: this process, which holds
the data); ``objective`` the mean log-loss of each solution, computed in one Dask pass over
the persisted data by the same code for every solver (dask_tools.mean_log_loss); ``gap``
its relative distance to the lowest objective of its kind; ``coef diff`` the largest
absolute difference of its coefficients (slopes, intercepts or cut points) from that
lowest objective's.

dask-ml: ``pip install -r benchmarks/requirements.txt`` (dask-ml 2025.1.0, dask-glm
0.4.0). They work with dask/distributed 2026.8.0 as installed for logitkit (checked on a
2-worker LocalCluster, 20,000 x 5 persisted: lbfgs and newton equal scikit-learn's
unpenalised fit to 1e-8, ADMM (max_iter=50) to 1e-3), so no separate pins are
needed; installing them changes no installed version (pip --dry-run: it adds dask-glm,
multipledispatch and sparse).

Run on an otherwise idle machine: the timings are wall times.
"""

from __future__ import annotations

import argparse
import math
import platform
import tempfile
import threading
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from common import timed  # benchmarks/ is on sys.path when run as a script
from dask_tools import (
    PeakMemory,
    Reads,
    _sample,
    benchmarks_on_pythonpath,
    feature_names,
    install_read_counters,
    mean_log_loss,
    write_dataset,
)

KINDS = {"binary": "y", "multinomial": "y_multi", "ordinal": "y_ord"}
AT_OPTIMUM = 1e-6  # relative objective gap counted as reaching the optimum
SKIPPABLE = ("streamed", "persisted", "numpy", "dask-ml", "logitkit", "inference",
             "multinomial", "ordinal")


@dataclass
class Run:
    mode: str  # "streamed", "persisted" or "numpy"
    label: str
    kind: str  # "binary", "multinomial", "ordinal", or "read"
    fit: object  # () -> fitted model
    params: object = None  # model -> the solution (dask_tools.mean_log_loss's params)
    own_passes: object = None  # model -> passes the solver reports
    times: list = field(default_factory=list)
    peak: int = 0
    start: int = 0  # memory when the run began (worker or process RSS)
    counted: float = math.nan
    passes: float = math.nan
    solution: dict | None = None
    objective: float = math.nan
    coef_diff: float = math.nan  # max |difference| from the best objective's solution
    model: object = None
    threads: int = 0  # BLAS threads of an in-process fit


# ---- the solvers ------------------------------------------------------------------------

def logitkit_fit(estimator, X, y, persist=None):
    """``estimator.fit(X, y)``, with ``persist`` (when not None) as an estimator parameter
    where the estimator has one, else as a fit keyword."""
    if persist is None:
        return estimator.fit(X, y)
    if "persist" in estimator.get_params():
        return estimator.set_params(persist=persist).fit(X, y)
    return estimator.fit(X, y, persist=persist)


def logitkit_params(model):
    if hasattr(model, "thresholds_"):
        return {"coef": np.asarray(model.coef_), "thresholds": np.asarray(model.thresholds_)}
    return {"coef": np.asarray(model.coef_), "intercept": np.asarray(model.intercept_)}


def daskml_params(model):
    return {"coef": np.asarray(model.coef_, dtype=float), "intercept": float(model.intercept_)}


def logitkit_runs(mode, X, ys, skip, persist=None):
    import logitkit as lk

    def run(label, kind, estimator):
        return Run(mode, label, kind,
                   lambda: logitkit_fit(estimator(), X, ys[kind], persist),
                   logitkit_params, lambda m: m.n_passes_)

    out = [run("logitkit", "binary", lambda: lk.LogisticRegression(inference=False))]
    if "inference" not in skip and mode == "persisted":
        out.append(run("logitkit + standard errors", "binary", lk.LogisticRegression))
    if "multinomial" not in skip:
        out.append(run("logitkit multinomial K=5", "multinomial",
                       lambda: lk.LogisticRegression(inference=False)))
    if "ordinal" not in skip:
        out.append(run("logitkit ordinal logit", "ordinal",
                       lambda: lk.OrdinalLogisticRegression(inference=False)))
    return out


def daskml_runs(mode, inputs, admm_rounds):
    """dask-ml's solvers; ``inputs()`` gives (X, y) dask arrays (timed with the fit)."""
    from dask_ml.linear_model import LogisticRegression as DaskLR

    settings = {"dask-ml lbfgs": ("lbfgs", 1000),  # stops on its own tolerance (pgtol 1e-4)
                "dask-ml newton": ("newton", 100)}  # stops at coefficient change < 1e-8
    for rounds in admm_rounds:
        settings[f"dask-ml admm, {rounds} round{'s' if rounds > 1 else ''}"] = ("admm", rounds)

    def fit(solver, max_iter):
        X, y = inputs()
        return DaskLR(solver=solver, C=1e12, max_iter=max_iter).fit(X, y)

    return [Run(mode, label, "binary", lambda s=setting: fit(*s), daskml_params)
            for label, setting in settings.items()]


# ---- measuring --------------------------------------------------------------------------

def measure(run, client, reads):
    """One timed fit of ``run`` with the workers' memory sampled and the reads counted."""
    with PeakMemory(client) as memory, reads:
        seconds, model = timed(run.fit)
    run.times.append(seconds)
    run.peak = max(run.peak, memory.peak)
    run.start = max(run.start, memory.start)
    run.counted = reads.file_passes if run.mode == "streamed" else reads.chunk_passes
    run.model = model
    if run.own_passes is not None:
        run.passes = float(run.own_passes(model))
    if run.params is not None:
        run.solution = run.params(model)


def measure_local(run, threads):
    """One timed in-process fit at ``threads`` BLAS threads, this process's RSS sampled."""
    import psutil
    from threadpoolctl import threadpool_limits

    rss = psutil.Process().memory_info().rss
    state = {"stop": threading.Event(), "peak": rss}
    sampler = threading.Thread(target=_sample, args=(state, 0.02), daemon=True)
    sampler.start()
    try:
        with threadpool_limits(threads):
            seconds, model = timed(run.fit)
    finally:
        state["stop"].set()
        sampler.join()
    run.times.append(seconds)
    run.peak = max(run.peak, state["peak"])
    run.start = max(run.start, rss)
    run.passes = float(model.n_passes_)
    run.solution = run.params(model)
    run.model = model


def interleaved(runs, repeat, one):
    for _ in range(repeat):
        for run in runs:
            one(run)


def whole_frame_arrays(ddf, features):
    """X (n, d) and each target (n,) as float64 dask arrays sliced from the whole frame's
    ``to_dask_array(lengths=True)``: with dask 2026.8 that of a column selection
    (``ddf[features]``) fails, as Dask's optimizer merges files into fewer partitions than
    the lengths it computed (dask/dask#12411)."""
    data = ddf.to_dask_array(lengths=True)
    columns = list(ddf.columns)
    X = data[:, [columns.index(c) for c in features]]
    return X, {kind: data[:, columns.index(col)] for kind, col in KINDS.items()}


# ---- the sections -----------------------------------------------------------------------

def streamed_runs(args, client, ddf, features, n_files, skip):
    def read_once():
        return ddf.sum().compute()

    runs = [Run("streamed", "read the columns once (a sum)", "read", read_once)]
    if "logitkit" not in skip:
        ys = {kind: ddf[col] for kind, col in KINDS.items()}
        runs += logitkit_runs("streamed", ddf[features], ys, skip, persist=False)
    if "dask-ml" not in skip:
        def inputs():
            X, ys = whole_frame_arrays(ddf, features)
            return X, ys["binary"]
        runs += daskml_runs("streamed", inputs, args.admm_rounds)
    reads = Reads(client, [], 1, n_files)
    interleaved(runs, args.repeat, lambda run: measure(run, client, reads))
    return runs


def persisted_runs(args, client, X, ys, skip):
    runs = []
    if "logitkit" not in skip:
        runs += logitkit_runs("persisted", X, ys, skip)
    if "dask-ml" not in skip:
        runs += daskml_runs("persisted", lambda: (X, ys["binary"]), args.admm_rounds)
    reads = Reads(client, [X], X.numblocks[0], 1)
    interleaved(runs, args.repeat, lambda run: measure(run, client, reads))
    return runs


def numpy_runs(args, path, features, skip):
    import pandas as pd

    import logitkit as lk

    frame = pd.read_parquet(path, columns=[*features, *KINDS.values()])
    X = frame[features].to_numpy(dtype=np.float64)
    ys = {kind: frame[col].to_numpy() for kind, col in KINDS.items()}
    del frame
    estimators = {"binary": lambda: lk.LogisticRegression(inference=False),
                  "multinomial": lambda: lk.LogisticRegression(inference=False),
                  "ordinal": lambda: lk.OrdinalLogisticRegression(inference=False)}
    runs = []
    for threads in sorted({1, args.workers}):
        for kind, estimator in estimators.items():
            if kind in skip:
                continue
            label = f"logitkit NumPy{' ' + kind if kind != 'binary' else ''}, " \
                    f"{threads} thread{'s' if threads > 1 else ''}"
            runs.append(Run("numpy", label, kind, lambda e=estimator, k=kind: e().fit(X, ys[k]),
                            logitkit_params, threads=threads))
    interleaved(runs, args.repeat, lambda run: measure_local(run, run.threads))
    return runs


# ---- the report -------------------------------------------------------------------------

def objectives(runs, X, ys):
    for run in runs:
        if run.solution is not None:
            run.objective = mean_log_loss(X, ys[run.kind], run.kind, run.solution)
    best, best_run = {}, {}
    for run in runs:
        if not math.isnan(run.objective) and run.objective < best.get(run.kind, math.inf):
            best[run.kind], best_run[run.kind] = run.objective, run
    for run in runs:
        if run.kind in best_run:
            run.coef_diff = float(np.max(np.abs(_flat(run.solution)
                                                - _flat(best_run[run.kind].solution))))
    return best


def _flat(solution):
    """A solution's parameters as one vector: slopes, then intercepts or cut points."""
    return np.concatenate([np.ravel(v) for v in solution.values()]).astype(float)


def _fmt(value, spec):
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def table(runs, best):
    print(f"\n{'mode':<10} {'run':<34} {'time s':>8} {'passes':>7} {'counted':>8} "
          f"{'start MiB':>9} {'peak MiB':>9} {'objective':>16} {'gap':>8} {'coef diff':>9}")
    for run in runs:
        gap = (run.objective - best[run.kind]) / best[run.kind] if run.kind in best else None
        print(f"{run.mode:<10} {run.label:<34} {min(run.times):8.2f} "
              f"{_fmt(run.passes, '7.1f')} {_fmt(run.counted, '8.1f')} "
              f"{run.start / 2**20:9.0f} {run.peak / 2**20:9.0f} "
              f"{_fmt(run.objective, '16.12f')} {_fmt(gap, '8.1e')} "
              f"{_fmt(run.coef_diff, '9.1e')}")


def ratios(runs, best):
    def time(run):
        return min(run.times)

    def find(mode, label, kind="binary"):
        return next((r for r in runs if r.mode == mode and r.label == label
                     and r.kind == kind), None)

    def gap(run):
        return (run.objective - best[run.kind]) / best[run.kind]

    print("\nratios (best times):")
    for mode in ("persisted", "streamed"):
        ours = find(mode, "logitkit")
        peers = [r for r in runs if r.mode == mode and r.label.startswith("dask-ml")]
        if ours is None or not peers:
            continue
        at_optimum = [r for r in peers if gap(r) <= AT_OPTIMUM]
        shown = set()
        for title, pool in (("reaching the optimum (gap <= 1e-6)", at_optimum),
                            ("at any objective", peers)):
            if not pool:
                print(f"  {mode}: no dask-ml run {title}")
                continue
            peer = min(pool, key=time)
            if peer.label in shown:
                continue
            shown.add(peer.label)
            lower = "at least as low" if ours.objective <= peer.objective * (1 + 1e-12) \
                else "HIGHER"
            print(f"  {mode}: dask-ml's fastest {title}, {peer.label} {time(peer):.2f} s "
                  f"(gap {gap(peer):.1e}) / logitkit {time(ours):.2f} s = "
                  f"{time(peer) / time(ours):.2f}x (logitkit's objective {lower})")
    for kind in ("binary", "multinomial", "ordinal"):
        dask_run = next((r for r in runs if r.mode == "persisted" and r.kind == kind
                         and r.label.startswith("logitkit") and "standard" not in r.label),
                        None)
        for np_run in (r for r in runs if r.mode == "numpy" and r.kind == kind):
            if dask_run is not None:
                print(f"  persisted Dask / in-memory NumPy, {kind}, NumPy at "
                      f"{np_run.threads} thread(s): {time(dask_run):.2f} / "
                      f"{time(np_run):.2f} s = {time(dask_run) / time(np_run):.2f}x")
    read = find("streamed", "read the columns once (a sum)", "read")
    for run in (r for r in runs if r.mode == "streamed" and r.kind != "read"):
        print(f"  streamed / one read, {run.label}: {time(run):.2f} / {time(read):.2f} s = "
              f"{time(run) / time(read):.1f} reads")


def agreement(runs):
    """Largest coefficient difference between each logitkit Dask fit and the NumPy fit of
    the same kind (the issue's equality, checked on the benchmark's data)."""
    print("\nlogitkit Dask fits against the NumPy fit of the same rows (max |coef diff|):")
    for run in runs:
        if run.mode == "numpy" or not run.label.startswith("logitkit"):
            continue
        ref = next((r for r in runs if r.mode == "numpy" and r.kind == run.kind), None)
        if ref is not None:
            diffs = [np.max(np.abs(np.asarray(run.solution[k]) - np.asarray(ref.solution[k])))
                     for k in run.solution]
            print(f"  {run.mode} {run.label}: {max(diffs):.1e}")


def versions():
    out = []
    for name in ("logitkit", "dask", "distributed", "dask-ml", "dask-glm", "numpy",
                 "scipy", "pyarrow"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--partition-rows", type=int, default=None,
                        help="rows per Parquet file (default: 250,000, fewer so that "
                             "there are at least 8 files)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None,
                        help="dataset directory (default: under the temporary directory)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--memory-limit", default="auto", help="per worker (LocalCluster's)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each fit")
    parser.add_argument("--admm-rounds", type=int, nargs="+", default=[1, 3],
                        help="dask-ml ADMM's caps on its rounds (a run for each)")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE,
                        help="leave a part out (repeatable)")
    args = parser.parse_args()
    skip = set(args.skip)

    partition_rows = args.partition_rows or max(1, min(250_000, math.ceil(args.rows / 8)))
    path = args.data or Path(tempfile.gettempdir()) / (
        f"logitkit-dask-bench-{args.rows}x{args.features}-seed{args.seed}")
    features = feature_names(args.features)
    size = write_dataset(path, args.rows, args.features, partition_rows, args.seed)
    n_files = len(list(path.glob("part-*.parquet")))
    print(f"{args.rows} x {args.features} float64 ({args.rows * args.features * 8 / 2**30:.2f}"
          f" GiB in memory), {n_files} Parquet files, {size / 2**30:.2f} GiB on disk, {path}")

    benchmarks_on_pythonpath()  # before the workers start: they import dask_tools
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=args.memory_limit)
    client = Client(cluster)
    install_read_counters(client)
    limit = next(iter(client.scheduler_info()["workers"].values()))["memory_limit"]
    print(f"LocalCluster: {args.workers} worker processes x 1 thread, memory limit "
          f"{limit / 2**30:.1f} GiB each; {platform.processor() or platform.machine()}")
    print(versions())

    runs = []
    try:
        ddf = dd.read_parquet(str(path))
        if "streamed" not in skip:
            runs += streamed_runs(args, client, ddf, features, n_files, skip)
        X, ys = whole_frame_arrays(ddf, features)
        X, *persisted = client.persist([X, *ys.values()])
        ys = dict(zip(ys, persisted, strict=True))
        wait([X, *persisted])
        if "persisted" not in skip:
            runs += persisted_runs(args, client, X, ys, skip)
        if "numpy" not in skip and "logitkit" not in skip:
            runs += numpy_runs(args, str(path), features, skip)
        best = objectives(runs, X, ys)
    finally:
        client.close()
        cluster.close()
    table(runs, best)
    ratios(runs, best)
    agreement(runs)


if __name__ == "__main__":
    main()
