"""The decision threshold of binary LogisticRegression: predict, model files, the CLI and
scikit-learn's TunedThresholdClassifierCV."""

import hashlib
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split

import logitkit as lk
from logitkit.cli import main
from logitkit.io import model_from_bytes, model_to_bytes


def _imbalanced(n=2000, seed=0):
    """(X (n, 3), y (n,)) with about 12% positives."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X @ [1.0, -0.8, 0.5] - 2.5 + rng.logistic(size=n) > 0).astype(int)
    return X, y


def test_predict_uses_the_threshold_with_ties_to_the_positive_class():
    X, y = _imbalanced(400)
    labels = np.where(y == 1, "yes", "no")
    default = lk.LogisticRegression().fit(X, labels)
    p1 = default.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(default.predict(X), np.where(p1 >= 0.5, "yes", "no"))
    for threshold in (0.1, 0.3, 0.9):
        model = lk.LogisticRegression(threshold=threshold).fit(X, labels)
        np.testing.assert_array_equal(model.predict_proba(X)[:, 1], p1)
        np.testing.assert_array_equal(model.predict(X), np.where(p1 >= threshold, "yes", "no"))
    # a probability exactly at the threshold gives the positive class (>=)
    model = lk.LogisticRegression(threshold=float(p1[0])).fit(X, labels)
    assert model.predict(X[:1])[0] == "yes"
    assert (model.predict(X) == "yes").sum() == (p1 >= p1[0]).sum()


@pytest.mark.parametrize("threshold", [0, 1, 0.0, 1.0, -0.2, 1.5, float("nan"), "0.3", None])
def test_invalid_thresholds_are_refused_at_fit_not_in_init(threshold):
    X, y = _imbalanced(200)
    model = lk.LogisticRegression(threshold=threshold)
    assert model.get_params()["threshold"] is threshold  # stored unchanged
    with pytest.raises(ValueError, match=r"threshold must be a number in \(0, 1\), got"):
        model.fit(X, y)


def test_multinomial_fits_refuse_a_threshold():
    X, y = _imbalanced(300)
    y3 = y + (X[:, 0] > 1)
    with pytest.raises(ValueError, match=r"threshold=0.3 applies to binary fits; y has 3 "
                                         r"classes .*leave threshold at 0.5"):
        lk.LogisticRegression(threshold=0.3).fit(X, y3)
    model = lk.LogisticRegression().fit(X, y3)  # the default is fine
    np.testing.assert_array_equal(model.predict(X), np.argmax(model.predict_proba(X), axis=1))


def test_model_files_keep_the_threshold_and_old_files_load_with_0_5():
    X, y = _imbalanced(300)
    model = lk.LogisticRegression(threshold=0.2).fit(X, y)
    loaded = model_from_bytes(model_to_bytes(model))
    assert loaded.threshold == 0.2
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # a file written before the parameter existed: no "threshold" among its params
    with zipfile.ZipFile(io.BytesIO(model_to_bytes(model))) as zf:
        meta, npz = json.loads(zf.read("metadata.json")), zf.read("arrays.npz")
    del meta["params"]["threshold"]
    old = model_from_bytes(_rebuild(meta, npz))
    assert old.threshold == 0.5
    np.testing.assert_array_equal(old.predict(X), (model.predict_proba(X)[:, 1] >= 0.5))
    meta["params"]["threshold"] = {"t": "float", "v": "1.5"}
    with pytest.raises(lk.ModelFileError, match=r"threshold 1.5 is not in \(0, 1\)"):
        model_from_bytes(_rebuild(meta, npz))


def _rebuild(meta, npz) -> bytes:
    """A model file of ``meta`` (digest recomputed) and the arrays ``npz``."""
    rest = {k: v for k, v in meta.items() if k != "integrity"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    meta["integrity"]["metadata_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        zf.writestr(zipfile.ZipInfo("arrays.npz"), npz)
    return out.getvalue()


def test_tuned_threshold_classifier_cv_improves_balanced_accuracy():
    X, y = _imbalanced()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0,
                                                        stratify=y)
    tuned = TunedThresholdClassifierCV(lk.LogisticRegression(), scoring="balanced_accuracy",
                                       thresholds=50, cv=5).fit(X_train, y_train)
    assert 0.05 < tuned.best_threshold_ < 0.3  # positives are rare: a low cut
    plain = lk.LogisticRegression().fit(X_train, y_train)
    before = balanced_accuracy_score(y_test, plain.predict(X_test))
    after = balanced_accuracy_score(y_test, tuned.predict(X_test))
    assert after > before + 0.08, (before, after)
    # the tuned cut, set on our estimator, predicts exactly what the wrapper predicts
    ours = clone(plain).set_params(threshold=tuned.best_threshold_).fit(X_train, y_train)
    np.testing.assert_array_equal(ours.predict(X_test), tuned.predict(X_test))


def test_cli_fit_threshold_is_kept_and_predict_threshold_overrides_it(tmp_path):
    X, y = _imbalanced(300)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "label",
                                  "--threshold", "0.25", "-o", str(tmp_path / "m.lkm")])
    assert result.exit_code == 0, result.output
    model = lk.load(tmp_path / "m.lkm")
    assert model.threshold == 0.25
    p1 = model.predict_proba(frame[["a", "b", "c"]])[:, 1]
    for extra, cut in (([], 0.25), (["--threshold", "0.6"], 0.6)):
        out = runner.invoke(main, ["predict", str(tmp_path / "m.lkm"), str(tmp_path / "d.csv"),
                                   *extra])
        assert out.exit_code == 0, out.output
        predicted = pd.read_csv(io.StringIO(out.stdout))["prediction"].to_numpy()
        np.testing.assert_array_equal(predicted, (p1 >= cut).astype(int))
        assert 0 < (p1 >= cut).sum() < len(p1)


def test_cli_predict_threshold_refusals(tmp_path):
    X, y = _imbalanced(300)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    runner = CliRunner()
    runner.invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "label", "-o",
                         str(tmp_path / "m.lkm")])
    result = runner.invoke(main, ["predict", str(tmp_path / "m.lkm"), str(tmp_path / "d.csv"),
                                  "--threshold", "1"])
    assert result.exit_code == 2
    assert "Invalid value for '--threshold': 1.0 is not in the range 0<x<1" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--threshold", "0"], "Invalid value for '--threshold': 0.0 is not in the range 0<x<1"),
    (["--threshold", "0.3", "--kind", "multinomial"],
     "--threshold applies to binary models; 'label' has 3 classes and --kind is multinomial"),
    (["--threshold", "0.3"], "--threshold applies to binary models; 'label' has 3 classes"),
])
def test_cli_fit_threshold_refusals(tmp_path, args, message):
    X, y = _imbalanced(300)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y + (X[:, 0] > 1))
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = CliRunner().invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "label",
                                       *args, "-o", str(tmp_path / "m.lkm")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "m.lkm").exists()
