"""The design encoder: one-hot columns equal pandas' dummies, built without stacked copies."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from logitkit.encoding import DesignEncoder, encode_target


@pytest.fixture(scope="module")
def mixed_frame():
    rng = np.random.default_rng(0)
    n = 20_000
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "text": rng.choice(["b", "a", "c", "d"], n).astype(object),
        "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), ["lo", "mid", "hi"]),
        "flag": rng.random(n) < 0.3,
        "k": rng.integers(0, 5, n),
    })


def test_design_equals_pandas_dummies_with_the_first_level_dropped(mixed_frame):
    encoder = DesignEncoder.fit(mixed_frame)
    design = encoder.transform(mixed_frame)
    expected = pd.get_dummies(mixed_frame, columns=["text", "cat", "flag"], drop_first=True,
                              dtype=float)
    expected.columns = [c if "_" not in c else f"{c.split('_')[0]}[{c.split('_')[1]}]"
                        for c in expected.columns]
    expected = expected[encoder.output_names]
    np.testing.assert_array_equal(design, expected.to_numpy())
    # in column order, as the view of a float64 frame's block is: a fit reads either
    # with the same pass, to the same digits
    assert design.dtype == np.float64 and design.flags.f_contiguous


def test_columns_in_another_order_give_the_same_design(mixed_frame):
    encoder = DesignEncoder.fit(mixed_frame)
    shuffled = mixed_frame[["k", "flag", "cat", "x", "text"]].assign(extra=1.0)
    np.testing.assert_array_equal(encoder.transform(shuffled), encoder.transform(mixed_frame))


def test_transform_allocates_little_beyond_its_output():
    """No per-column one-hot blocks stacked into a copy: with 3 x 40 levels the peak stays
    near the output (it was twice the output with the stacked blocks)."""
    rng = np.random.default_rng(1)
    n = 20_000
    frame = pd.DataFrame({f"c{j}": rng.integers(0, 40, n).astype(str).astype(object)
                          for j in range(3)}).assign(x=rng.normal(size=n))
    encoder = DesignEncoder.fit(frame)
    tracemalloc.start()
    design = encoder.transform(frame)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert design.shape == (n, 3 * 39 + 1)
    assert peak < 1.25 * design.nbytes


def test_categorical_target_codes_follow_the_categories():
    y = pd.Series(pd.Categorical(["b", "c", "b", "a"], categories=["c", "b", "a", "z"]))
    classes, codes = encode_target(y)
    assert list(classes) == ["c", "b", "a"]
    np.testing.assert_array_equal(codes, [1, 0, 1, 2])


@pytest.mark.parametrize(("n_classes", "dtype"), [(2, np.int8), (127, np.int8),
                                                  (128, np.int16), (40_000, np.int32)])
def test_target_codes_take_the_smallest_integer_type(n_classes, dtype):
    labels = np.arange(3 * n_classes) % n_classes * 7  # integers in a compact range
    for y in (labels, labels.astype(str), pd.Categorical(labels)):
        classes, codes = encode_target(y)
        # (a Categorical whose categories all occur keeps its own codes, no copy)
        own = y.codes.dtype if isinstance(y, pd.Categorical) else dtype
        assert len(classes) == n_classes and codes.dtype == own
        np.testing.assert_array_equal(np.asarray(classes)[codes], np.asarray(y))


def test_a_float_frame_is_fitted_from_a_view_of_its_block():
    """A DataFrame of float64 columns is fitted from pandas' column-order view of its
    block (no copy of X: 300k x 50 had taken 133 MiB at peak, now 19); the fit equals
    the fit of the same values in column order to the last digit, and in row order to
    rounding; a frame whose columns need converting (integers) gives the same design."""
    import logitkit as lk

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40_000, 20))
    y = (X @ rng.normal(size=20) / 4 + rng.logistic(size=40_000) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(20)])
    design = DesignEncoder.fit(frame).design(frame)
    assert design.flags.f_contiguous and np.shares_memory(design, frame["x0"].to_numpy())
    tracemalloc.start()
    fitted = lk.LogisticRegression(alpha=1e-4).fit(frame, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.5 * X.nbytes  # (a copy is X's size; per-row vectors are the rest)
    in_columns = lk.LogisticRegression(alpha=1e-4).fit(np.asfortranarray(X), y)
    in_rows = lk.LogisticRegression(alpha=1e-4).fit(X, y)
    np.testing.assert_array_equal(fitted.coef_, in_columns.coef_)
    np.testing.assert_allclose(fitted.coef_, in_rows.coef_, rtol=1e-10)
    integers = frame.round().astype({"x3": np.int64})
    expected = DesignEncoder.fit(integers).transform(integers)
    np.testing.assert_array_equal(DesignEncoder.fit(integers).design(integers), expected)
    assert expected.flags.f_contiguous


def test_a_float_frame_with_nan_names_the_column():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, np.nan, 1.0]})
    with pytest.raises(ValueError, match=r"NaN or infinity in column 'b' \(first at"):
        DesignEncoder.fit(frame).design(frame)
