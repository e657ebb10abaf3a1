"""Every example script runs (small sizes) and writes its PNG."""

import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
PNG = b"\x89PNG\r\n\x1a\n"


def test_there_are_five_examples():
    assert {p.stem for p in SCRIPTS} >= {"sigmoid_1d", "decision_boundary_2d", "softmax_3class",
                                         "gradient_descent_table", "linear_vs_logistic"}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_writes_its_png(script, tmp_path, capsys):
    main = runpy.run_path(str(script), run_name="example")["main"]
    out = main(small=True, out=tmp_path / f"{script.stem}.png")
    assert out.read_bytes()[:8] == PNG and out.stat().st_size > 5000
    assert "Wrote" in capsys.readouterr().out


def test_example_runs_as_a_script(tmp_path):
    out = tmp_path / "fig.png"
    done = subprocess.run([sys.executable, str(EXAMPLES / "sigmoid_1d.py"), "--small", "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Trained parameters" in done.stdout and out.read_bytes()[:8] == PNG
