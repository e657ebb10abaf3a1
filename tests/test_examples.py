"""Every example script runs (small sizes) and writes its PNG, with honest titles."""

import re
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
# What the figures of a --small run say (and must not say: the full-size settings).
SMALL_TITLES = {
    "sigmoid_1d": (["3 epochs", "200 points"], ["30 epochs", "2000 points"]),
    "decision_boundary_2d": (["5 epochs", "200 points"], ["50 epochs", "2000 points"]),
    "softmax_3class": (["5 epochs", "90 points"], ["50 epochs", "300 points"]),
    "gradient_descent_table": (["50 steps"], ["1000 steps"]),
    "linear_vs_logistic": (["20 points", "26 points"], ["40 points", "52 points"]),
}


def _main(script):
    return runpy.run_path(str(script), run_name="example")["main"]


def test_there_are_five_examples():
    assert {p.stem for p in SCRIPTS} == set(SMALL_TITLES)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_writes_its_png_with_honest_titles(script, tmp_path, capsys):
    main = _main(script)
    titles = []
    save_figure = main.__globals__["save_figure"]

    def spy(fig, path):
        titles.extend(ax.get_title() for ax in fig.axes)
        return save_figure(fig, path)

    main.__globals__["save_figure"] = spy
    out = main(small=True, out=tmp_path / f"{script.stem}.png")
    assert out.read_bytes()[:8] == PNG and out.stat().st_size > 5000
    assert "Wrote" in capsys.readouterr().out
    text = " | ".join(titles)
    said, not_said = SMALL_TITLES[script.stem]
    assert all(claim in text for claim in said), text
    assert not any(re.search(rf"\b{claim}", text) for claim in not_said), text


def test_sigmoid_1d_prints_the_weight_and_the_bias(tmp_path, capsys):
    main = _main(EXAMPLES / "sigmoid_1d.py")
    models = []
    plot = main.__globals__["plot_sigmoid_fit"]

    def spy(model, *args, **kwargs):
        models.append(model)
        return plot(model, *args, **kwargs)

    main.__globals__["plot_sigmoid_fit"] = spy
    main(small=True, out=tmp_path / "fig.png")
    printed = capsys.readouterr().out
    match = re.search(r"weight w = (\S+), bias b = (\S+)\n", printed)
    assert match, printed
    (model,) = models
    w, b = float(match.group(1)), float(match.group(2))
    assert w == round(model.coef_[0, 0], 4) and b == round(model.intercept_[0], 4)
    kernel, bias = model.get_weights()  # the seed's Keras names for the same numbers
    assert (kernel[0, 0], bias[0]) == (model.coef_[0, 0], model.intercept_[0])
    assert f"x = -b / w = {-model.intercept_[0] / model.coef_[0, 0]:.3f}" in printed


def test_example_runs_as_a_script_and_creates_the_out_folder(tmp_path):
    out = tmp_path / "figures" / "new" / "fig.png"
    done = subprocess.run([sys.executable, str(EXAMPLES / "sigmoid_1d.py"), "--small", "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Trained parameters" in done.stdout and out.read_bytes()[:8] == PNG


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_without_matplotlib_says_which_extra_it_needs(script):
    assert "``[plot]`` extra" in script.read_text().split('"""')[1]  # the docstring
    block = ("import runpy, sys; sys.modules['matplotlib'] = None; "  # import fails
             f"sys.argv = [{str(script)!r}, '--small']; "
             f"runpy.run_path({str(script)!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                          timeout=60, cwd=EXAMPLES)
    assert done.returncode == 1
    assert done.stderr == ("This example needs matplotlib, the [plot] extra: "
                           "pip install 'logitkit[plot]'\n")
    assert done.stdout == ""
