"""The model-wide covariance type (``cov_type`` of the estimators, logitkit.cov_default):
every post-estimation method's default equals its explicit argument, the issue's formula
example runs cluster-robust end to end (against statsmodels), model files keep it, and
fit refuses what the fit could not give."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from sklearn.base import clone

import logitkit as lk
from logitkit.cli import main
from logitkit.inference import COV_TYPES

N = 240


def _frame(seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=N), "x2": rng.normal(size=N),
                       "region": rng.choice(["north", "south", "east"], size=N),
                       "school": rng.integers(0, 12, size=N)})
    school = rng.normal(scale=0.8, size=12)[df["school"]]
    eta = (0.8 * df["x1"] - 0.5 * df["x2"] + 0.4 * df["x1"] * df["x2"]
           + 0.6 * (df["region"] == "south") + school)
    df["y"] = (eta + rng.logistic(size=N) > 0).astype(int)
    df["grade"] = np.digitize(eta + rng.logistic(size=N), [-1.0, 0.5, 1.5])
    return df


KINDS = {
    "binary": (lambda **kw: lk.LogisticRegression(**kw), "y", COV_TYPES),
    "multinomial": (lambda **kw: lk.LogisticRegression(**kw), "grade",
                    tuple(t for t in COV_TYPES if t not in ("HC2", "HC3"))),
    "ordinal": (lambda **kw: lk.OrdinalLogisticRegression(**kw), "grade",
                tuple(t for t in COV_TYPES if t not in ("HC2", "HC3"))),
}
CASES = [(kind, t) for kind, (_, _, types) in KINDS.items() for t in types]


def _results(model, cov_type, X):
    """Everything that takes a cov_type, given ``cov_type`` (None: the model's own)."""
    hypothesis = "x1 = x2" if model.coef_.ndim == 1 or len(model.classes_) == 2 \
        else "[1]x1 = [1]x2"
    return {
        "summary": model.summary(cov_type=cov_type).table,
        "covariance": model.covariance(cov_type),
        "conf_int": model.conf_int(method="wald", level=0.9, cov_type=cov_type),
        "effects": model.marginal_effects(cov_type=cov_type).to_frame(),
        "interval": model.predict_interval(X[:5], cov_type=cov_type),
        "wald": model.wald_test(hypothesis, cov_type=cov_type).statistic,
    }


@pytest.fixture(scope="module")
def df():
    return _frame()


@pytest.mark.parametrize(("kind", "cov_type"), CASES)
def test_the_models_type_is_every_methods_default(df, kind, cov_type):
    make, target, _ = KINDS[kind]
    X, y, g = df[["x1", "x2"]], df[target], df["school"]
    plain = make().fit(X, y, clusters=g)
    chosen = make(cov_type=cov_type).fit(X, y, clusters=g)
    ours, explicit = _results(chosen, None, X), _results(plain, cov_type, X)
    for name, value in ours.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, explicit[name], obj=name)
        else:
            assert value == explicit[name], name
    assert chosen.summary().header == plain.summary(cov_type=cov_type).header
    label = dict((k, v) for k, _, v in chosen.summary().header)["cov_type"]
    assert label.startswith(cov_type)
    pd.testing.assert_frame_equal(chosen.covariance_, plain.covariance(cov_type))
    # an explicit argument overrides the model's
    pd.testing.assert_frame_equal(chosen.summary(cov_type="nonrobust").table,
                                  plain.summary().table)
    if cov_type != "nonrobust":
        assert not np.allclose(chosen.covariance().to_numpy(), plain.covariance().to_numpy(),
                               equal_nan=True)


def test_the_issues_example_is_cluster_robust_end_to_end(df):
    """lk.logit(..., cov_type="cluster", clusters=...) as in the issue: the summary, the
    marginal effects and the Wald test use statsmodels' cluster covariance."""
    m = lk.logit("y ~ x1 * x2 + C(region, Treatment('north'))", data=df, alpha=0.0,
                 cov_type="cluster", clusters=df["school"])
    names = ["Intercept", "C(region, Treatment('north'))[T.east]",
             "C(region, Treatment('north'))[T.south]", "x1", "x1:x2", "x2"]
    exog = pd.DataFrame({
        "Intercept": 1.0, names[1]: (df["region"] == "east").astype(float),
        names[2]: (df["region"] == "south").astype(float), "x1": df["x1"],
        "x1:x2": df["x1"] * df["x2"], "x2": df["x2"]})[list(m.summary().table.index)]
    res = sm.Logit(df["y"], exog).fit(disp=0, cov_type="cluster",
                                      cov_kwds={"groups": df["school"].to_numpy()})
    table = m.summary().table
    assert dict((k, v) for k, _, v in m.summary().header)["cov_type"] == "cluster (12 clusters)"
    np.testing.assert_allclose(table["coef"], res.params, rtol=1e-6)
    np.testing.assert_allclose(table["std_err"], res.bse, rtol=1e-6)
    me = m.marginal_effects(discrete=False).to_frame()
    margeff = res.get_margeff(at="overall")
    np.testing.assert_allclose(me["effect"], margeff.margeff, rtol=1e-6)
    np.testing.assert_allclose(me["std_err"], margeff.margeff_se, rtol=1e-6)
    R = np.zeros((2, len(names)))
    R[0, list(exog.columns).index("x1")] = R[1, list(exog.columns).index("x1:x2")] = 1.0
    ours = m.wald_test((R, np.zeros(2)))
    theirs = res.wald_test(R, use_f=False, scalar=True)
    np.testing.assert_allclose(ours.statistic, theirs.statistic, rtol=1e-6)
    assert ours.cov_type == "cluster"
    assert m.wald_test("x1 = 0, x1:x2 = 0").statistic == pytest.approx(ours.statistic)
    assert "(cov_type=cluster)" in str(ours)
    # the other types stay one argument away
    nonrobust = sm.Logit(df["y"], exog).fit(disp=0)
    np.testing.assert_allclose(m.summary(cov_type="nonrobust").table["std_err"],
                               nonrobust.bse, rtol=1e-6)


def test_model_files_and_pickles_keep_it(df, tmp_path):
    m = lk.logit("y ~ x1 + C(region)", data=df, cov_type="stata-cluster",
                 clusters="school")
    m.save(tmp_path / "m.lkm")
    for other in (lk.load(tmp_path / "m.lkm"), pickle.loads(pickle.dumps(m))):
        assert other.cov_type == "stata-cluster"
        pd.testing.assert_frame_equal(other.summary().table, m.summary().table)
        pd.testing.assert_frame_equal(other.predict_interval(df[:4]),
                                      m.predict_interval(df[:4], cov_type="stata-cluster"))
    assert clone(m).get_params()["cov_type"] == "stata-cluster"


def test_cli_fit_stores_it_and_summary_uses_it(df, tmp_path):
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    runner = CliRunner()
    model = str(tmp_path / "m.lkm")
    fitted = runner.invoke(main, ["fit", str(data), "--target", "y", "--features", "x1,x2",
                                  "--clusters", "school", "--cov-type", "HC3", "-o", model])
    assert fitted.exit_code == 0, fitted.output
    assert lk.load(model).cov_type == "HC3"
    shown = runner.invoke(main, ["summary", model])
    assert "Covariance type:" in shown.output and "HC3" in shown.output
    explicit = runner.invoke(main, ["summary", model, "--cov-type", "nonrobust"])
    assert "nonrobust" in explicit.output and "HC3" not in explicit.output
    predicted = runner.invoke(main, ["predict", model, str(data), "--interval", "0.9"])
    assert predicted.exit_code == 0, predicted.output
    bands = pd.read_csv(io.StringIO(predicted.stdout))
    fitted = lk.load(model)
    expected = fitted.predict_interval(df[["x1", "x2"]], level=0.9, cov_type="HC3")
    np.testing.assert_allclose(bands["se_1"], expected[(1, "std_err")], rtol=1e-6)
    assert not np.allclose(bands["se_1"], fitted.predict_interval(
        df[["x1", "x2"]], cov_type="nonrobust")[(1, "std_err")], rtol=1e-6)
    refused = runner.invoke(main, ["fit", str(data), "--target", "y", "--features", "x1,x2",
                                   "--cov-type", "cluster", "-o", model])
    assert refused.exit_code == 2
    assert "--cov-type cluster needs the cluster labels: --clusters COLUMN" in refused.output


def test_fit_refuses_what_it_cannot_give(df):
    X = df[["x1", "x2"]]
    cases = [
        (lk.LogisticRegression(cov_type="HC9"), df["y"], None, "cov_type must be one of"),
        (lk.LogisticRegression(cov_type=None), df["y"], None, "cov_type must be one of"),
        (lk.LogisticRegression(cov_type="cluster"), df["y"], None,
         "needs the cluster labels at fit time: fit\\(X, y, clusters=labels\\)"),
        (lk.OrdinalLogisticRegression(cov_type="stata-cluster"), df["grade"], None,
         "needs the cluster labels"),
        (lk.LogisticRegression(cov_type="HC2"), df["grade"], df["school"],
         "multinomial fits \\(y has 4 classes\\) do not"),
        (lk.OrdinalLogisticRegression(cov_type="HC3"), df["grade"], None,
         "ordinal models do not"),
        (lk.LogisticRegression(cov_type="fisher"), df["y"], None, "applies to penalty='firth'"),
        (lk.LogisticRegression(penalty="firth", cov_type="HC0"), df["y"], None,
         "penalty='firth' fits take cov_type 'nonrobust'"),
    ]
    for model, y, clusters, message in cases:
        with pytest.raises(ValueError, match=message):
            model.fit(X, y, clusters=clusters)
        assert not hasattr(model, "coef_")  # refused before fitting
    with pytest.raises(ValueError, match="needs the cluster labels at fit time"):
        lk.ologit("grade ~ x1", df, cov_type="cluster")
    # an explicit argument the fit cannot give is the covariance's own clear error
    m = lk.LogisticRegression().fit(X, df["y"])
    with pytest.raises(ValueError, match="needs the cluster labels: fit"):
        m.summary(cov_type="cluster")


def test_firth_types(df):
    """A Firth fit's model-wide type is one of its own: "fisher" (brglm2's) or
    "nonrobust" (logistf's), for every method alike."""
    X, y = df[["x1", "x2"]], df["y"]
    logistf = lk.LogisticRegression(penalty="firth").fit(X, y)
    fisher = lk.LogisticRegression(penalty="firth", cov_type="fisher").fit(X, y)
    for method in ("wald", "profile"):
        pd.testing.assert_frame_equal(fisher.summary(method=method).table,
                                      logistf.summary(method=method, cov_type="fisher").table)
    pd.testing.assert_frame_equal(fisher.conf_int(method="wald"),
                                  logistf.conf_int(method="wald", cov_type="fisher"))
    pd.testing.assert_frame_equal(fisher.marginal_effects().to_frame(),
                                  logistf.marginal_effects(cov_type="fisher").to_frame())
    assert fisher.wald_test("x1 = x2").statistic == \
        logistf.wald_test("x1 = x2", cov_type="fisher").statistic
    se = logistf.summary(method="wald").table["std_err"]
    assert not np.allclose(se, fisher.summary(method="wald").table["std_err"])


def test_profile_intervals_ignore_the_models_type_but_not_an_explicit_one(df):
    X, y, g = df[["x1", "x2"]], df["y"], df["school"]
    clustered = lk.LogisticRegression(cov_type="cluster").fit(X, y, clusters=g)
    plain = lk.LogisticRegression().fit(X, y)
    pd.testing.assert_frame_equal(clustered.conf_int(method="profile"),
                                  plain.conf_int(method="profile"), check_like=True)
    with pytest.raises(ValueError, match="applies to method='wald'"):
        clustered.conf_int(method="profile", cov_type="HC0")
    # conf_int()'s default method stays Wald (with the model's covariance)
    pd.testing.assert_frame_equal(
        clustered.conf_int(),
        clustered.summary().table[["ci_lower", "ci_upper"]].set_axis(["lower", "upper"],
                                                                     axis=1),
        check_names=False)
