"""DataFrame encoding and clear errors for bad input."""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "size": rng.normal(size=n),
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "grade": pd.Categorical(rng.choice(["C", "B", "A"], size=n), categories=["C", "B", "A"]),
        "member": rng.uniform(size=n) < 0.5,
    })
    latent = df["size"] + (df["colour"] == "red") - 0.5 * df["member"] + rng.logistic(size=n)
    return df, (latent > 0.3).astype(int)


def test_categorical_columns_are_one_hot_encoded_with_reference_levels(frame):
    df, y = frame
    m = lk.LogisticRegression().fit(df, y)
    assert list(m.feature_names_in_) == ["size", "colour", "grade", "member"]
    assert m.n_features_in_ == 4
    # strings: sorted, first dropped; Categorical: first category dropped; bool: False dropped
    assert m.coef_names_ == ["size", "colour[green]", "colour[red]", "grade[B]", "grade[A]",
                             "member[True]"]
    manual = np.column_stack([
        df["size"], df["colour"] == "green", df["colour"] == "red", df["grade"] == "B",
        df["grade"] == "A", df["member"],
    ]).astype(float)
    reference = lk.LogisticRegression().fit(manual, y)
    np.testing.assert_allclose(m.coef_, reference.coef_, atol=1e-9)
    np.testing.assert_allclose(m.predict_proba(df.iloc[:5]), reference.predict_proba(manual[:5]))


def test_predict_applies_the_fitted_encoding_to_a_subset(frame):
    df, y = frame
    m = lk.LogisticRegression().fit(df, y)
    one_row = df.iloc[[3]]
    np.testing.assert_allclose(m.predict_proba(one_row), m.predict_proba(df)[[3]])


def test_unseen_category_at_predict_is_a_clear_error(frame):
    df, y = frame
    m = lk.LogisticRegression().fit(df, y)
    new = df.iloc[:3].copy()
    new["colour"] = ["red", "purple", "green"]
    with pytest.raises(ValueError, match=r"column 'colour' has categories not seen during fit"):
        m.predict(new)


def test_missing_column_at_predict_is_a_clear_error(frame):
    df, y = frame
    m = lk.LogisticRegression().fit(df, y)
    with pytest.raises(ValueError, match="grade"):
        m.predict(df.drop(columns="grade"))


def test_array_for_a_model_with_categorical_columns_is_refused(frame):
    df, y = frame
    m = lk.LogisticRegression().fit(df, y)
    with pytest.raises(ValueError, match="categorical columns"):
        m.predict(np.zeros((2, 4)))


@pytest.mark.parametrize(
    "X, y, weights, message",
    [
        ([[0.0], [np.nan], [1.0]], [0, 1, 1], None, "NaN"),
        ([[0.0], [np.inf], [1.0]], [0, 1, 1], None, "infinity"),
        ([[0.0], [1.0], [2.0]], [1, 1, 1], None, "only one class"),
        ([[0.0], [1.0], [2.0]], [0, 1], None, "inconsistent numbers of samples"),
        ([[0.0], [1.0], [2.0]], [0, 1, 1], [1.0, -1.0, 1.0], "negative"),
        ([[0.0], [1.0], [2.0]], [0, 1, 1], [0.0, 1.0, 1.0], "needs at least 2 of them"),
        ([[0.0], [1.0], [2.0]], [0, 1, None], None, "missing values"),
    ],
)
def test_bad_input_is_a_clear_value_error(X, y, weights, message):
    with pytest.raises(ValueError, match=message):
        lk.LogisticRegression().fit(np.asarray(X), np.asarray(y, dtype=object)
                                    if None in y else y, sample_weight=weights)


def test_nan_in_a_dataframe_names_the_column_and_row():
    df = pd.DataFrame({"a": [0.0, 1.0, np.nan, 2.0], "b": ["x", "y", "x", "y"]})
    with pytest.raises(ValueError, match=r"column 'a' \(first at row 2\)"):
        lk.LogisticRegression().fit(df, [0, 1, 0, 1])
    df = pd.DataFrame({"a": [0.0, 1.0, 3.0, 2.0], "b": ["x", None, "x", "y"]})
    with pytest.raises(ValueError, match=r"column 'b' has missing values \(first at row 1\)"):
        lk.LogisticRegression().fit(df, [0, 1, 0, 1])


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"alpha": -1.0}, ValueError, "alpha"),
        ({"alpha": 0.1, "l1_ratio": 0.5, "solver": "newton"}, ValueError, "prox-newton"),
        ({"alpha": 0.1, "l1_ratio": 0.5, "solver": "adam"}, ValueError, "prox-newton"),
        ({"penalty_groups": "all"}, ValueError, "penalty_groups"),
        ({"penalty_factor": [1.0, 2.0]}, ValueError, "one entry per feature"),
        ({"penalty_factor": [-1.0]}, ValueError, ">= 0"),
        ({"solver": "sag"}, ValueError, "solver"),
        ({"tol": 0}, ValueError, "tol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
    ],
)
def test_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        lk.LogisticRegression(**params).fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])


def test_unknown_ordinal_link():
    with pytest.raises(ValueError, match="link must be one of"):
        lk.OrdinalLogisticRegression(link="cauchit").fit([[0.0], [1.0], [2.0]], [0, 1, 2])


def test_float32_input_is_accepted_and_agrees_with_float64():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=500) > 0).astype(int)
    m64 = lk.LogisticRegression().fit(X, y)
    m32 = lk.LogisticRegression().fit(X.astype(np.float32), y)
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-5)
