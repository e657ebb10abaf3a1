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
    assert design.dtype == np.float64 and design.flags.c_contiguous


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
