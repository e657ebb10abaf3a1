"""logitkit.dask.frames: dask DataFrames in, dask arrays out, equal to the pandas encoding
of the same rows (Dask's synchronous scheduler: the arrays, not the cluster, are tested)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
pytest.importorskip("pyarrow")

from dask.callbacks import Callback  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit import LogisticRegression  # noqa: E402
from logitkit.dask.frames import design_array, frame_arrays  # noqa: E402
from logitkit.encoding import DesignEncoder  # noqa: E402

FEATURES = ["x", "z32", "k", "text", "cat", "flag"]
# Dask's default (fsspec) Parquet reader calls reset_index(inplace=True), deprecated in
# pandas 3.1; the warning is Dask's, not ours
pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index:pandas.errors.Pandas4Warning")


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="sync"):
        yield


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "z32": rng.normal(size=n).astype(np.float32),
        "k": rng.integers(0, 5, n),
        "text": rng.choice(["b", "a", "c"], n),
        "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), ["lo", "mid", "hi"]),
        "flag": rng.random(n) < 0.4,
        "y": rng.choice(["no", "yes", "maybe"], n),
        "w": rng.random(n) + 0.5,
        "driver": rng.choice([f"d{i}" for i in range(7)], n),
    })


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory):
    """Nine Parquet files (uneven sizes, one of a single row) written with pyarrow."""
    path = tmp_path_factory.mktemp("trips")
    sizes = [40, 1, 25, 33, 40, 12, 40, 29, 40]
    for i, n in enumerate(sizes):
        frame = _frame(n, seed=i).assign(row=sum(sizes[:i]) + np.arange(n))
        frame.to_parquet(path / f"part-{i}.parquet", index=False)
    return path


def _check_equal_to_pandas(arrays, pdf, features=FEATURES):
    encoder = DesignEncoder.fit(pdf[features])
    assert arrays.encoder.output_names == encoder.output_names
    assert [c.levels for c in arrays.encoder.columns] == [c.levels for c in encoder.columns]
    X = arrays.X.compute()
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, encoder.transform(pdf))
    np.testing.assert_array_equal(arrays.y.compute(), np.asarray(pdf["y"], dtype=object))
    for array in (arrays.y, arrays.sample_weight, arrays.clusters):
        if array is not None:
            assert array.chunks[0] == arrays.X.chunks[0]


@pytest.mark.parametrize("filesystem", ["fsspec", "arrow"])
def test_parquet_dataset_gives_the_arrays_of_its_pandas_encoding(parquet_dir, filesystem):
    pdf = pd.read_parquet(parquet_dir)
    df = dd.read_parquet(parquet_dir, filesystem=filesystem)
    if filesystem == "arrow":  # it reads the files in the order the directory lists them
        pdf = pdf.iloc[df["row"].compute().to_numpy()].reset_index(drop=True)
    arrays = frame_arrays(df[FEATURES], df["y"], df["w"], df["driver"])
    _check_equal_to_pandas(arrays, pdf)
    np.testing.assert_array_equal(arrays.sample_weight.compute(), pdf["w"])
    np.testing.assert_array_equal(arrays.clusters.compute(), pdf["driver"].astype(object))
    assert arrays.class_order is None and arrays.target_name == "y"
    # text, bool and the Parquet Categorical (whose categories Dask's readers do not
    # declare: unknown with fsspec, none with arrow) need the pass
    assert arrays.scanned == ("text", "cat", "flag")
    assert all(c.scanned == (c.levels is not None) for c in arrays.encoder.columns)


def test_the_pass_is_one_compute_that_does_not_encode_X(parquet_dir):
    df = dd.read_parquet(parquet_dir)
    starts, tasks = [], []

    class Count(Callback):
        def _start(self, dsk):
            starts.append(1)

        def _pretask(self, key, dsk, state):
            tasks.append(key[0] if isinstance(key, tuple) else key)

    with Count():
        arrays = frame_arrays(df[FEATURES], df["y"], df["w"], df["driver"])
    assert len(starts) == 1
    assert not any("_design_block" in str(t) for t in tasks)
    with Count():
        arrays.X.compute()
    assert len(starts) == 2


def test_numeric_columns_of_parquet_files_keep_their_partitions(tmp_path):
    """A read of fewer than all the files' columns (which Dask's tuning fuses into fewer
    partitions): X keeps one partition per file, the pass reads one column of X to
    count the rows, and the numeric design (no per-column encoding) is pandas'."""
    rng = np.random.default_rng(3)
    frames = [pd.DataFrame(rng.normal(size=(n, 5)), columns=list("abcde")).assign(
        k=rng.integers(0, 9, n), y=rng.integers(0, 2, n)) for n in (30, 1, 45, 20)]
    for i, frame in enumerate(frames):
        frame.to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    pdf = pd.concat(frames, ignore_index=True)
    df = dd.read_parquet(tmp_path)
    features = ["a", "b", "c", "k"]
    arrays = frame_arrays(df[features], df["y"])
    assert arrays.X.chunks[0] == (30, 1, 45, 20)
    assert arrays.x_share == 1 / 4  # (the first column, for the row counts)
    X = arrays.X.compute()
    np.testing.assert_array_equal(X, pdf[features].to_numpy(dtype=float))
    bad = pdf.copy()
    bad.loc[60, "b"] = np.inf  # (rows 48 to 95: the second partition)
    bdf = dd.from_pandas(bad, npartitions=2)
    with pytest.raises(ValueError, match=r"partition 1 of X: .*column 'b'"):
        frame_arrays(bdf[features], bdf["y"]).X.compute()


def test_series_from_other_frames_are_matched_to_the_rows_by_position():
    pdf = _frame(101, seed=3)
    # X in 3 partitions; y, weights and clusters from differently partitioned frames with
    # another index, and a dask array with its own chunks
    X = dd.from_pandas(pdf[FEATURES], npartitions=3)
    other = dd.from_pandas(pdf.set_index(np.arange(101) * 10), npartitions=5, sort=False)
    w = da.from_array(pdf["w"].to_numpy(), chunks=17)
    arrays = frame_arrays(X, other["y"], w, other["driver"])
    _check_equal_to_pandas(arrays, pdf)
    np.testing.assert_array_equal(arrays.sample_weight.compute(), pdf["w"])
    np.testing.assert_array_equal(arrays.clusters.compute(), pdf["driver"].astype(object))


def test_uneven_empty_and_one_row_partitions():
    pdf = _frame(60, seed=4)
    bounds = [0, 0, 1, 30, 30, 60]  # an empty partition first, a 1-row one, another empty
    X = dd.from_map(lambda i: pdf[FEATURES].iloc[bounds[i]:bounds[i + 1]], range(5))
    y = da.from_array(pdf["y"].to_numpy(dtype=object), chunks=25)
    arrays = frame_arrays(X, y, clusters=X["k"])
    assert arrays.X.chunks[0] == (1, 29, 30)  # (dask's concatenate drops empty blocks)
    _check_equal_to_pandas(arrays, pdf)
    np.testing.assert_array_equal(arrays.clusters.compute(), pdf["k"])
    assert arrays.sample_weight is None and arrays.target_name is None


def test_known_categories_are_used_as_they_are_without_the_pass():
    pdf = _frame(50, seed=5)
    pdf["cat"] = pdf["cat"].cat.add_categories(["unused"])
    pdf["y"] = pd.Categorical(pdf["y"], categories=["yes", "maybe", "no"], ordered=True)
    df = dd.from_pandas(pdf, npartitions=2)
    arrays = frame_arrays(df[FEATURES], df["y"])
    cat = next(c for c in arrays.encoder.columns if c.name == "cat")
    assert cat.levels == ("lo", "mid", "hi", "unused") and not cat.scanned
    X = arrays.X.compute()
    names = arrays.encoder.output_names
    np.testing.assert_array_equal(X[:, names.index("cat[unused]")], 0.0)
    kept = [j for j, name in enumerate(names) if name != "cat[unused]"]
    np.testing.assert_array_equal(X[:, kept], DesignEncoder.fit(pdf[FEATURES]).transform(pdf))
    # y's class order is its category order
    assert list(arrays.class_order) == ["yes", "maybe", "no"] and "y" not in arrays.scanned
    np.testing.assert_array_equal(arrays.y.compute(), pdf["y"].astype(object))


def test_a_parquet_categorical_target_gets_its_order_from_the_pass(tmp_path):
    for i, n in enumerate([20, 30]):
        frame = _frame(n, seed=10 + i)
        frame["y"] = pd.Categorical(frame["y"], categories=["no", "maybe", "yes"],
                                    ordered=True)
        frame.to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    df = dd.read_parquet(tmp_path)
    arrays = frame_arrays(df[FEATURES], df["y"])
    assert list(arrays.class_order) == ["no", "maybe", "yes"] and "y" in arrays.scanned
    np.testing.assert_array_equal(arrays.y.compute(),
                                  pd.read_parquet(tmp_path)["y"].astype(object))


def test_design_array_predicts_with_the_frozen_encoder(parquet_dir):
    df = dd.read_parquet(parquet_dir)
    encoder = frame_arrays(df[FEATURES], df["y"]).encoder
    pdf = pd.read_parquet(parquet_dir)
    shuffled = df[["w", "y", *FEATURES[::-1]]]  # other order, extra columns
    np.testing.assert_array_equal(design_array(shuffled, encoder).compute(),
                                  encoder.transform(pdf))
    # and the same encoder on pandas input, as the fitted estimator uses it
    np.testing.assert_array_equal(encoder.transform(pdf[FEATURES[::-1]]),
                                  DesignEncoder.fit(pdf[FEATURES]).transform(pdf))


def test_missing_values_are_errors_naming_the_partition_and_column():
    pdf = _frame(40, seed=6)
    text = pdf.astype({"text": object})
    text.loc[27, "text"] = None
    with pytest.raises(ValueError, match=r"column 'text' of X has missing values in "
                                         r"partition 2 \(first at row 7 "):
        frame_arrays(dd.from_pandas(text[FEATURES], npartitions=4), dd.from_pandas(
            text["y"], npartitions=4))
    numeric = pdf.copy()
    numeric.loc[33, "x"] = np.nan
    df = dd.from_pandas(numeric, npartitions=4)
    arrays = frame_arrays(df[FEATURES], df["y"])  # numeric columns: checked when encoded
    with pytest.raises(ValueError, match=r"partition 3 of X: Input X contains NaN or "
                                         r"infinity in column 'x' \(first at row 3 "):
        arrays.X.compute()


def test_predict_errors_name_the_missing_column_and_the_unseen_category():
    pdf = _frame(40, seed=7)
    df = dd.from_pandas(pdf, npartitions=4)
    encoder = frame_arrays(df[FEATURES], df["y"]).encoder
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['text'\]"):
        design_array(df.drop(columns="text"), encoder)
    new = pdf.copy()
    new.loc[35, "text"] = "zzz"
    lazy = design_array(dd.from_pandas(new, npartitions=4), encoder)
    with pytest.raises(ValueError, match=r"partition 3 of X: column 'text' has categories "
                                         r"not seen during fit: \['zzz'\]"):
        lazy.compute()


def test_bad_y_and_shapes_are_clear_errors():
    pdf = _frame(30, seed=8)
    df = dd.from_pandas(pdf, npartitions=3)
    with pytest.raises(ValueError, match="X has 30 rows but y has 29"):
        frame_arrays(df[FEATURES], da.from_array(pdf["y"].to_numpy()[:29], chunks=10))
    unknown = df["w"].to_dask_array()  # chunk sizes unknown
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        frame_arrays(df[FEATURES], df["y"], unknown)
    with pytest.raises(TypeError, match="should be a dask Series or dask array"):
        frame_arrays(df[FEATURES], pdf["y"])
    mixed = pdf.astype({"text": object})
    mixed.loc[3, "text"] = 1.5
    with dask.config.set({"dataframe.convert-string": False}), pytest.raises(
            ValueError, match=r"column 'text' of X mixes \['float', 'str'\]"):
        frame_arrays(dd.from_pandas(mixed[FEATURES], npartitions=3), df["y"])


def test_the_summary_says_which_levels_a_pass_found(spector):
    model = LogisticRegression().fit(spector.assign(psi=spector["PSI"].map(
        {0: "no", 1: "yes"}))[["GPA", "TUCE", "psi"]], spector["GRADE"])
    assert not any("found by a pass" in note for note in model.summary().notes)
    columns = tuple(dataclasses.replace(c, scanned=c.levels is not None)
                    for c in model.encoder_.columns)
    model.encoder_ = dataclasses.replace(model.encoder_, columns=columns)
    notes = [note for note in model.summary().notes if "found by a pass" in note]
    assert notes == ["The levels of the categorical column(s) ['psi'] were found by a pass "
                     "over the (Dask) data before the fit, as their dtype declared none."]


def _same_fit(ours, theirs, clusters: bool):
    assert ours.coef_names_ == theirs.coef_names_
    assert list(ours.classes_) == list(theirs.classes_)
    np.testing.assert_allclose(ours.result_.params, theirs.result_.params, rtol=0, atol=1e-8)
    assert ours.result_.log_likelihood == pytest.approx(theirs.result_.log_likelihood,
                                                        rel=1e-12)
    for cov_type in ["nonrobust", "HC0", "HC1"] + (["cluster"] if clusters else []):
        np.testing.assert_allclose(ours.summary(cov_type=cov_type).table["std_err"],
                                   theirs.summary(cov_type=cov_type).table["std_err"],
                                   rtol=0, atol=1e-8, err_msg=cov_type)


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_a_parquet_dataset_fits_as_pandas_does_on_the_same_rows(dask_client, parquet_dir,
                                                                  tmp_path, kind):
    """On the session's two-worker cluster: binary (weights, clusters spanning files),
    multinomial and ordinal (a Parquet Categorical target) fits of dd.read_parquet equal
    the pandas fits of pd.read_parquet, and predict alike on pandas and dask input."""
    features = ["x", "k", "text", "cat", "flag"]
    with dask.config.set(scheduler=dask_client.get):
        df, pdf = dd.read_parquet(parquet_dir), pd.read_parquet(parquet_dir)
        if kind == "ordinal":
            order = pd.CategoricalDtype(["no", "maybe", "yes"], ordered=True)
            pdf["y"] = pdf["y"].astype(order)
            for i, rows in enumerate(np.array_split(np.arange(len(pdf)), 3)):
                pdf.iloc[rows].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
            df = dd.read_parquet(tmp_path)
            model = lk.OrdinalLogisticRegression
        else:
            model = LogisticRegression
        if kind == "binary":
            df, pdf = (f.assign(y=(f["y"] == "yes")) for f in (df, pdf))
        options = {"sample_weight": "w", "clusters": "driver"} if kind == "binary" else {}
        ours = model().fit(df[features], df["y"], **{k: df[v] for k, v in options.items()})
        theirs = model().fit(pdf[features], pdf["y"],
                             **{k: pdf[v] for k, v in options.items()})
        _same_fit(ours, theirs, clusters=kind == "binary")
        expected = theirs.predict_proba(pdf[features])
        np.testing.assert_allclose(ours.predict_proba(df[features]).compute(), expected,
                                   rtol=0, atol=1e-10)
        np.testing.assert_allclose(ours.predict_proba(pdf[features]), expected, rtol=0,
                                   atol=1e-10)
