"""Formula fits (lk.logit, lk.mlogit, lk.ologit) equal the fits of the same model matrix
built by hand, names included; the fitted formula is applied to new data, in memory and
after a save/load round trip; unseen levels and missing values are clear errors."""

import ast
import dataclasses
import pickle
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from logitkit.io import model_from_bytes, model_to_bytes

pytest.importorskip("formulaic")


def _same_fit(formula_model, matrix_model, rtol=1e-9):
    """Coefficients, standard errors and term names of the two fits agree."""
    assert formula_model.coef_names_ == matrix_model.coef_names_
    a, b = formula_model.summary().table, matrix_model.summary().table
    pd.testing.assert_index_equal(a.index, b.index)
    np.testing.assert_allclose(a["coef"], b["coef"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(formula_model.log_likelihood_, matrix_model.log_likelihood_,
                               rtol=1e-12)


def _regions(n=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.uniform(0.5, 3.0, size=n),
        "region": rng.choice(["east", "north", "south", "west"], size=n),
        "school": rng.integers(0, 25, size=n),
        "w": rng.integers(1, 4, size=n).astype(float),
    })
    eta = (0.4 + 0.8 * frame.x1 - 0.5 * np.log(frame.x2) + 0.3 * frame.x1 * frame.x2
           + frame.region.map({"east": 0.2, "north": 0.0, "south": -0.6, "west": 0.5}))
    frame["y"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    levels = np.digitize(eta + rng.logistic(size=n), [0.0, 1.2])
    frame["grade"] = pd.Categorical.from_codes(levels, ["low", "mid", "high"], ordered=True)
    frame["choice"] = np.array(["bus", "car", "train"])[
        np.argmax(np.column_stack([np.zeros(n), eta, 0.5 * frame.x2])
                  + rng.gumbel(size=(n, 3)), axis=1)]
    return frame


FORMULA = ("center(x1) * scale(x2) + C(region, contr.treatment('north')) + np.log(x2)"
           " + I(x1 ** 2)")


def _matrix(frame, train=None):
    """Hand-built model matrix of FORMULA's right-hand side (formulaic's column order);
    ``train``: the frame whose mean and sd center() and scale() use (default: frame)."""
    train = frame if train is None else train
    ref = "C(region, contr.treatment('north'))"
    centered = frame.x1 - train.x1.mean()
    scaled = (frame.x2 - train.x2.mean()) / train.x2.std(ddof=1)
    return pd.DataFrame({
        "center(x1)": centered,
        "scale(x2)": scaled,
        f"{ref}[T.east]": (frame.region == "east").astype(float),
        f"{ref}[T.south]": (frame.region == "south").astype(float),
        f"{ref}[T.west]": (frame.region == "west").astype(float),
        "np.log(x2)": np.log(frame.x2),
        "I(x1 ** 2)": frame.x1 ** 2,
        "center(x1):scale(x2)": centered * scaled,
    })


def test_logit_equals_matrix_fit_with_interactions_references_transforms():
    frame = _regions()
    m = lk.logit(f"y ~ {FORMULA}", frame)
    assert isinstance(m, lk.LogisticRegression) and m.fit_intercept
    ref = lk.LogisticRegression().fit(_matrix(frame), frame.y)
    _same_fit(m, ref)
    assert m.summary().table.index[0] == "Intercept"
    np.testing.assert_allclose(m.predict_proba(frame), ref.predict_proba(_matrix(frame)),
                               rtol=1e-12)


def test_numeric_by_factor_interaction_equals_matrix_fit():
    frame = _regions()
    m = lk.logit("y ~ x1 * C(region, Treatment('west'))", frame)
    ref = "C(region, Treatment('west'))"
    dummies = {f"{ref}[T.{r}]": (frame.region == r) * 1.0 for r in ["east", "north", "south"]}
    hand = pd.DataFrame({"x1": frame.x1} | dummies
                        | {f"x1:{k}": frame.x1 * v for k, v in dummies.items()})
    _same_fit(m, lk.LogisticRegression().fit(hand, frame.y))


def test_mlogit_equals_matrix_fit():
    frame = _regions()
    m = lk.mlogit(f"choice ~ {FORMULA}", frame)
    ref = lk.LogisticRegression().fit(_matrix(frame), frame.choice)
    _same_fit(m, ref, rtol=1e-8)
    assert m.summary().table.index.names == ["choice", "term"]
    assert list(m.classes_) == ["bus", "car", "train"]


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_ologit_equals_matrix_fit(link):
    frame = _regions()
    o = lk.ologit(f"grade ~ {FORMULA}", frame, link=link)
    ref = lk.OrdinalLogisticRegression(link=link).fit(_matrix(frame), frame.grade)
    _same_fit(o, ref, rtol=1e-8)
    assert list(o.classes_) == ["low", "mid", "high"]
    assert list(o.summary().table.index[-2:]) == ["low|mid", "mid|high"]


def test_ucla_ologit_formula_equals_matrix_fit():
    ucla = lk.datasets.load_ucla_apply()
    o = lk.ologit("apply ~ pared * gpa + C(public, contr.treatment(1))", ucla)
    hand = pd.DataFrame({"pared": ucla.pared, "gpa": ucla.gpa,
                         "C(public, contr.treatment(1))[T.0]": 1.0 - ucla.public,
                         "pared:gpa": ucla.pared * ucla.gpa})
    _same_fit(o, lk.OrdinalLogisticRegression().fit(hand, ucla["apply"]))


def test_no_intercept_logit_and_refused_for_ordinal():
    frame = _regions()
    m = lk.logit("y ~ x1 + C(region) - 1", frame)
    assert not m.fit_intercept
    hand = pd.DataFrame({"x1": frame.x1} | {f"C(region)[{r}]": (frame.region == r) * 1.0
                                             for r in ["east", "north", "south", "west"]})
    _same_fit(m, lk.LogisticRegression(fit_intercept=False).fit(hand, frame.y))
    with pytest.raises(ValueError, match="cut points"):
        lk.ologit("grade ~ x1 - 1", frame)
    with pytest.raises(ValueError, match="cut points"):
        lk.ologit("grade ~ 0 + x1", frame)
    with pytest.raises(ValueError, match="contradicts the formula"):
        lk.logit("y ~ x1", frame, fit_intercept=False)


def test_splines_and_poly_apply_their_training_state_to_new_data(tmp_path):
    formulaic = pytest.importorskip("formulaic")
    frame = _regions()
    formula = "y ~ bs(x2, df=4) + poly(x1, 2) + C(region)"
    m = lk.logit(formula, frame)
    new = _regions(n=60, seed=5)
    new["x1"] = new.x1 * 2.0  # poly(): outside the training range, its state applies
    new["x2"] = new.x2.clip(frame.x2.min(), frame.x2.max())  # bs(): inside its bounds
    spec = formulaic.model_matrix(formula, frame, context={}).rhs.model_spec
    expected = spec.get_model_matrix(new, context={}).drop(columns="Intercept")
    ref = lk.LogisticRegression().fit(
        formulaic.model_matrix(formula, frame, context={}).rhs.drop(columns="Intercept"),
        frame.y)
    np.testing.assert_allclose(m.predict_proba(new), ref.predict_proba(expected), rtol=1e-12)
    path = tmp_path / "spline.lkm"
    m.save(path)
    np.testing.assert_allclose(lk.load(path).predict_proba(new), m.predict_proba(new),
                               rtol=0, atol=0)
    with pytest.raises(ValueError, match="extend beyond upper and/or lower bounds"):
        m.predict(new.assign(x2=frame.x2.max() + 1))  # formulaic's spline refuses this


def test_save_load_round_trip_applies_the_formula_to_new_data(tmp_path):
    frame = _regions()
    for model in (lk.logit(f"y ~ {FORMULA}", frame), lk.mlogit(f"choice ~ {FORMULA}", frame),
                  lk.ologit(f"grade ~ {FORMULA}", frame)):
        path = tmp_path / "model.lkm"
        model.save(path)
        loaded = lk.load(path)
        new = _regions(n=50, seed=7)
        new = new[new.region != "west"].iloc[::-1]  # fewer levels, other order and index
        np.testing.assert_array_equal(loaded.predict_proba(new), model.predict_proba(new))
        np.testing.assert_array_equal(loaded.predict(new), model.predict(new))
        assert loaded.formula_ == model.formula_
        assert str(loaded.summary()) == str(model.summary())
        # the hand-built matrix of the new rows with the TRAINING means and sd
        matrix_fit = type(model)(**model.get_params()).fit(_matrix(frame),
                                                            model.fitted_rows().codes)
        np.testing.assert_allclose(loaded.predict_proba(new),
                                   matrix_fit.predict_proba(_matrix(new, frame)), rtol=1e-9)
        pickled = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(pickled.predict_proba(new), model.predict_proba(new))


def test_model_file_keeps_the_spec_as_data():
    frame = _regions()
    data = model_to_bytes(lk.logit("y ~ C(region) + center(x1)", frame))
    import io
    import json
    import zipfile

    meta = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("metadata.json"))
    node = meta["attributes"]["formula_"]
    assert node["class"] == "FormulaSpec"
    spec = model_from_bytes(data).formula_
    assert spec.formula == "y ~ C(region) + center(x1)"
    assert spec.levels == {"C(region)": ["east", "north", "south", "west"]}
    assert spec.transform_state["center(x1)"]["center"] == pytest.approx(frame.x1.mean(),
                                                                         rel=1e-15)


def test_unseen_level_is_an_error_after_load():
    frame = _regions()
    loaded = model_from_bytes(model_to_bytes(lk.logit("y ~ x1 + C(region)", frame)))
    new = frame.head(5).copy()
    new.loc[3, "region"] = "mars"
    with pytest.raises(ValueError, match=r"C\(region\) has values not seen in training: "
                                         r"\['mars'\] \(first at row 3\)"):
        loaded.predict_proba(new)
    new = frame.head(3).assign(region=["south", "south", "north"]).astype({"region": "category"})
    assert loaded.predict_proba(new).shape == (3, 2)  # a Categorical with fewer levels


def test_missing_values_and_absent_columns_are_errors():
    frame = _regions()
    holes = frame.copy()
    holes.loc[7, "x2"] = np.nan
    with pytest.raises(ValueError, match=r"column 'x2' of data has a missing value at row 7"):
        lk.logit("y ~ x1 + x2", holes)
    with pytest.raises(ValueError, match="missing value"):
        lk.logit("y ~ x1", frame.assign(y=frame.y.where(frame.index != 2)))
    m = lk.logit("y ~ x1 + np.log(x2)", frame)
    with pytest.raises(ValueError, match="missing value at row 7"):
        m.predict(holes)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['x2'\]"):
        m.predict(frame[["x1"]])
    with pytest.raises(ValueError, match="gives missing values"):
        m.predict(frame.assign(x2=-1.0))  # np.log of a negative number
    with pytest.raises(ValueError, match=r"uses the function my_function\(\)"):
        lk.logit("y ~ my_function(x1)", frame)
    with pytest.raises(ValueError, match="missing value at row 7"):
        lk.logit("y ~ center(x2)", holes)  # (a variable inside a stateful transform)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['x3'\]"):
        lk.logit("y ~ center(x3)", frame)
    with pytest.raises(ValueError, match="cannot evaluate the formula"):
        lk.logit("y ~ C(region, contr.treatment('mars'))", frame)


def test_row_keywords_as_columns_or_arrays():
    frame = _regions()
    by_name = lk.logit("y ~ x1 + C(region)", frame, sample_weight="w", clusters="school")
    by_array = lk.logit("y ~ x1 + C(region)", frame, sample_weight=frame.w.to_numpy(),
                        clusters=frame.school)
    for cov_type in ("nonrobust", "cluster"):
        pd.testing.assert_frame_equal(by_name.summary(cov_type=cov_type).table,
                                      by_array.summary(cov_type=cov_type).table)
    repeated = frame.loc[frame.index.repeat(frame.w.astype(int))].reset_index(drop=True)
    np.testing.assert_allclose(by_name.coef_, lk.logit("y ~ x1 + C(region)", repeated).coef_,
                               rtol=1e-9)
    with pytest.raises(ValueError, match="names no column"):
        lk.logit("y ~ x1", frame, sample_weight="weight")
    with pytest.raises(ValueError, match="index differs"):
        lk.logit("y ~ x1", frame, sample_weight=frame.w.reset_index(drop=True).iloc[::-1])
    with pytest.raises(ValueError, match="one value per row"):
        lk.logit("y ~ x1", frame, sample_weight=np.ones(3))


def test_outcomes_and_kinds():
    frame = _regions()
    m = lk.logit("I(x2 > 1.5) ~ x1", frame)
    assert list(m.classes_) == [False, True] and m.target_name_ == "I(x2 > 1.5)"
    with pytest.raises(ValueError, match="binary outcome"):
        lk.logit("choice ~ x1", frame)
    with pytest.raises(ValueError, match="3 or more classes"):
        lk.mlogit("y ~ x1", frame)
    with pytest.raises(ValueError, match="only one class"):
        lk.logit("I(x2 > 0) ~ x1", frame)
    with pytest.raises(ValueError, match="ordered Categorical"):
        lk.ologit("choice ~ x1", frame)
    with pytest.raises(ValueError, match="has no outcome"):
        lk.logit("x1 + x2", frame)
    with pytest.raises(ValueError, match="needs the cluster labels at fit time"):
        lk.logit("y ~ x1", frame, cov_type="cluster")
    with pytest.raises(TypeError, match="DataFrame"):
        lk.logit("y ~ x1", frame.to_numpy())


def test_refit_on_a_matrix_drops_the_formula_and_rows_use_it():
    frame = _regions()
    m = lk.logit("y ~ x1 * C(region)", frame)
    rows = m.fitted_rows(frame, frame.y)
    np.testing.assert_array_equal(rows.X, m.fitted_rows().X)
    m.fit(frame[["x1", "x2"]], frame.y)
    assert not hasattr(m, "formula_") and m.coef_names_ == ["x1", "x2"]


def test_validation_data_goes_through_the_formula():
    frame = _regions()
    m = lk.logit("y ~ x1 + C(region)", frame.iloc[:300], solver="adam", epochs=3,
                 batch_size=64, random_state=0, validation_data=frame.iloc[300:])
    assert len(m.history_["val_loss"]) == 3
    with pytest.raises(ValueError, match="validation_data lacks"):
        lk.logit("y ~ x1 + C(region)", frame, solver="adam", epochs=1,
                 validation_data=frame[["x1"]])


def test_names_and_estimates_match_statsmodels_formulas():
    """statsmodels' formula fits (patsy-style names, its own term order) agree by name."""
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    spector = lk.datasets.load_spector()
    formula = "GRADE ~ GPA * TUCE + C(PSI, Treatment(1)) + np.log(TUCE)"
    reference = smf.logit(formula, spector).fit(method="newton", tol=1e-10, maxiter=200, disp=0)
    table = lk.logit(formula, spector).summary().table
    np.testing.assert_allclose(table["coef"], reference.params[table.index], rtol=1e-6)
    np.testing.assert_allclose(table["std_err"], reference.bse[table.index], rtol=1e-6)
    anes = lk.datasets.load_anes96()
    formula = "PID ~ logpopul + selfLR * age + C(educ >= 5, Treatment(True))"
    with warnings.catch_warnings():
        # statsmodels' Newton stops on the size of its step, which stalls at rounding
        # level here (its score is below 1e-12 after 100 iterations): a false alarm
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = smf.mnlogit(formula, anes).fit(method="newton", tol=1e-10, maxiter=100,
                                                   disp=0)
    assert np.abs(reference.mle_retvals["score"]).max() < 1e-10
    table = lk.mlogit(formula, anes).summary().table
    for k, label in enumerate(range(1, 7)):  # statsmodels' columns: classes 1..6 vs 0
        block = table.loc[label]
        np.testing.assert_allclose(block["coef"], reference.params[k][block.index], rtol=1e-5)
        np.testing.assert_allclose(block["std_err"], reference.bse[k][block.index], rtol=1e-5)


@pytest.mark.parametrize("formula, what", [
    ("y ~ x1.to_csv('leak.csv')", "x1.to_csv"),
    ("y ~ np.save('leak', x1)", "np.save"),
    ("y ~ I(x1.__class__)", "x1.__class__"),
    ("y ~ {__import__('os').getcwd()}", "__import__"),
    ("y ~ I([c for c in x1])", "ListComp"),
    ("y ~ I((lambda v: v)(x1))", "lambda"),
    ("y ~ I(x1 if (lambda: 0) else x1)", "Lambda"),
    ("y ~ C(region, **{'levels': None})", "'**'"),
    ("y ~ I(Q('__import__')('os'))", "the call Q('__import__')('os')"),
])
def test_formulas_run_no_other_code_even_from_a_model_file(tmp_path, monkeypatch, formula,
                                                           what):
    """A formula is evaluated; one written into a model file by hand (its digests
    recomputed) must not run code: only columns, constants, arithmetic, formulaic's
    transforms and NumPy's elementwise functions pass."""
    monkeypatch.chdir(tmp_path)
    frame = _regions()
    with pytest.raises(ValueError, match="model formulas do not allow") as error:
        lk.logit(formula, frame)
    assert what in str(error.value)
    model = lk.logit("y ~ x1 + C(region)", frame)
    model.formula_ = dataclasses.replace(model.formula_, formula=formula)
    loaded = model_from_bytes(model_to_bytes(model))  # (a valid file: digests match)
    with pytest.raises(ValueError, match="model formulas do not allow"):
        loaded.predict_proba(frame)
    assert list(tmp_path.iterdir()) == []


def test_formulas_are_parsed_one_thread_at_a_time(monkeypatch):
    """CPython 3.11's ast module is not thread-safe: a parse interrupted by another
    thread's parse can fail with "AST constructor recursion depth mismatch" (it did in a
    Dask prediction). Predictions from several threads at once parse one at a time, and
    each gets its own rows' probabilities."""
    frame = _regions()
    m = lk.logit("y ~ center(x1) * C(region) + np.log(x2)", frame)
    parse, lock, inside, most = ast.parse, threading.Lock(), [0], [0]

    def slow_parse(*args, **kwargs):  # holds the parse long enough for threads to meet
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.002)
        try:
            return parse(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(ast, "parse", slow_parse)
    parts = [frame.iloc[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        predicted = list(pool.map(m.predict_proba, parts))
    assert most[0] == 1
    for part, p in zip(parts, predicted, strict=True):
        np.testing.assert_array_equal(p, m.predict_proba(part))


def test_lazy_predictions_on_a_dask_frame_apply_the_formula():
    dd = pytest.importorskip("dask.dataframe")
    frame = _regions()
    m = lk.logit("y ~ center(x1) * C(region)", frame)
    lazy = m.predict_proba(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_array_equal(lazy.compute(), m.predict_proba(frame))
    with pytest.raises(TypeError, match="Dask DataFrame"):
        lk.logit("y ~ x1", dd.from_pandas(frame, npartitions=2))
