"""`logitkit datasets`: the shipped data sets written as files, and their list."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import logitkit as lk
from logitkit import datasets
from logitkit.cli import main
from logitkit.io import model_from_bytes


def _run(args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, prog_name="logitkit")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a CSV file gives it back: categoricals as their labels."""
    return frame.apply(lambda c: c.astype(str) if isinstance(c.dtype, pd.CategoricalDtype)
                       else c)


def test_without_a_name_lists_the_data_sets():
    done = _run(["datasets"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["spector", "ucla", "anes96", "seed"]
    assert lines[0].split()[1:5] == ["32", "rows", "x", "5"]
    assert lines[2].split()[1:5] == ["944", "rows", "x", "11"]
    assert "ordinal outcome apply" in lines[1]


@pytest.mark.parametrize("name", list(datasets.NAMES))
def test_each_data_set_as_csv_equals_the_loader(name, tmp_path):
    out = tmp_path / f"{name}.csv"
    done = _run(["datasets", name, "--output", out])
    assert done.exit_code == 0, done.output
    expected = datasets.load(name)
    assert done.stderr == (f"wrote {out}: the {name} data set, {len(expected)} rows x "
                           f"{expected.shape[1]} columns\n")
    written = pd.read_csv(out)
    pd.testing.assert_frame_equal(written, _plain(expected))
    stdout = _run(["datasets", name])  # the default --output is -
    assert stdout.stdout == out.read_text()


def test_extension_chooses_the_format(tmp_path):
    assert _run(["datasets", "ucla", "-o", tmp_path / "u.parquet"]).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "u.parquet"),
                                  datasets.load_ucla_apply())  # the ordered levels survive
    assert _run(["datasets", "anes96", "-o", tmp_path / "a.tsv"]).exit_code == 0
    tsv = pd.read_csv(tmp_path / "a.tsv", sep="\t")
    pd.testing.assert_frame_equal(tsv, datasets.load_anes96())


def test_names_are_case_insensitive():
    assert _run(["datasets", "Spector"]).stdout == _run(["datasets", "spector"]).stdout


def test_refusals_are_one_line(tmp_path):
    unknown = _run(["datasets", "iris"])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: Invalid value for '[NAME]': 'iris' is not one "
                                     "of 'spector', 'ucla', 'anes96', 'seed'")
    assert len(unknown.stderr.splitlines()) == 1
    no_name = _run(["datasets", "--output", tmp_path / "x.csv"])
    assert no_name.exit_code == 2
    assert no_name.stderr == ("error: --output needs a data set NAME; run 'logitkit "
                              "datasets' for the list\n")
    missing = tmp_path / "no" / "such" / "x.csv"
    bad_dir = _run(["datasets", "seed", "-o", missing])
    assert bad_dir.exit_code == 2 and bad_dir.stderr.startswith("error: ")
    assert not missing.parent.exists() and not (tmp_path / "x.csv").exists()


def test_written_file_fits_as_the_python_api_does(tmp_path):
    data, model = tmp_path / "spector.csv", tmp_path / "spector.lkm"
    assert _run(["datasets", "spector", "--output", data]).exit_code == 0
    assert _run(["fit", data, "--target", "GRADE", "--id", "OBS", "-o", model]).exit_code == 0
    spector = lk.datasets.load_spector()
    expected = lk.LogisticRegression().fit(spector[["GPA", "TUCE", "PSI"]], spector["GRADE"])
    np.testing.assert_array_equal(lk.load(model).coef_, expected.coef_)
    from_stdin = _run(["fit", "-", "--target", "GRADE", "--id", "OBS", "-o", "-"],
                      input=_run(["datasets", "spector"]).stdout)
    assert from_stdin.exit_code == 0
    piped = model_from_bytes(from_stdin.stdout_bytes, "<stdout>")
    np.testing.assert_array_equal(piped.coef_, expected.coef_)
