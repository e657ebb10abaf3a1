"""The command line on bad input: one clean line on stderr and exit 2, nothing written,
and malformed files that never crash it (split from test_cli.py)."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logitkit as lk
from logitkit import readers
from test_cli import _run, data  # noqa: F401 (data: test_cli's module fixture)

# ------------------------------------------------------------------------ bad input

def _write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return tmp_path / name


@pytest.fixture
def model_file(data, tmp_path):  # noqa: F811 (the fixture imported above)
    root, _, _ = data
    _run(["fit", root / "binary.csv", "--target", "label", "-o", tmp_path / "model.lkm"])
    return tmp_path / "model.lkm"


def _wrong_version(model_file):
    """Rewrite the model file as if a future logitkit (format 99) had written it."""
    with zipfile.ZipFile(model_file) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(members["metadata.json"])
    meta["format_version"] = 99
    members["metadata.json"] = json.dumps(meta)
    with zipfile.ZipFile(model_file, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return model_file


GOOD = "id,x1,x2,group,label\nr1,0.5,3,a,1\nr2,-1,2,b,0\nr3,0.1,7,c,1\nr4,2,1,a,0\n"
BAD_INPUTS = {
    "missing file": (lambda p, m: ["fit", p / "absent.csv", "--target", "y"],
                     "no such file or directory: "),
    "empty file": (lambda p, m: ["fit", _write(p, "e.csv", ""), "--target", "y"],
                   "e.csv is empty"),
    "header only": (lambda p, m: ["fit", _write(p, "h.csv", "a,y\n"), "--target", "y"],
                    "h.csv has a header but no data rows"),
    "missing target": (lambda p, m: ["fit", _write(p, "t.csv", GOOD), "--target", "y"],
                       "no target column 'y'; the columns are ['id', 'x1'"),
    "missing feature": (lambda p, m: ["fit", _write(p, "f.csv", GOOD), "--target", "label",
                                      "--features", "x1,x9"], "no feature column 'x9'"),
    "non-numeric value": (
        lambda p, m: ["fit", _write(p, "n.csv", GOOD.replace("-1,", "abc,")), "--target",
                      "label"],
        "column 'x1' should be numeric but row 1 has the value 'abc'"),
    "NaN": (lambda p, m: ["fit", _write(p, "na.csv", GOOD.replace("r3,0.1", "r3,")),
                          "--target", "label"],
            "column 'x1' has a missing or infinite value in row 2; 1 of 4 rows have such "
            "values"),
    "inf": (lambda p, m: ["fit", _write(p, "inf.csv", GOOD.replace("r3,0.1", "r3,inf")),
                          "--target", "label"], "missing or infinite value in row 2"),
    "one class": (lambda p, m: ["fit", _write(p, "one.csv", GOOD.replace(",0\n", ",1\n")),
                                "--target", "label"],
                  "the target 'label' has only one class (1); a model needs at least 2"),
    "outside order": (
        lambda p, m: ["fit", _write(p, "o.csv", "x,y\n1,low\n2,high\n3,huge\n"), "--target",
                      "y", "--order", "low,high"],
        "the target 'y' has values outside the order ['low', 'high']: ['huge'] (first in "
        "row 2)"),
    "text ordinal without order": (
        lambda p, m: ["fit", _write(p, "o2.csv", "x,y\n1,low\n2,high\n"), "--target", "y",
                      "--kind", "ordinal"],
        'give its 2 levels from lowest to highest with --order "high,low" (here sorted '
        "alphabetically: put them in their real order)"),
    "unseen category": (
        lambda p, m: ["predict", m, _write(p, "u.csv", GOOD.replace("r4,2,1,a", "r4,2,1,z"))],
        "column 'group' has the category 'z' in row 3, which was not seen in training"),
    "predict file missing a feature": (
        lambda p, m: ["predict", m, _write(p, "mf.csv", "id,x1,group\nr1,1,a\n")],
        "lacks the feature column(s) ['x2'] that the model was fitted on"),
    "evaluate label unknown": (
        lambda p, m: ["evaluate", m, _write(p, "ev.csv", GOOD.replace(",0\n", ",7\n"))],
        "the target 'label' has values the model does not know: ['7'] (first in row 1)"),
    "incompatible model version": (
        lambda p, m: ["summary", _wrong_version(m)],
        "model format version 99 (written by logitkit"),
    "corrupted model": (
        lambda p, m: ["summary", _write(p, "c.lkm", "PK\x03\x04 not really")],
        "not a logitkit model file, or a truncated or corrupted one"),
    "usage": (lambda p, m: ["fit", "x.csv"],
              "Missing option '--target' (or --formula \"y ~ x1 + x2\"). (see 'logitkit "
              "fit --help')"),
    "both stdin": (lambda p, m: ["predict", "-", "-"], "cannot both be read from stdin"),
    "bad parquet": (lambda p, m: ["fit", _write(p, "b.parquet", "PAR1garbage"), "--target",
                                  "y"], "cannot read the Parquet file"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clean_line_and_exit_2(case, tmp_path, model_file):
    make_args, message = BAD_INPUTS[case]
    args = make_args(tmp_path, model_file)
    output = tmp_path / "out.file"
    args += ["--output", output] if args[0] in ("fit", "predict") else []
    result = _run(args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not output.exists()


# Python API: the same problems raise ValueError subclasses with the same messages

def test_python_api_bad_input(tmp_path, model_file):
    frame = pd.read_csv(io.StringIO(GOOD))
    with pytest.raises(FileNotFoundError):
        readers.read_table(tmp_path / "absent.csv")
    with pytest.raises(lk.DataFileError, match="is empty"):
        readers.read_table(_write(tmp_path, "e.csv", " \n"))
    with pytest.raises(lk.DataFileError, match="no target column 'y'"):
        readers.training_data(frame, "y")
    with pytest.raises(lk.DataFileError, match="no feature column 'x9'"):
        readers.training_data(frame, "label", ["x1", "x9"])
    bad = frame.assign(x1=["0.5", "-1", "abc", "2"])
    with pytest.raises(lk.DataFileError, match="'x1' should be numeric but row 2 has the "
                       "value 'abc'"):
        readers.training_data(bad, "label")
    holes = frame.assign(x1=[0.5, np.nan, np.inf, 2.0])
    with pytest.raises(lk.DataFileError, match="missing or infinite value in row 1"):
        readers.training_data(holes, "label")
    kept = readers.training_data(holes, "label", dropna=True)
    assert kept.n_dropped == 2 and list(kept.X["x1"]) == [0.5, 2.0]
    with pytest.raises(ValueError, match="only one class"):
        lk.LogisticRegression().fit(frame[["x1"]], np.ones(4))
    with pytest.raises(lk.DataFileError, match=r"outside the order \['low'\]"):
        readers.training_data(frame.assign(label=["low", "high"] * 2), "label", order=["low"])
    model = lk.load(model_file)
    with pytest.raises(lk.DataFileError, match="'group' has the category 'z' in row 0"):
        readers.prediction_features(frame.assign(group="z"), model)
    with pytest.raises(ValueError, match="categories not seen during fit"):
        model.predict(frame.drop(columns=["label", "id"]).assign(x2=1.0, group="z"))
    later = frame.assign(x1=[np.nan, 1, 2, 3], group=["a", "a", "z", "a"])
    with pytest.raises(lk.DataFileError, match="category 'z' in row 2"):  # rows of the file
        readers.prediction_features(later, model, dropna=True)
    with pytest.raises(lk.DataFileError, match=r"lacks the feature column\(s\) \['x2'\]"):
        readers.prediction_features(frame.drop(columns="x2"), model)
    with pytest.raises(lk.ModelFileError, match="format version 99"):
        lk.load(_wrong_version(model_file))


# --------------------------------------------------------------------------- fuzzing

_cells = st.sampled_from(["0", "1", "2.5", "-1", "", "x", "NA", "inf", "1e400", '"a,b"', '"',
                          "label", "y", "\\", "  ", "ä", "\x00"])
_lines = st.lists(st.lists(_cells, min_size=1, max_size=4).map(",".join), max_size=12)
_tails = st.one_of(st.just(b""), st.binary(max_size=20))


@st.composite
def _tables(draw):
    """CSV text: a valid x,g,y table with a few cells spoilt, or rows of junk."""
    if draw(st.booleans()):
        head = draw(st.sampled_from(["x,y", "y", "x;y", "label,x", ""]))
        return "\n".join([head, *draw(_lines)]) + "\n"
    row = st.tuples(st.sampled_from(["0.5", "1", "2", "-1.5", "3"]), st.sampled_from("ab"),
                    st.sampled_from("01")).map(list)
    rows = draw(st.lists(row, min_size=2, max_size=15))
    for _ in range(draw(st.integers(0, 2))):
        rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, 2))] = draw(_cells)
    return "\n".join(["x,g,y", *map(",".join, rows)]) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(table=_tables(), tail=_tails, flags=st.sampled_from([[], ["--dropna"], ["--alpha", "1"]]))
def test_malformed_csv_never_crashes(tmp_path_factory, table, tail, flags):
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "in.csv"
    path.write_bytes(table.encode() + tail)
    out = tmp / "m.lkm"
    result = _run(["fit", path, "--target", "y", "-o", out, *flags])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2)
    if result.exit_code:
        # notes (e.g. how many rows --dropna dropped) may come first; one error line ends
        lines = result.stderr.splitlines()
        assert lines[-1].startswith("error: ") and "Traceback" not in result.stderr
        assert all(line.startswith(("note: ", " ")) for line in lines[:-1]), result.stderr
        assert not out.exists()
    else:
        assert lk.load(out).n_features_in_ >= 1


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_lines, tail=_tails)
def test_malformed_predict_input_never_crashes(tmp_path_factory, lines, tail):
    tmp = tmp_path_factory.mktemp("fuzz")
    model = lk.LogisticRegression().fit(pd.DataFrame({"x": [0.0, 1, 2, 3]}), [0, 1, 0, 1])
    model.save(tmp / "m.lkm")
    (tmp / "in.csv").write_bytes(("\n".join(["x", *lines]) + "\n").encode() + tail)
    result = _run(["predict", tmp / "m.lkm", tmp / "in.csv", "-o", tmp / "p.csv"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code:
        assert result.exit_code == 2 and result.stderr.startswith("error: ")
        assert not (tmp / "p.csv").exists()
    else:
        assert set(pd.read_csv(tmp / "p.csv")["prediction"]) <= {0, 1}

