"""Errors name a row the same way in Python and in the CLI (0-based, plus the index label
of a non-default pandas index) and never show a NumPy repr; DataFrame columns are selected
by name at predict time."""

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import logitkit as lk
from logitkit.cli import main
from logitkit.messages import plain, row_name

NUMPY_REPR = re.compile(r"np\.\w+\(|array\(|dtype=")

rng = np.random.default_rng(5)
N = 60
FRAME = pd.DataFrame({"x": rng.normal(size=N).round(3),
                      "group": rng.choice(["a", "b", "c"], size=N),
                      "z": rng.normal(size=N).round(3)})
Y = pd.Series((FRAME["x"] + (FRAME["group"] == "b") + rng.logistic(size=N) > 0).astype(int),
              name="label")


def _error(call, kind=ValueError) -> str:
    with pytest.raises(kind) as info:
        call()
    message = str(info.value)
    assert not NUMPY_REPR.search(message), message
    return message


def test_plain_and_row_name():
    assert plain(np.float64(0.0)) == 0.0 and type(plain(np.float64(0.0))) is float
    assert plain(np.array([np.int64(1), "a"], dtype=object)) == [1, "a"]
    assert plain((np.int32(2), [np.bool_(True)])) == (2, [True])
    assert row_name(np.int64(3)) == "row 3"
    assert row_name(3, pd.RangeIndex(10)) == "row 3"
    assert row_name(1, pd.Index(["a", "b"])) == "row 1 (index 'b')"
    assert row_name(1, pd.RangeIndex(10, 20)) == "row 1 (index 11)"


@pytest.mark.parametrize("index, suffix", [(None, ""), (list("ABCDEFGHIJ") * 6, " (index 'C')")])
def test_python_errors_name_rows_from_0_with_the_index_label(index, suffix):
    frame = FRAME.copy() if index is None else FRAME.set_axis(index)
    y = Y.copy() if index is None else Y.set_axis(index)
    bad = frame.copy()
    bad.iloc[2, 0] = np.nan
    assert _error(lambda: lk.LogisticRegression().fit(bad, y)) == (
        f"Input X contains NaN or infinity in column 'x' (first at row 2{suffix})")
    bad = frame.astype({"group": object})
    bad.iloc[2, 1] = None
    assert _error(lambda: lk.LogisticRegression().fit(bad, y)) == (
        f"column 'group' has missing values (first at row 2{suffix})")
    bad = frame.assign(z=frame["z"].astype(object))
    bad.iloc[2, 2] = "oops"
    assert _error(lambda: lk.LogisticRegression().fit(bad, y)) == (
        f"column 'z' mixes ['float', 'str'] values ({frame['z'].iloc[0]} at row 0"
        f"{' (index ' + repr(frame.index[0]) + ')' if suffix else ''}, 'oops' at row 2{suffix}"
        "); give it numbers, or text for categories")
    fitted = lk.LogisticRegression().fit(frame, y)
    assert _error(lambda: fitted.predict(bad)) == (
        f"column 'z' should be numeric but has the value 'oops' at row 2{suffix}")
    y_bad = y.astype(float)
    y_bad.iloc[2] = np.nan
    assert _error(lambda: lk.LogisticRegression().fit(frame, y_bad)) == (
        f"y contains missing values (NaN or None), first at row 2{suffix}")
    y_bad.iloc[2] = -np.inf
    assert _error(lambda: lk.LogisticRegression().fit(frame, y_bad)) == (
        f"y contains infinity, which is not a class label, first at row 2{suffix}")
    weights = pd.Series(np.ones(N), index=y.index)
    weights.iloc[2] = -1.5
    assert _error(lambda: lk.LogisticRegression().fit(frame, y, sample_weight=weights)) == (
        f"sample_weight has negative values, first at row 2{suffix} (-1.5); weights must be "
        ">= 0")
    model = lk.LogisticRegression().fit(frame, y)
    unseen = frame.assign(group=frame["group"].where(np.arange(N) != 2, "zz"))
    assert f"['zz'] (first at row 2{suffix})" in _error(lambda: model.predict(unseen))


def test_array_errors_name_the_row_and_column():
    X = FRAME[["x", "z"]].to_numpy()
    bad = X.copy()
    bad[7, 1] = np.inf
    assert _error(lambda: lk.LogisticRegression().fit(bad, Y.to_numpy())) == (
        "Input X contains infinity or a value too large for dtype('float64'): first at row 7, "
        "column 1")
    bad[7, 1] = np.nan
    assert _error(lambda: lk.LogisticRegression().fit(bad, Y.to_numpy())).startswith(
        "Input X contains NaN: first at row 7, column 1")
    weights = np.ones(N)
    weights[4] = np.nan
    assert _error(lambda: lk.LogisticRegression().fit(X, Y.to_numpy(), sample_weight=weights)) \
        == "sample_weight contains NaN or infinity, first at row 4"
    model = lk.LogisticRegression(solver="adam", epochs=1, random_state=0).fit(X, Y.to_numpy())
    labels = Y.to_numpy().copy()
    labels[9] = 7
    assert _error(lambda: model.evaluate(X, labels)) == (
        "y has labels ['7'] that are not among classes_ [0, 1] (first at row 9)")


def test_no_numpy_reprs_in_parameter_and_label_errors():
    X, y = FRAME[["x", "z"]].to_numpy(), Y.to_numpy()
    assert _error(lambda: lk.LogisticRegression(alpha=np.float64(-1.0)).fit(X, y)) == (
        "alpha must be a finite number >= 0, got -1.0")
    assert _error(lambda: lk.LogisticRegression(max_iter=np.int64(0)).fit(X, y)) == (
        "max_iter must be an integer >= 1, got 0")
    assert _error(lambda: lk.LogisticRegression(threshold=np.float64(1.5)).fit(X, y)) == (
        "threshold must be a number in (0, 1), got 1.5")
    assert _error(lambda: lk.LogisticRegression(solver="adam", momentum=np.float64(1.0))
                  .fit(X, y)) == "momentum must be a number in [0, 1), got 1.0"
    assert _error(lambda: lk.LogisticRegression().fit(X, np.ones(N, dtype=np.int64))) \
        .startswith("y has only one class (1);")
    y3 = np.digitize(X[:, 0], [-0.5, 0.5])
    model = lk.LogisticRegression(alpha=0.1).fit(X, y3)
    assert _error(lambda: model.summary(base_class=np.int64(7))) == (
        "base_class 7 is not one of classes_ [0, 1, 2]")
    streaming = lk.LogisticRegression(solver="adam", epochs=1, random_state=0).fit(X, y)
    assert _error(lambda: streaming.partial_fit(X, y, classes=np.array([0, 5]))) == (
        "classes [0, 5] differ from those of the earlier fit, [0, 1]")


def test_the_cli_and_python_name_the_same_row(tmp_path):
    frame = FRAME.assign(label=Y)
    frame.loc[4, "z"] = np.nan
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = CliRunner().invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "label",
                                       "-o", str(tmp_path / "m.lkm")])
    python = _error(lambda: lk.LogisticRegression().fit(frame[["x", "group", "z"]], Y))
    assert "column 'z' has a missing or infinite value in row 4;" in result.stderr
    assert "(first at row 4)" in python
    frame = FRAME.assign(label=Y, w=1.0)
    frame.loc[6, "w"] = -2.0
    frame.to_csv(tmp_path / "w.csv", index=False)
    result = CliRunner().invoke(main, ["fit", str(tmp_path / "w.csv"), "--target", "label",
                                       "--weights", "w", "-o", str(tmp_path / "m.lkm")])
    python = _error(lambda: lk.LogisticRegression().fit(FRAME, Y, sample_weight=frame["w"]))
    assert "the weights column 'w' has a negative value in row 6" in result.stderr
    assert "first at row 6 (-2.0)" in python


def test_predict_selects_the_fitted_columns_by_name():
    model = lk.LogisticRegression().fit(FRAME, Y)
    expected = model.predict_proba(FRAME)
    reordered = FRAME[["z", "group", "x"]].assign(extra=np.arange(N), label=Y)
    np.testing.assert_array_equal(model.predict_proba(reordered), expected)
    np.testing.assert_array_equal(model.decision_function(reordered),
                                  model.decision_function(FRAME))
    assert model.score(reordered, Y) == model.score(FRAME, Y)
    categorical = FRAME.assign(group=pd.Categorical(FRAME["group"]))
    np.testing.assert_array_equal(model.predict_proba(categorical[["group", "z", "x"]]),
                                  expected)
    ordinal = lk.OrdinalLogisticRegression().fit(FRAME, Y)
    np.testing.assert_array_equal(ordinal.predict_proba(reordered), ordinal.predict_proba(FRAME))
    assert _error(lambda: model.predict(FRAME[["z", "x"]])) == (
        "X is missing the column(s) ['group'] that the model was fitted on; its columns are "
        "['z', 'x']")
    twice = pd.concat([FRAME, FRAME[["x"]]], axis=1)
    assert _error(lambda: model.predict(twice)) == "X has the column(s) ['x'] more than once"
