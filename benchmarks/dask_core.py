"""The cost of fitting through Dask against the in-memory NumPy fit of the same rows
(docs/dask.md): a LocalCluster of 2 worker processes x 1 thread against NumPy with one
BLAS thread in this process, interleaved (NumPy, persisted, streamed, ...), best of
--repeats. Persisted: X already in the workers' memory; streamed: read from a Parquet
dataset every pass. Reports seconds, iterations, passes and the largest coefficient
difference to the NumPy fit.

    python benchmarks/dask_core.py [--rows 400000] [--cols 20] [--partitions 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.distributed import Client, LocalCluster
from threadpoolctl import threadpool_limits

import logitkit as lk


def _data(kind: str, n: int, d: int):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 3, d)
    eta = X @ rng.normal(size=d) / d ** 0.5
    noise = rng.logistic(size=n)
    if kind == "binary":
        return X, (eta + noise > 0).astype(np.int64)
    cuts = [-1.5, -0.5, 0.5, 1.5]
    return X, np.digitize(eta + noise, cuts).astype(np.int64)


def _models(kind: str):
    if kind == "ordinal":
        return lambda: lk.OrdinalLogisticRegression()
    return lambda: lk.LogisticRegression()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, d, parts = args.rows, args.cols, args.partitions
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client, \
            tempfile.TemporaryDirectory() as folder:
        print(f"{n} x {d} float64, {parts} partitions; 2 workers x 1 thread vs NumPy, "
              "1 BLAS thread")
        for kind in ("binary", "multinomial", "ordinal"):
            X, y = _data(kind, n, d)
            columns = [f"x{j}" for j in range(d)]
            frame = pd.DataFrame(X, columns=columns).assign(y=y)
            path = Path(folder) / kind
            path.mkdir()
            for i, rows in enumerate(np.array_split(np.arange(n), parts)):
                frame.iloc[rows].to_parquet(path / f"part.{i:03d}.parquet")
            # one array of all columns: columns selected separately may be partitioned
            # differently by Dask's optimizer
            table = dd.read_parquet(path).astype(np.float64).to_dask_array(lengths=True)
            Xs, ys = table[:, :d], table[:, d].astype(np.int64)
            # the persisted copy under its own keys (the scheduler warns when one key
            # comes with a fused task and, from the streamed fit, an unfused one)
            Xp = client.persist(Xs.map_blocks(np.ascontiguousarray))
            yp = client.persist(ys.map_blocks(np.array))
            make = _models(kind)
            best = {"numpy": np.inf, "persisted": np.inf, "streamed": np.inf}
            fits = {}
            for _ in range(args.repeats):
                for name in best:
                    start = time.perf_counter()
                    if name == "numpy":
                        with threadpool_limits(1):
                            fits[name] = make().fit(X, y)
                    elif name == "persisted":
                        fits[name] = make().fit(Xp, yp, persist=True)
                    else:
                        fits[name] = make().fit(Xs, ys, persist=False)
                    best[name] = min(best[name], time.perf_counter() - start)
            base = fits["numpy"]
            for name, seconds in best.items():
                fit = fits[name]
                diff = np.max(np.abs(fit.coef_ - base.coef_))
                print(f"{kind:12s} {name:10s} {seconds:7.2f} s  x{seconds / best['numpy']:5.2f}"
                      f"  iterations {fit.n_iter_:2d}  passes {fit.n_passes_:5.2f}"
                      f"  max |coef - numpy| {diff:.1e}")


if __name__ == "__main__":
    main()
