"""Out of core: a Parquet dataset three times the workers' total memory limit fits,
streamed from its files, with no worker restarted, every worker's resident memory under
its limit throughout, and the coefficients of the in-memory fit of the same rows.

It writes about 1.8 GB of Parquet (float32 columns: 3.2 GiB as the fit holds them, in
float64) to a temporary directory and fits it twice: streamed on a 2-worker LocalCluster,
then in memory in this process for the reference. It runs after the other tests
(conftest): 3.4 minutes on 2 cores here, 7 to 8 when another job loads them
(docs/dask.md, "Memory of a streamed fit").
"""

import os
import threading
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
psutil = pytest.importorskip("psutil")

import logitkit as lk  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    # Dask's fsspec Parquet reader calls reset_index(inplace=True) (deprecated in pandas
    # 3.1) on the workers; the warning is Dask's
    "ignore:The inplace keyword in DataFrame.reset_index:pandas.errors.Pandas4Warning")

WORKERS, LIMIT = 2, 550 * 2**20  # per worker
# A streamed fit holds no data worth spilling and its unmanaged memory (the imports:
# about 295 MiB for an idle worker here) never drops, so a paused worker would wait for
# ever: pausing and spilling are off. The nanny still restarts a worker past 95% of its
# limit (distributed's default), which the test must not see.
MEMORY = {"distributed.worker.memory.pause": False, "distributed.worker.memory.spill": False,
          "distributed.worker.memory.target": False}
D, ROWS = 10, 150_000  # a file: 150k x (10 float32 + 1 int8) = 6.2 MB, 12 MB as float64
FILES = -(-3 * WORKERS * LIMIT // (ROWS * D * 8))
COEF = np.linspace(-1, 1, D)
FEATURES = [f"x{j}" for j in range(D)]


def _write(root) -> None:
    """FILES Parquet files of ROWS rows: D standard normal float32 features, a binary y."""
    for i in range(FILES):
        rng = np.random.default_rng(i)
        XT = rng.standard_normal((D, ROWS), dtype=np.float32)  # (a column per row)
        y = (COEF @ XT - 0.5 + rng.logistic(size=ROWS) > 0).astype(np.int8)
        table = pa.table({**{n: XT[j] for j, n in enumerate(FEATURES)}, "y": y})
        # (plain encoding: dictionary-encoding the floats took 17x the time of writing)
        pq.write_table(table, root / f"part-{i:04d}.parquet", compression="none",
                       use_dictionary=False, write_statistics=False)


def _read(root):
    """(X (n, D) float64, y (n,)) of every file in order, one file in memory at a time."""
    X, y = np.empty((FILES * ROWS, D)), np.empty(FILES * ROWS, dtype=np.int8)
    for i in range(FILES):
        table = pq.read_table(root / f"part-{i:04d}.parquet")
        rows = slice(i * ROWS, (i + 1) * ROWS)
        for j, name in enumerate(FEATURES):
            X[rows, j] = table[name].to_numpy()
        y[rows] = table["y"].to_numpy()
    return X, y


class _PeakMemory:
    """The largest resident memory of each process in ``pids``, sampled every 5 ms by a
    thread of this process (independent of the workers' event loops)."""

    def __init__(self, pids):
        self.processes = {pid: psutil.Process(pid) for pid in pids}
        self.peaks = dict.fromkeys(pids, 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid, process in self.processes.items():
                self.peaks[pid] = max(self.peaks[pid], process.memory_info().rss)
            self.samples += 1
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_a_dataset_three_times_the_workers_memory_fits_streamed(tmp_path):
    start = time.perf_counter()
    _write(tmp_path)
    written = time.perf_counter() - start
    assert FILES * ROWS * D * 8 >= 3 * WORKERS * LIMIT  # the float64 design the fit holds
    env = {"ARROW_DEFAULT_MEMORY_POOL": "system"}  # (as `logitkit fit --dask local`)
    with dask.config.set(MEMORY), \
            distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                     memory_limit=LIMIT, env=env,
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        workers = client.run(os.getpid)
        df = dd.read_parquet(tmp_path)
        assert df.npartitions == FILES
        with _PeakMemory(workers.values()) as memory:
            start = time.perf_counter()
            model = lk.LogisticRegression().fit(df[FEATURES], df["y"], persist=False)
            seconds = time.perf_counter() - start
        # the same worker processes at the same addresses: none was restarted
        assert client.run(os.getpid) == workers
        assert set(client.scheduler_info(n_workers=-1)["workers"]) == set(workers)
    assert memory.samples > 100
    peaks = {pid: round(peak / 2**20) for pid, peak in memory.peaks.items()}
    assert all(peak < LIMIT for peak in memory.peaks.values()), (peaks, LIMIT // 2**20)
    start = time.perf_counter()
    X, y = _read(tmp_path)
    expected = lk.LogisticRegression().fit(X, y)
    print(f"\n{FILES} files written in {written:.0f} s; streamed fit {seconds:.0f} s, "
          f"{model.n_passes_:.2f} passes, peak worker memory {sorted(peaks.values())} MiB "
          f"of {LIMIT // 2**20}; in-memory fit {time.perf_counter() - start:.0f} s")
    assert model.result_.n_obs == len(y)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.intercept_, expected.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.summary().table["std_err"],
                               expected.summary().table["std_err"], rtol=1e-8)
    assert model.result_.log_likelihood == pytest.approx(expected.result_.log_likelihood,
                                                         rel=1e-12)
