"""logitkit fit --dask: the same model as the in-memory command, from partitioned files."""

import io
import re
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import logitkit as lk  # noqa: E402
from logitkit import readers  # noqa: E402
from logitkit.cli import main  # noqa: E402
from logitkit.dask import command  # noqa: E402
from logitkit.inference import COV_TYPES  # noqa: E402

# Dask's default (fsspec) Parquet reader calls reset_index(inplace=True), deprecated in
# pandas 3.1; the warning is Dask's, not ours
pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index:pandas.errors.Pandas4Warning")


def _trips(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "dist": rng.exponential(3, n).round(2),
        "fare": rng.normal(20, 5, n).round(2),
        "pay": rng.choice(["card", "cash", "app"], n),
        "zone": pd.Categorical(rng.choice(["N", "S", "E"], n), categories=["N", "S", "E"]),
        "driver": rng.choice([f"d{k:02d}" for k in range(15)], n),
        "w": rng.integers(1, 3, n).astype(float),
    })
    eta = 0.3 * frame["dist"] - 0.05 * frame["fare"] + (frame["pay"] == "card")
    frame["tipped"] = (eta + rng.logistic(size=n) > 0).astype(int)
    frame["rating"] = np.digitize(eta + rng.logistic(size=n), [0.0, 1.5]) + 1
    return frame


@pytest.fixture(scope="module")
def trips(tmp_path_factory):
    """trips/part-*.parquet (four files, one of a single row) and the same rows in one
    file, all.parquet."""
    root = tmp_path_factory.mktemp("cli")
    (root / "trips").mkdir()
    parts = [_trips(n, seed) for seed, n in enumerate([300, 250, 1, 320])]
    for i, part in enumerate(parts):
        part.to_parquet(root / "trips" / f"part-{i}.parquet", index=False)
    pd.concat(parts, ignore_index=True).to_parquet(root / "all.parquet", index=False)
    return root


def _run(args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="logitkit")


def test_fit_on_a_local_cluster_equals_the_in_memory_fit(trips):
    common = ["--target", "tipped", "--weights", "w", "--clusters", "driver",
              "--features", "dist,fare,pay,zone"]
    on_dask = _run(["fit", trips / "trips" / "*.parquet", *common, "--dask", "local:2",
                    "-o", trips / "dask.lkm"])
    assert on_dask.exit_code == 0, on_dask.output
    assert "passes over the data" in on_dask.stderr and "total weight" in on_dask.stderr
    in_memory = _run(["fit", trips / "all.parquet", *common, "-o", trips / "memory.lkm"])
    assert in_memory.exit_code == 0, in_memory.output
    dask_model, memory_model = lk.load(trips / "dask.lkm"), lk.load(trips / "memory.lkm")
    assert dask_model.coef_names_ == memory_model.coef_names_
    np.testing.assert_allclose(dask_model.coef_, memory_model.coef_, rtol=0, atol=1e-8)
    assert dask_model.result_.log_likelihood == pytest.approx(
        memory_model.result_.log_likelihood, rel=1e-12)
    for cov_type in COV_TYPES:
        se = [m.summary(cov_type=cov_type).table["std_err"].to_numpy()
              for m in (dask_model, memory_model)]
        np.testing.assert_allclose(se[0], se[1], rtol=0, atol=1e-8, err_msg=cov_type)
    notes = dask_model.summary().notes
    assert any("['pay', 'zone'] were found by a pass" in note for note in notes)
    # the saved Dask model predicts on the in-memory command's data as the other one
    for model in ("dask", "memory"):
        predicted = _run(["predict", trips / f"{model}.lkm", trips / "all.parquet", "--proba",
                          "-o", trips / f"{model}.csv"])
        assert predicted.exit_code == 0, predicted.output
    np.testing.assert_allclose(pd.read_csv(trips / "dask.csv")["proba_1"],
                               pd.read_csv(trips / "memory.csv")["proba_1"], atol=1e-12)


def test_columns_are_typed_as_the_in_memory_command_types_them(trips):
    """--categorical, --order (in every partition) and the weights of a Dask read equal
    readers.training_data's columns of the same rows (Dask's synchronous scheduler)."""
    order = ["3", "1", "2"]  # an order that is not the sorted one
    frame = pd.read_parquet(trips / "all.parquet")
    expected = readers.training_data(frame, "rating", ["dist", "zone", "driver"], ["dist"],
                                     order, "w")
    with dask.config.set(scheduler="sync"):
        lazy = command.read_frame(str(trips / "trips"), None)
        X, y, w, c = command.training_frames(lazy, "rating", ["dist", "zone", "driver"],
                                             ["dist"], order, "w", ordinal=True)
        pd.testing.assert_frame_equal(X.compute().reset_index(drop=True), expected.X,
                                      check_dtype=False, check_categorical=False)
        assert X.dtypes["dist"] == np.dtype(object) and c is None
        computed = y.compute().reset_index(drop=True)
        assert list(computed.cat.categories) == [3, 1, 2] and computed.cat.ordered
        pd.testing.assert_series_equal(computed, expected.y)
        np.testing.assert_array_equal(w.compute(), expected.sample_weight)
        frame.loc[100, "rating"] = 7  # outside the order: named with its partition
        frame.to_csv(trips / "bad.csv", index=False)
        bad = command.read_frame(str(trips / "bad.csv"), None)
        _, y, _, _ = command.training_frames(bad, "rating", ["dist"], order=order,
                                             ordinal=True)
        with pytest.raises(ValueError, match=r"partition 0: the target 'rating' has values "
                                             r"outside the order .*\['7'\] \(first in row 100"):
            y.compute()


def test_a_csv_glob_reads_like_pandas(trips):
    for i in range(2):
        _trips(40, seed=10 + i).to_csv(trips / f"small-{i}.csv", index=False)
    with dask.config.set(scheduler="sync"):
        lazy = command.read_frame(str(trips / "small-*.csv"), None)
        pd.testing.assert_frame_equal(
            lazy.compute().reset_index(drop=True),
            pd.concat([pd.read_csv(trips / f"small-{i}.csv") for i in range(2)],
                      ignore_index=True), check_dtype=False)


def _graphs(client) -> int:
    """The graphs the scheduler has received from ``client`` (its update-graph events)."""
    return sum(1 for _, event in client.get_events(client.id)
               if event.get("action") == "update-graph")


def test_the_bar_counts_the_graphs_of_the_fit(trips, dask_client):
    frame = dd.read_parquet(trips / "trips")
    before, out = _graphs(dask_client), io.StringIO()
    with command.pass_bar(dask_client, True, file=out) as bar:
        model = lk.LogisticRegression().fit(frame[["dist", "pay"]], frame["tipped"])
        graphs = _graphs(dask_client) - before
        for _ in range(100):  # (the events reach the client's handler a bit later)
            if bar.n == graphs:
                break
            time.sleep(0.05)
        assert bar.n == graphs
    # the frames pass, the core's scan, one or more passes per Newton iteration
    assert graphs >= model.n_iter_ + 2
    assert re.search(r"passes over the data: [1-9]\d* \[", out.getvalue())


@pytest.mark.parametrize("args, message", [
    (["--dask", "local:x"], "give local, local:N_WORKERS or a scheduler address"),
    (["--dask", "local:0"], "the number of workers must be at least 1"),
    (["--dask", "local", "--dropna"], "--dropna does not apply with --dask"),
    (["--dask", "local", "--solver", "adam"], "--solver adam is a minibatch solver"),
    (["--dask", "local", "--kind", "multinomial", "--threshold", "0.3"],
     "--threshold applies to binary models, not --kind multinomial"),
    (["--dask", "local", "--kind", "ordinal", "--target", "pay"],
     "the ordinal target 'pay' holds text; give its levels"),
    (["--dask", "local", "--target", "nope"], "no target column 'nope'; the columns are"),
])
def test_bad_input_is_refused_before_a_cluster_starts(trips, args, message):
    args = ["--target", "tipped", *args] if "--target" not in args else args
    result = _run(["fit", trips / "trips", *args, "-o", trips / "never.lkm"])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (trips / "never.lkm").exists()


def test_a_glob_without_files_is_an_error(trips):
    result = _run(["fit", trips / "nothing" / "*.parquet", "--target", "tipped", "--dask",
                   "local", "-o", trips / "never.lkm"])
    assert result.exit_code == 2 and "no such file or directory" in result.stderr


def test_local_workers_read_parquet_with_the_system_allocator():
    """`--dask local` workers run pyarrow on the system allocator (WORKER_ENV)."""
    from logitkit.dask.command import connect

    def pool():
        import os

        import pyarrow

        backend = pyarrow.default_memory_pool().backend_name
        return os.environ.get("ARROW_DEFAULT_MEMORY_POOL"), backend

    with connect("local:1") as client:
        assert set(client.run(pool).values()) == {("system", "system")}
