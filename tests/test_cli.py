"""The logitkit command: round trips against the Python API, and clean refusals."""

import io
import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import chi2
from sklearn.metrics import confusion_matrix, log_loss, roc_auc_score

import logitkit as lk
from logitkit.cli import _plain, _status, main
from logitkit.inference import COV_TYPES

ORDER = ["unlikely", "somewhat likely", "very likely"]


def _binary_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": [f"r{i:03d}" for i in range(n)],
        "x1": rng.normal(size=n).round(3),
        "x2": rng.integers(0, 10, size=n),
        "group": rng.choice(["a", "b", "c"], size=n),
    })
    eta = frame["x1"] + 0.2 * frame["x2"] - 1 + (frame["group"] == "b")
    frame["label"] = (eta + rng.logistic(size=n) > 0).astype(int)
    return frame


def _multinomial_frame(n=150, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n).round(3), "x2": rng.normal(size=n).round(3),
                          "color": rng.choice(["red", "blue"], size=n)})
    scores = np.column_stack([np.zeros(n), frame["x1"], frame["x2"] + (frame["color"] == "red")])
    choice = np.argmax(scores + rng.gumbel(size=(n, 3)), axis=1)
    frame["animal"] = np.array(["cat", "dog", "fish"])[choice]
    return frame


@pytest.fixture(scope="module")
def data(tmp_path_factory, ucla):
    """Training files for the three kinds, as CSV and Parquet, and the Python fits."""
    root = tmp_path_factory.mktemp("data")
    ordinal = ucla.assign(apply=ucla["apply"].astype(str))
    frames = {"binary": _binary_frame(), "multinomial": _multinomial_frame(),
              "ordinal": ordinal}
    targets = {"binary": "label", "multinomial": "animal", "ordinal": "apply"}
    for kind, frame in frames.items():
        frame.to_csv(root / f"{kind}.csv", index=False)
        frame.to_parquet(root / f"{kind}.parquet", index=False)
    return root, frames, targets


def _python_fit(kind, frame, target):
    features = frame.drop(columns=[target, "id"], errors="ignore")
    if kind == "ordinal":
        y = pd.Series(pd.Categorical(frame[target], categories=ORDER, ordered=True),
                      name=target)
        return lk.OrdinalLogisticRegression().fit(features, y), features
    return lk.LogisticRegression().fit(features, frame[target]), features


def _run(args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, prog_name="logitkit")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_round_trip_equals_python_api(data, tmp_path, kind, fmt):
    root, frames, targets = data
    frame, target = frames[kind], targets[kind]
    source, model_path = root / f"{kind}.{fmt}", tmp_path / "model.lkm"
    args = ["fit", source, "--target", target, "--output", model_path]
    if kind == "ordinal":
        args += ["--order", ",".join(ORDER)]
    fitted = _run(args)
    assert fitted.exit_code == 0, fitted.output
    assert f"wrote {model_path}" in fitted.stderr
    expected, X = _python_fit(kind, frame, target)
    model = lk.load(model_path)
    assert list(model.classes_) == list(expected.classes_)
    np.testing.assert_array_equal(model.coef_, expected.coef_)

    summary = _run(["summary", model_path])
    assert summary.stdout == str(expected.summary()) + "\n"
    as_json = json.loads(_run(["summary", model_path, "--format", "json"]).stdout)
    coefs = [row["coef"] for row in as_json["coefficients"]]
    np.testing.assert_array_equal(coefs, expected.summary().table["coef"].to_numpy())

    predicted = _run(["predict", model_path, source, "--proba", "-o", tmp_path / "p.csv"])
    assert predicted.exit_code == 0, predicted.output
    out = pd.read_csv(tmp_path / "p.csv")
    proba = expected.predict_proba(X)
    columns = [f"proba_{c}" for c in expected.classes_]
    assert list(out.columns) == [("id" if kind == "binary" else "row"), "prediction", *columns]
    np.testing.assert_array_equal(out[columns].to_numpy(), proba)
    assert list(out["prediction"]) == list(expected.predict(X))
    if kind == "binary":
        assert list(out["id"]) == list(frame["id"])

    evaluated = _run(["evaluate", model_path, source, "--format", "json"])
    scores = json.loads(evaluated.stdout)
    codes = np.array([list(expected.classes_).index(v) for v in frame[target]])
    assert scores["n"] == len(frame)
    assert scores["log_loss"] == pytest.approx(log_loss(codes, proba), rel=1e-12)
    assert scores["accuracy"] == expected.score(X, frame[target].to_numpy())
    auc = (roc_auc_score(codes, proba[:, 1]) if kind == "binary"
           else roc_auc_score(codes, proba, multi_class="ovr"))
    assert scores["auc"] == pytest.approx(auc, rel=1e-12)
    assert scores["confusion_matrix"] == confusion_matrix(codes, proba.argmax(1)).tolist()
    assert scores["classes"] == list(expected.classes_)
    text = _run(["evaluate", model_path, source]).stdout
    assert f"accuracy:  {scores['accuracy']:.4f}" in text and "confusion matrix" in text


def test_stdin_and_stdout(data):
    root, frames, _ = data
    csv_text = (root / "binary.csv").read_text()
    fitted = _run(["fit", "-", "--target", "label", "--output", "-"], input=csv_text)
    assert fitted.exit_code == 0, fitted.stderr
    model = lk.load(io.BytesIO(fitted.stdout_bytes))
    expected, X = _python_fit("binary", frames["binary"], "label")
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    summary = _run(["summary", "-"], input=fitted.stdout_bytes)
    assert summary.stdout == str(expected.summary()) + "\n"
    predicted = _run(["predict", root / "binary.parquet", "-"], input=csv_text)
    assert predicted.exit_code == 2 and "error: " in predicted.stderr  # a CSV is no model
    model.save(root / "stdin.lkm")
    predicted = _run(["predict", root / "stdin.lkm", "-"], input=csv_text)
    out = pd.read_csv(io.StringIO(predicted.stdout))
    assert list(out["prediction"]) == list(expected.predict(X))


def test_predictions_as_tsv_and_parquet(data, tmp_path):
    root, _, _ = data
    _run(["fit", root / "multinomial.csv", "--target", "animal", "-o", tmp_path / "m.lkm"])
    written = {}
    for name in ("p.csv", "p.tsv", "p.parquet"):
        result = _run(["predict", tmp_path / "m.lkm", root / "multinomial.parquet", "--proba",
                       "-o", tmp_path / name])
        assert result.exit_code == 0, result.output
        written[name] = (pd.read_parquet(tmp_path / name) if name.endswith("parquet") else
                         pd.read_csv(tmp_path / name, sep="\t" if name.endswith("tsv") else ","))
    pd.testing.assert_frame_equal(written["p.csv"], written["p.tsv"])
    pd.testing.assert_frame_equal(written["p.csv"], written["p.parquet"], check_dtype=False)


def test_sniffed_separators_and_tsv(data, tmp_path):
    _, frames, _ = data
    frame = frames["binary"]
    frame.to_csv(tmp_path / "semi.txt", sep=";", index=False)
    frame.to_csv(tmp_path / "tabs.tsv", sep="\t", index=False)
    frame.to_csv(tmp_path / "pipes.dat", sep="|", index=False)
    coefs = []
    for name, extra in (("semi.txt", []), ("tabs.tsv", []), ("pipes.dat", ["--sep", "|"])):
        result = _run(["fit", tmp_path / name, "--target", "label", "-o", tmp_path / "m.lkm",
                       *extra])
        assert result.exit_code == 0, result.output
        coefs.append(lk.load(tmp_path / "m.lkm").coef_)
    np.testing.assert_array_equal(coefs[0], coefs[1])
    np.testing.assert_array_equal(coefs[0], coefs[2])


def test_threshold(data, tmp_path):
    root, frames, _ = data
    model_path = tmp_path / "m.lkm"
    _run(["fit", root / "binary.csv", "--target", "label", "-o", model_path])
    expected, X = _python_fit("binary", frames["binary"], "label")
    p1 = expected.predict_proba(X)[:, 1]
    for threshold in (0.05, 0.3, 0.95):
        out = _run(["predict", model_path, root / "binary.csv", "--threshold", threshold])
        labels = pd.read_csv(io.StringIO(out.stdout))["prediction"].to_numpy()
        np.testing.assert_array_equal(labels, (p1 >= threshold).astype(int))
    _run(["fit", root / "multinomial.csv", "--target", "animal", "-o", model_path])
    out = _run(["predict", model_path, root / "multinomial.csv", "--threshold", "0.3"])
    assert out.exit_code == 2
    assert out.stderr == ("error: --threshold applies to binary logit models; this one is a "
                          "multinomial logit model with 3 classes\n")


def test_options_reach_the_estimator(data, tmp_path):
    root, frames, _ = data
    frame = frames["binary"].assign(w=np.arange(120) % 3)
    frame.to_csv(tmp_path / "w.csv", index=False)
    result = _run(["fit", tmp_path / "w.csv", "--target", "label", "--features", "x1,x2",
                   "--categorical", "x2", "--weights", "w", "--alpha", "0.1", "--solver",
                   "lbfgs", "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 0, result.output
    model = lk.load(tmp_path / "m.lkm")
    assert model.get_params()["alpha"] == 0.1 and model.result_.solver == "lbfgs"
    assert model.coef_names_ == ["x1"] + [f"x2[{k}]" for k in range(1, 10)]
    X = frame[["x1", "x2"]].astype({"x2": object})
    expected = lk.LogisticRegression(alpha=0.1, solver="lbfgs").fit(
        X, frame["label"], sample_weight=frame["w"].to_numpy(float))
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-12)
    out = _run(["predict", tmp_path / "m.lkm", tmp_path / "w.csv", "--proba"])
    proba = pd.read_csv(io.StringIO(out.stdout))[["proba_0", "proba_1"]].to_numpy()
    np.testing.assert_allclose(proba, expected.predict_proba(X), rtol=1e-10)


def test_link_clusters_and_covariance_types_equal_python_api(data, tmp_path):
    """fit --link / --clusters and summary --cov-type give what the estimators give; the
    clusters column is no feature."""
    root, frames, _ = data
    frame = frames["ordinal"].assign(school=np.arange(len(frames["ordinal"])) % 20)
    frame.to_csv(tmp_path / "o.csv", index=False)
    result = _run(["fit", tmp_path / "o.csv", "--target", "apply", "--order", ",".join(ORDER),
                   "--link", "probit", "--clusters", "school", "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 0, result.output
    assert "ordinal probit model" in result.stderr
    model = lk.load(tmp_path / "m.lkm")
    assert model.coef_names_ == ["pared", "public", "gpa"]
    y = pd.Series(pd.Categorical(frame["apply"], categories=ORDER, ordered=True), name="apply")
    expected = lk.OrdinalLogisticRegression(link="probit").fit(
        frame[["pared", "public", "gpa"]], y, clusters=frame["school"].to_numpy())
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-12)
    for cov_type in COV_TYPES:
        summary = _run(["summary", tmp_path / "m.lkm", "--cov-type", cov_type])
        if cov_type in ("HC2", "HC3"):  # GLM hat values: binary fits only
            assert summary.exit_code == 2
            assert f'cov_type="{cov_type}" needs GLM hat values' in summary.stderr
            continue
        assert summary.exit_code == 0, summary.output
        assert summary.stdout == str(expected.summary(cov_type=cov_type)) + "\n"
        if "cluster" in cov_type:
            assert f"{cov_type} (20 clusters)" in summary.stdout


def test_link_and_cluster_covariance_refused_where_they_do_not_apply(data, tmp_path):
    root, _, _ = data
    binary = root / "binary.csv"
    multinomial = root / "multinomial.csv"
    result = _run(["fit", multinomial, "--target", "animal", "--kind", "multinomial",
                   "--link", "probit", "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 2 and "--link applies to binary and ordinal" in result.stderr
    result = _run(["fit", multinomial, "--target", "animal", "--link", "cloglog", "-o",
                   tmp_path / "m.lkm"])
    assert result.exit_code == 2 and "link='cloglog' applies to binary fits" in result.stderr
    assert not (tmp_path / "m.lkm").exists()
    result = _run(["fit", binary, "--target", "label", "--link", "probit", "-o",
                   tmp_path / "probit.lkm"])
    assert result.exit_code == 0 and "binary probit model" in result.stderr
    summary = _run(["summary", tmp_path / "probit.lkm"])
    assert "Probit regression results" in summary.stdout
    result = _run(["fit", binary, "--target", "label", "--clusters", "label", "-o",
                   tmp_path / "m.lkm"])
    assert result.exit_code == 2 and "cannot be both the clusters column" in result.stderr
    result = _run(["fit", binary, "--target", "label", "--clusters", "school", "-o",
                   tmp_path / "m.lkm"])
    assert result.exit_code == 2 and "no clusters column 'school'" in result.stderr
    _run(["fit", binary, "--target", "label", "-o", tmp_path / "m.lkm"])
    for cov_type in ("cluster", "stata-cluster"):
        result = _run(["summary", tmp_path / "m.lkm", "--cov-type", cov_type])
        assert result.exit_code == 2
        assert f"--cov-type {cov_type} needs a model fitted with --clusters" in result.stderr
    result = _run(["summary", tmp_path / "m.lkm", "--cov-type", "HC3"])
    assert result.exit_code == 0 and "Covariance HC3 = B [sum_i s_i s_i'/(1-h_i)^2] B" in \
        result.stdout.replace("\n", " ")


def test_multinomial_json_summary_names_the_class(data, tmp_path):
    root, _, _ = data
    _run(["fit", root / "multinomial.csv", "--target", "animal", "-o", tmp_path / "m.lkm"])
    rows = json.loads(_run(["summary", tmp_path / "m.lkm", "--format", "json"]).stdout)
    assert [(r["class"], r["term"]) for r in rows["coefficients"]][:2] == [
        ("dog", "Intercept"), ("dog", "x1")]
    assert rows["header"]["model"] == "Multinomial logit"


HEADER_KEYS = ["dep_variable", "model", "link", "solver", "converged", "n_iter", "cov_type",
               "separation", "n_obs", "df_model", "df_resid", "log_likelihood",
               "null_log_likelihood", "lr_chi2", "lr_pvalue", "pseudo_r2", "aic", "bic"]


@pytest.mark.parametrize("weights", [None, "whole", "fractional"])
def test_json_summary_has_machine_keys(data, tmp_path, weights):
    """The JSON header is keyed by stable names, counts are integers when the weights are
    whole, and its values are the Python summary's; the text keeps the display labels."""
    root, frames, _ = data
    frame = frames["binary"].copy()
    w = np.arange(len(frame)) % 3 + 1 + (np.arange(len(frame)) == 0) * (
        0.5 if weights == "fractional" else 0)
    source = root / f"weights-{weights}.csv"
    frame.assign(w=w).to_csv(source, index=False)
    args = ["fit", source, "--target", "label", "--clusters", "group", "-o", tmp_path / "m.lkm"]
    assert _run(args + (["--weights", "w"] if weights else [])).exit_code == 0
    model = lk.load(tmp_path / "m.lkm")
    for cov_type in ("nonrobust", "cluster"):
        result = _run(["summary", tmp_path / "m.lkm", "--cov-type", cov_type, "--format",
                       "json"])
        header = json.loads(result.stdout)["header"]
        assert list(header) == HEADER_KEYS
        expected = model.summary(cov_type=cov_type).header_values()
        assert header == {key: _plain(value) for key, value in expected.items()}
    n_obs = float(w.sum()) if weights else len(frame)
    assert header["n_obs"] == n_obs and header["df_resid"] == n_obs - len(model.coef_names_) - 1
    count = float if weights == "fractional" else int
    assert type(header["n_obs"]) is count and type(header["df_resid"]) is count
    assert type(header["df_model"]) is int and type(header["n_iter"]) is int
    assert header["converged"] is True and header["cov_type"] == "cluster (3 clusters)"
    assert header["lr_pvalue"] == pytest.approx(chi2.sf(header["lr_chi2"], header["df_model"]),
                                                rel=1e-12)
    text = _run(["summary", tmp_path / "m.lkm"]).stdout
    assert "No. observations:" in text and "Prob > chi2:" in text and "n_obs" not in text


def test_json_summary_of_penalised_and_minibatch_fits(data, tmp_path):
    """NaN is null; a minibatch fit's header names its epochs and its distance to the
    optimum."""
    root, _, _ = data
    _run(["fit", root / "ordinal.csv", "--target", "apply", "--order", ",".join(ORDER),
          "--alpha", "1", "-o", tmp_path / "p.lkm"])
    document = json.loads(_run(["summary", tmp_path / "p.lkm", "--format", "json"]).stdout)
    assert list(document["header"]) == HEADER_KEYS
    assert document["header"]["cov_type"] == "none (penalised fit, alpha=1)"
    assert all(row["std_err"] is None and row["p_value"] is None and row["coef"] is not None
               for row in document["coefficients"])
    assert document["notes"] and "penalised" in document["notes"][0]
    _run(["fit", root / "binary.csv", "--target", "label", "--solver", "adam", "--epochs", "3",
          "--seed", "0", "-o", tmp_path / "a.lkm"])
    header = json.loads(_run(["summary", tmp_path / "a.lkm", "--format", "json"]).stdout)[
        "header"]
    keys = [k for k in HEADER_KEYS if k != "n_iter"]
    keys[keys.index("converged") + 1:keys.index("converged") + 1] = [
        "optimum_distance_se", "n_epochs"]
    assert list(header) == keys
    assert header["n_epochs"] == 3 and header["solver"] == "adam (minibatch)"
    assert header["optimum_distance_se"] > 0


def test_output_into_a_missing_directory(data, tmp_path):
    root, _, _ = data
    result = _run(["fit", root / "binary.csv", "--target", "label",
                   "-o", tmp_path / "nowhere" / "m.lkm"])
    assert result.exit_code == 2
    assert result.stderr == f"error: no such file or directory: {tmp_path / 'nowhere'}\n"


def test_dropna_reports_and_keeps_row_ids(tmp_path):
    frame = _binary_frame()
    frame.loc[[3, 10], "x1"] = np.nan
    frame.loc[20, "x1"] = np.inf
    frame.to_csv(tmp_path / "holes.csv", index=False)
    refused = _run(["fit", tmp_path / "holes.csv", "--target", "label", "-o", tmp_path / "m"])
    assert refused.exit_code == 2
    assert ("column 'x1' has a missing or infinite value in row 3; 3 of 120 rows have such "
            "values; fix them, or drop those rows (--dropna)") in refused.stderr
    result = _run(["fit", tmp_path / "holes.csv", "--target", "label", "--dropna",
                   "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 0
    assert "note: dropped 3 of 120 rows with missing or infinite values" in result.stderr
    assert "117 rows" in result.stderr
    out = _run(["predict", tmp_path / "m.lkm", tmp_path / "holes.csv", "--dropna"])
    ids = pd.read_csv(io.StringIO(out.stdout))["id"]
    assert list(ids) == [i for k, i in enumerate(frame["id"]) if k not in (3, 10, 20)]


def test_separation_is_a_note_and_still_writes(tmp_path):
    lk.datasets.load_seed_table().to_csv(tmp_path / "seed.csv", index=False)
    result = _run(["fit", tmp_path / "seed.csv", "--target", "Label", "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 0
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "PerfectSeparationWarning" in notes[0]
    assert lk.load(tmp_path / "m.lkm").separation_.separated


def test_non_convergence_exits_1_without_a_model(data, tmp_path):
    root, _, _ = data
    result = _run(["fit", root / "ordinal.csv", "--target", "apply", "--order",
                   ",".join(ORDER), "--solver", "lbfgs", "--max-iter", "1",
                   "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the fit failed: lbfgs did not converge")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "m.lkm").exists()


def test_numerical_failure_exits_1(data, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Matrix is singular")

    monkeypatch.setattr("logitkit.estimators.fit_objective", broken)
    root, _, _ = data
    result = _run(["fit", root / "binary.csv", "--target", "label", "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 1
    assert result.stderr == "error: the fit failed: LinAlgError: Matrix is singular\n"
    assert not (tmp_path / "m.lkm").exists()
    debug = _run(["fit", root / "binary.csv", "--target", "label", "-o", tmp_path / "m.lkm",
                  "--debug"])
    assert isinstance(debug.exception, np.linalg.LinAlgError)


def test_help_on_every_command():
    for command in ([], ["fit"], ["summary"], ["predict"], ["evaluate"], ["demo"]):
        result = _run([*command, "--help"])
        assert result.exit_code == 0 and "Usage: logitkit" in result.stdout


def test_status_line_only_on_terminals():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    with _status("fitting", terminal, delay=0):
        time.sleep(0.25)
    shown = terminal.getvalue()
    assert re.match(r"\r\| fitting \d+\.\d s\r/ fitting", shown) and shown.endswith("\r\x1b[K")
    pipe = io.StringIO()
    with _status("fitting", pipe, delay=0):
        pass
    assert pipe.getvalue() == ""


# ---------------------------------------------------------------- minibatch options

def _adam_accepted():
    try:
        lk.LogisticRegression(solver="adam", epochs=1).fit([[0.0], [1.0]], [0, 1])
    except (TypeError, ValueError):
        return False
    return True


ADAM = _adam_accepted()


@pytest.mark.skipif(not ADAM, reason='solver="adam" is not accepted by the estimator yet')
def test_minibatch_options_equal_python_api(data, tmp_path):
    root, frames, _ = data
    result = _run(["fit", root / "binary.csv", "--target", "label", "--solver", "adam",
                   "--epochs", 5, "--batch-size", 16, "--learning-rate", 0.05, "--seed", 3,
                   "-o", tmp_path / "m.lkm"])
    assert result.exit_code in (0, 1), result.output
    features = frames["binary"].drop(columns=["id", "label"]).astype({"x2": float})
    params = {"solver": "adam", "epochs": 5, "batch_size": 16, "learning_rate": 0.05,
              "random_state": 3}
    if result.exit_code == 1:  # did not converge in 5 epochs: that is a failed fit
        assert "did not converge" in result.stderr
        return
    expected = lk.LogisticRegression(**params).fit(features, frames["binary"]["label"])
    model = lk.load(tmp_path / "m.lkm")
    assert {k: model.get_params()[k] for k in params} == params
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    if hasattr(expected, "history_"):
        assert model.history_ == expected.history_


@pytest.mark.skipif(ADAM, reason='solver="adam" is accepted: see the round-trip test')
def test_minibatch_options_rejected_cleanly_until_available(data, tmp_path):
    root, _, _ = data
    result = _run(["fit", root / "binary.csv", "--target", "label", "--solver", "adam",
                   "--epochs", 5, "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "m.lkm").exists()


def test_minibatch_options_need_a_minibatch_solver(data, tmp_path):
    root, _, _ = data
    result = _run(["fit", root / "binary.csv", "--target", "label", "--epochs", 5,
                   "-o", tmp_path / "m.lkm"])
    assert result.exit_code == 2
    assert "--epochs, --batch-size, --learning-rate and --seed apply to --solver" in result.stderr
