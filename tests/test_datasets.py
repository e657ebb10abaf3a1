import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from logitkit import datasets

FEATURE1 = [2.5, 3.6, 1.2, 4.5, 3.3, 5.1, 6.2, 7.4, 5.5, 8.0,
            9.1, 10.2, 8.5, 11.0, 12.3, 13.5, 14.1, 15.6, 16.2, 17.8]  # fmt: skip
FEATURE2 = [1.0, 2.1, 0.5, 3.3, 2.8, 4.0, 5.5, 6.1, 4.8, 7.2,
            8.3, 9.0, 7.5, 10.1, 11.4, 12.0, 13.2, 14.5, 15.0, 16.3]  # fmt: skip
LABEL = [0] * 5 + [1] * 15


def test_seed_table_frame_matches_seed_001():
    df = datasets.load_seed_table()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["Feature1", "Feature2", "Label"]
    assert df.shape == (20, 3)
    np.testing.assert_array_equal(df["Feature1"].to_numpy(), FEATURE1)
    np.testing.assert_array_equal(df["Feature2"].to_numpy(), FEATURE2)
    np.testing.assert_array_equal(df["Label"].to_numpy(), LABEL)
    assert df["Feature1"].dtype == np.float64
    assert np.issubdtype(df["Label"].dtype, np.integer)


def test_seed_table_arrays_and_separation():
    X, y = datasets.load_seed_table(as_frame=False)
    assert X.shape == (20, 2) and X.dtype == np.float64
    assert y.shape == (20,) and np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(X[:, 0], FEATURE1)
    # Perfectly separated: Label is 1 exactly when Feature1 > 4.8.
    np.testing.assert_array_equal(y, (X[:, 0] > 4.8).astype(int))


def _check_xy(X, y, n, d, classes):
    assert X.shape == (n, d) and X.dtype == np.float64
    assert y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(np.unique(y), classes)


def test_make_sigmoid_1d():
    X, y = datasets.make_sigmoid_1d(random_state=0)
    _check_xy(X, y, 2000, 1, [0, 1])
    np.testing.assert_array_equal(np.bincount(y), [1000, 1000])
    assert (y[:1000] == 0).all()  # class 0 first, as in the seed
    assert abs(X[y == 0].mean() + 4) < 0.2 and abs(X[y == 1].mean() - 4) < 0.2
    assert abs(X[y == 0].std() - 2) < 0.2 and abs(X[y == 1].std() - 2) < 0.2
    X, y = datasets.make_sigmoid_1d(n_per_class=7, random_state=1)
    _check_xy(X, y, 14, 1, [0, 1])


def test_make_blobs_2d():
    X, y = datasets.make_blobs_2d(random_state=0)
    _check_xy(X, y, 2000, 2, [0, 1])
    np.testing.assert_array_equal(np.bincount(y), [1000, 1000])
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [3, 2], atol=0.15)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [7, 6], atol=0.15)
    np.testing.assert_allclose(X[y == 1].std(axis=0), [1, 1], atol=0.1)


def test_make_softmax_3class():
    X, y = datasets.make_softmax_3class(random_state=0)
    _check_xy(X, y, 300, 2, [0, 1, 2])
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100])
    assert not (np.diff(y) >= 0).all()  # shuffled
    for k, center in enumerate([(1, 1), (5, 4), (8, 0)]):
        np.testing.assert_allclose(X[y == k].mean(axis=0), center, atol=0.35)
    Xt, yt = datasets.make_softmax_3class(n_per_class=10, random_state=1, shuffle=False)
    _check_xy(Xt, yt, 30, 2, [0, 1, 2])
    np.testing.assert_array_equal(yt, np.repeat([0, 1, 2], 10))


def test_make_linear_vs_logistic_balanced_crossing_is_19_5():
    for seed in range(5):
        X, y = datasets.make_linear_vs_logistic(random_state=seed)
        _check_xy(X, y, 40, 1, [0, 1])
        np.testing.assert_array_equal(np.bincount(y), [20, 20])
        x = X[:, 0]
        assert x[y == 0].max() > x[y == 1].min()  # classes overlap: the MLE exists
        assert ((x > 19.5) != y).sum() == 2  # by exactly one mirrored pair
        slope, intercept = np.polyfit(x, y, 1)
        assert (0.5 - intercept) / slope == pytest.approx(19.5, abs=1e-9)


def test_make_linear_vs_logistic_imbalanced_drags_crossing():
    for seed in range(5):
        X, y = datasets.make_linear_vs_logistic(imbalanced=True, random_state=seed)
        _check_xy(X, y, 52, 1, [0, 1])
        np.testing.assert_array_equal(np.bincount(y), [20, 32])
        x = X[:, 0]
        assert (x[40:] >= 75).all() and (y[40:] == 1).all()
        slope, intercept = np.polyfit(x, y, 1)
        assert 23 < (0.5 - intercept) / slope < 25  # the seed's "x < 24"
        # The balanced part is the same draw as the balanced data set.
        Xb, yb = datasets.make_linear_vs_logistic(random_state=seed)
        np.testing.assert_array_equal(X[:40], Xb)


@pytest.mark.parametrize(
    "make",
    [
        datasets.make_sigmoid_1d,
        datasets.make_blobs_2d,
        datasets.make_softmax_3class,
        datasets.make_linear_vs_logistic,
    ],
)
def test_random_state_reproducibility(make):
    X1, y1 = make(random_state=42)
    X2, y2 = make(random_state=42)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(random_state=43)
    assert not np.array_equal(X1, X3)
    # A Generator is used as is (and advanced), so two calls differ.
    rng = np.random.default_rng(42)
    Xa, _ = make(random_state=rng)
    Xb, _ = make(random_state=rng)
    np.testing.assert_array_equal(Xa, X1)
    assert not np.array_equal(Xa, Xb)
    # random_state=None gives fresh data.
    assert not np.array_equal(make()[0], make()[0])


# ------------------------------------------------------- the shipped published data sets


def test_spector_equals_the_reference_file(spector):
    df = lk.datasets.load_spector()
    assert df.shape == (32, 5)
    assert list(df.columns) == ["OBS", "GPA", "TUCE", "PSI", "GRADE"]
    assert df["GPA"].dtype == np.float64
    assert all(df[c].dtype == np.int64 for c in ["OBS", "TUCE", "PSI", "GRADE"])
    pd.testing.assert_frame_equal(df, spector)
    assert df["GRADE"].sum() == 11 and df["PSI"].sum() == 14


def test_ucla_apply_is_an_ordered_categorical(ucla):
    df = lk.datasets.load_ucla_apply()
    assert df.shape == (400, 4)
    assert list(df.columns) == ["apply", "pared", "public", "gpa"]
    assert isinstance(df["apply"].dtype, pd.CategoricalDtype) and df["apply"].cat.ordered
    assert list(df["apply"].cat.categories) == ["unlikely", "somewhat likely", "very likely"]
    assert list(df["apply"].cat.categories) == list(datasets.UCLA_APPLY_LEVELS)
    assert df["apply"].value_counts(sort=False).tolist() == [220, 140, 40]
    assert (df["apply"].iloc[0] > "somewhat likely") and df["apply"].notna().all()
    assert df["gpa"].dtype == np.float64
    assert df["pared"].dtype == np.int64 and df["public"].dtype == np.int64
    pd.testing.assert_frame_equal(df, ucla)  # the labels and their order


def test_anes96_has_what_the_mlogit_example_needs(anes96):
    df = lk.datasets.load_anes96()
    assert df.shape == (944, 11)
    assert list(df.columns) == ["popul", "TVnews", "selfLR", "ClinLR", "DoleLR", "PID", "age",
                                "educ", "income", "vote", "logpopul"]
    assert (df.drop(columns="logpopul").dtypes == np.int64).all()
    assert df["logpopul"].dtype == np.float64
    np.testing.assert_array_equal(df["logpopul"], np.log(df["popul"] + 0.1))
    assert sorted(df["PID"].unique()) == list(range(7))
    pd.testing.assert_frame_equal(df, anes96)


def test_loaders_return_fresh_frames():
    first = lk.datasets.load_spector()
    first.loc[0, "GPA"] = -1.0
    assert lk.datasets.load_spector().loc[0, "GPA"] == 2.66


def test_load_by_name():
    assert list(datasets.NAMES) == ["spector", "ucla", "anes96", "seed"]
    pd.testing.assert_frame_equal(datasets.load("ucla"), datasets.load_ucla_apply())
    pd.testing.assert_frame_equal(datasets.load("seed"), datasets.load_seed_table())
    with pytest.raises(ValueError, match="no data set named 'iris'; the data sets are "
                                         "spector, ucla, anes96, seed"):
        datasets.load("iris")


def test_datasets_is_an_attribute_of_the_package():
    code = "import logitkit as lk; print(lk.datasets.load_anes96().shape)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "(944, 11)"
