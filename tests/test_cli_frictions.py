"""First-hour frictions of the command line: evaluate on one class, --kind and --order
messages, every solver, columns in another order."""

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import logitkit as lk
from logitkit.cli import fit as fit_command
from logitkit.cli import main
from logitkit.estimators import _SOLVERS

ORDER = ["unlikely", "somewhat likely", "very likely"]


def _run(args):
    """The CLI's result, with every warning raised during the run recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, [str(a) for a in args], prog_name="logitkit")
    result.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("frictions")
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame({"x1": rng.normal(size=n).round(3), "x2": rng.normal(size=n).round(3),
                          "color": rng.choice(["red", "blue", "green"], size=n)})
    eta = frame["x1"] - 0.5 * frame["x2"] + (frame["color"] == "red")
    frame["label"] = (eta + rng.logistic(size=n) > 0.3).astype(int)
    frame["animal"] = np.array(["cat", "dog", "fish"])[
        np.digitize(eta + rng.logistic(size=n), [0.0, 1.2])]
    frame.to_csv(root / "train.csv", index=False)
    for target in ("label", "animal"):
        result = _run(["fit", root / "train.csv", "--target", target, "--features",
                       "x1,x2,color", "-o", root / f"{target}.lkm"])
        assert result.exit_code == 0, result.output
    return root, frame


def test_evaluate_on_one_class_says_auc_is_undefined_without_a_warning(files, tmp_path):
    root, frame = files
    ones = frame[frame["label"] == 1]
    ones.to_csv(tmp_path / "ones.csv", index=False)
    text = _run(["evaluate", root / "label.lkm", tmp_path / "ones.csv"])
    assert text.exit_code == 0 and text.warnings == [], (text.output, text.warnings)
    assert "AUC:       undefined (the data hold one class)\n" in text.stdout
    model = lk.load(root / "label.lkm")
    accuracy = np.mean(model.predict(ones[["x1", "x2", "color"]]) == 1)
    assert f"accuracy:  {accuracy:.4f} ({int(round(accuracy * len(ones)))}/{len(ones)})" \
        in text.stdout
    as_json = _run(["evaluate", root / "label.lkm", tmp_path / "ones.csv", "--format", "json"])
    assert as_json.warnings == []
    scores = json.loads(as_json.stdout)
    assert scores["auc"] is None and scores["confusion_matrix"][0] == [0, 0]


def test_evaluate_a_multinomial_model_on_data_lacking_a_class(files, tmp_path):
    root, frame = files
    frame[frame["animal"] != "fish"].to_csv(tmp_path / "no_fish.csv", index=False)
    text = _run(["evaluate", root / "animal.lkm", tmp_path / "no_fish.csv"])
    assert text.exit_code == 0 and text.warnings == [], (text.output, text.warnings)
    assert "AUC:       undefined (no rows of the class(es) ['fish'])\n" in text.stdout


def test_evaluate_counts_the_models_threshold(files, tmp_path):
    root, frame = files
    _run(["fit", root / "train.csv", "--target", "label", "--features", "x1,x2,color",
          "--threshold", "0.3", "-o", tmp_path / "t.lkm"])
    scores = json.loads(_run(["evaluate", tmp_path / "t.lkm", root / "train.csv",
                              "--format", "json"]).stdout)
    model = lk.load(tmp_path / "t.lkm")
    p1 = model.predict_proba(frame[["x1", "x2", "color"]])[:, 1]
    assert scores["accuracy"] == pytest.approx(np.mean((p1 >= 0.3) == frame["label"]))
    assert scores["accuracy"] != pytest.approx(np.mean((p1 >= 0.5) == frame["label"]))


def test_kind_multinomial_on_two_classes_is_refused(files):
    root, _ = files
    result = _run(["fit", root / "train.csv", "--target", "label", "--features", "x1,x2",
                   "--kind", "multinomial", "-o", root / "never.lkm"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --kind multinomial needs a target with 3 or more classes; 'label' has 2: "
        "['0', '1']. With two classes the multinomial logit is the binary logit: use --kind "
        "binary (or leave --kind out)\n")
    assert not (root / "never.lkm").exists()


def test_the_order_hint_quotes_the_targets_levels(tmp_path, ucla):
    ucla.assign(apply=ucla["apply"].astype(str)).to_csv(tmp_path / "u.csv", index=False)
    result = _run(["fit", tmp_path / "u.csv", "--target", "apply", "--kind", "ordinal",
                   "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 2
    assert ('give its 3 levels from lowest to highest with --order "somewhat likely,unlikely,'
            'very likely" (here sorted alphabetically: put them in their real order)') \
        in result.stderr
    followed = _run(["fit", tmp_path / "u.csv", "--target", "apply", "--order",
                     ",".join(ORDER), "-o", tmp_path / "m.lkm"])
    assert followed.exit_code == 0, followed.output
    assert list(lk.load(tmp_path / "m.lkm").classes_) == ORDER


def test_fit_solver_accepts_every_solver_of_the_python_api(files, tmp_path):
    root, _ = files
    choices = next(p for p in fit_command.params if p.name == "solver").type.choices
    assert tuple(choices) == _SOLVERS
    for solver in _SOLVERS:
        extra = ["--epochs", "2", "--seed", "0"] if solver not in (
            "auto", "newton", "newton-cg", "lbfgs", "prox-newton") else []
        result = _run(["fit", root / "train.csv", "--target", "label", "--features", "x1,x2",
                       "--solver", solver, *extra, "-o", tmp_path / f"{solver}.lkm"])
        assert result.exit_code == 0, (solver, result.output)
        fitted = lk.load(tmp_path / f"{solver}.lkm").result_.solver
        assert fitted == solver or (solver == "auto" and fitted == "newton")


def test_predict_selects_the_models_columns_by_name(files, tmp_path):
    root, frame = files
    shuffled = frame[["color", "animal", "x2", "label", "x1"]].assign(extra=1.5)
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    outputs = [_run(["predict", root / "label.lkm", path, "--proba"])
               for path in (root / "train.csv", tmp_path / "shuffled.csv")]
    assert all(out.exit_code == 0 for out in outputs)
    first, second = (pd.read_csv(io.StringIO(out.stdout)) for out in outputs)
    pd.testing.assert_frame_equal(first, second)
    model = lk.load(root / "label.lkm")
    np.testing.assert_allclose(second["proba_1"],
                               model.predict_proba(frame[["x1", "x2", "color"]])[:, 1],
                               rtol=1e-12)
