"""``logitkit cv`` end to end (the table, the model file, the results file, errors) and
``logitkit fit --l1-ratio``."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import logitkit as lk
from logitkit.cli import main

ORDER = ["unlikely", "somewhat likely", "very likely"]


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n).round(3), "x2": rng.normal(size=n).round(3),
                          "noise": rng.normal(size=n).round(3),
                          "group": rng.choice(["a", "b", "c"], size=n)})
    eta = 1.5 * frame["x1"] - frame["x2"] + (frame["group"] == "b")
    frame["label"] = np.where(eta + rng.logistic(size=n) > 0, "yes", "no")
    frame["level"] = np.array(ORDER)[np.digitize(eta + rng.logistic(size=n), [-1, 1])]
    return frame


def _invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _run(*args):
    result = _invoke(*args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    _frame().to_csv(root / "data.csv", index=False)
    return root


def test_cv_binary_end_to_end(data):
    features = ["x1", "x2", "noise", "group"]
    code, out, err = _run("cv", str(data / "data.csv"), "--target", "label", "--features",
                          ",".join(features), "--l1-ratios", "0.5,1", "--folds", "3",
                          "--n-alphas", "8", "--rule", "1se", "--seed", "2",
                          "-o", str(data / "model.lkm"), "--results", str(data / "cv.csv"))
    assert code == 0, err
    frame = pd.read_csv(data / "data.csv")
    expected = lk.LogisticRegressionCV(l1_ratios=[0.5, 1.0], n_alphas=8, cv=3, rule="1se",
                                       random_state=2).fit(frame[features], frame["label"])
    lines = out.splitlines()
    assert lines[0] == "3-fold cross-validation, score: neg_log_loss (greater is better)"
    assert lines[1].split() == ["l1_ratio", "alpha", "mean_score", "se_score", "n_nonzero",
                                "chosen"]
    assert len(lines) == 2 + 16 + 1
    chosen = lines[2 + expected.best_index_].split()
    assert chosen[-1] == "*" and float(chosen[1]) == pytest.approx(expected.alpha_, rel=1e-3)
    assert lines[-1] == (f"chosen (rule 1se): alpha={expected.alpha_:.6g}, l1_ratio="
                         f"{expected.l1_ratio_:g}, mean score {expected.best_score_:.5f}")
    assert f"wrote {data / 'model.lkm'}: binary logit model of label on 4 feature(s)" in err
    model = lk.load(data / "model.lkm")
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-10, atol=1e-14)
    assert model.get_params()["l1_ratio"] == expected.l1_ratio_
    pd.testing.assert_frame_equal(pd.read_csv(data / "cv.csv"), expected.cv_results_,
                                  check_exact=False, rtol=1e-10)


def test_cv_ordinal_json_and_model_to_stdout(data):
    code, out, err = _run("cv", str(data / "data.csv"), "--target", "level", "--features",
                          "x1,x2,noise", "--order", ",".join(ORDER), "--l1-ratios", "1",
                          "--folds", "3", "--n-alphas", "6", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    frame = pd.read_csv(data / "data.csv")
    y = pd.Categorical(frame["level"], categories=ORDER, ordered=True)
    expected = lk.OrdinalLogisticRegressionCV(n_alphas=6, cv=3, random_state=0).fit(
        frame[["x1", "x2", "noise"]], y)
    assert document["alpha"] == pytest.approx(expected.alpha_, rel=1e-12)
    assert (document["rule"], document["folds"], len(document["results"])) == ("min", 3, 6)
    assert set(document["results"][0]) >= {"l1_ratio", "alpha", "mean_score", "split2_score"}
    # -o -: the model on stdout, the table on stderr
    piped = _invoke("cv", str(data / "data.csv"), "--target", "level", "--features",
                    "x1,x2,noise", "--order", ",".join(ORDER), "--folds", "3",
                    "--n-alphas", "6", "-o", "-")
    assert piped.exit_code == 0 and "chosen (rule min)" in piped.stderr
    model = lk.load(io.BytesIO(piped.stdout_bytes))
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-10)


@pytest.mark.parametrize(("args", "message"), [
    (["--l1-ratios", "0.5,2"], "--l1-ratios takes comma-separated numbers in [0, 1]"),
    (["--l1-ratios", "a"], "--l1-ratios takes comma-separated numbers"),
    (["--folds", "1"], "Invalid value for '--folds'"),
    (["--scoring", "nonsense"], "'nonsense' is not a valid scoring value"),
    (["--kind", "multinomial", "--link", "probit"], "--link applies to binary and ordinal"),
    (["--kind", "multinomial"], "--kind multinomial needs a target with 3 or more classes"),
])
def test_cv_refuses_bad_input(data, args, message):
    code, out, err = _run("cv", str(data / "data.csv"), "--target", "label", "--n-alphas", "3",
                          *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err


def test_fit_l1_ratio(data):
    code, _, err = _run("fit", str(data / "data.csv"), "--target", "label", "--features",
                        "x1,x2,noise", "--alpha", "0.1", "--l1-ratio", "1",
                        "-o", str(data / "lasso.lkm"))
    assert code == 0, err
    frame = pd.read_csv(data / "data.csv")
    expected = lk.LogisticRegression(alpha=0.1, l1_ratio=1.0).fit(
        frame[["x1", "x2", "noise"]], frame["label"])
    model = lk.load(data / "lasso.lkm")
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-10, atol=1e-14)
    assert model.coef_[0, 2] == 0.0 and model.coef_[0, 0] > 0  # the lasso drops the noise
    code, _, err = _run("fit", str(data / "data.csv"), "--target", "label", "--l1-ratio", "2",
                        "-o", str(data / "x.lkm"))
    assert code == 2 and "Invalid value for '--l1-ratio'" in err
