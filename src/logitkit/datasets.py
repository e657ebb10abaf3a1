"""Small data sets reproducing the seed tutorials logitkit grew out of.

* :func:`load_seed_table` -- the 20-row ``Feature1, Feature2, Label`` table of seed 001.
* :func:`make_sigmoid_1d`, :func:`make_blobs_2d`, :func:`make_softmax_3class` -- the
  simulated data of the seed 002 Keras programs (same distributions, same draw order).
* :func:`make_linear_vs_logistic` -- the 1-D "why not linear regression?" data of seed 000.

Every generator takes ``random_state`` (``None``, an int or a :class:`numpy.random.Generator`,
passed to :func:`numpy.random.default_rng`) and returns ``(X, y)`` with ``X`` a float64 array
of shape ``(n, d)`` and ``y`` an int64 array of shape ``(n,)``.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

__all__ = [
    "load_seed_table",
    "make_sigmoid_1d",
    "make_blobs_2d",
    "make_softmax_3class",
    "make_linear_vs_logistic",
]


def load_seed_table(as_frame: bool = True):
    """Load the 20-row table of seed 001 (package data ``logitkit/data/seed_table.csv``).

    Returns a DataFrame with float columns ``Feature1``, ``Feature2`` and int column ``Label``
    when ``as_frame`` is true, else ``(X, y)`` with ``X`` float64 of shape (20, 2) and ``y``
    int64 of shape (20,).  The table is perfectly separated: ``Label == 1`` exactly when
    ``Feature1 > 4.8`` (and also exactly when ``Feature2 > 3.65``).
    """
    resource = files("logitkit") / "data" / "seed_table.csv"
    with resource.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype={"Feature1": "float64", "Feature2": "float64", "Label": "int64"})
    if as_frame:
        return df
    X = df[["Feature1", "Feature2"]].to_numpy(dtype=np.float64)
    y = df["Label"].to_numpy(dtype=np.int64)
    return X, y


def _labels(*counts: int) -> np.ndarray:
    """``[0]*counts[0] + [1]*counts[1] + ...`` as an int64 array."""
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def make_sigmoid_1d(n_per_class: int = 1000, random_state=None):
    """Seed 002, "Logistic Regression 1D": class 0 ~ N(-4, 2), class 1 ~ N(4, 2).

    Returns ``X`` of shape (2 * n_per_class, 1) and ``y`` of shape (2 * n_per_class,),
    class 0 first then class 1 (unshuffled, as in the seed).
    """
    rng = np.random.default_rng(random_state)
    x0 = rng.normal(-4.0, 2.0, n_per_class)
    x1 = rng.normal(4.0, 2.0, n_per_class)
    X = np.concatenate([x0, x1]).reshape(-1, 1)
    return X, _labels(n_per_class, n_per_class)


def make_blobs_2d(n_per_class: int = 1000, random_state=None):
    """Seed 002, "2D Logistic Regression": class 0 around (3, 2), class 1 around (7, 6), sd 1.

    Returns ``X`` of shape (2 * n_per_class, 2) and ``y`` of shape (2 * n_per_class,),
    class 0 first then class 1 (unshuffled, as in the seed).
    """
    rng = np.random.default_rng(random_state)
    # Same draw order as the seed: x1 then x2 of class 0, then x1 then x2 of class 1.
    cols = [rng.normal(mu, 1.0, n_per_class) for mu in (3.0, 2.0, 7.0, 6.0)]
    X = np.vstack([np.column_stack(cols[:2]), np.column_stack(cols[2:])])
    return X, _labels(n_per_class, n_per_class)


def make_softmax_3class(n_per_class: int = 100, random_state=None, shuffle: bool = True):
    """Seed 002, "Softmax Regression": three sd-1 clusters at (1, 1), (5, 4) and (8, 0).

    Returns ``X`` of shape (3 * n_per_class, 2) and integer labels ``y`` in {0, 1, 2}
    (the seed one-hot encodes them; use ``np.eye(3)[y]`` for that).  Rows are shuffled
    when ``shuffle`` is true, as the seed's training set is; its 10-per-class test set is
    ``make_softmax_3class(10, other_state, shuffle=False)``.
    """
    rng = np.random.default_rng(random_state)
    centers = [(1.0, 1.0), (5.0, 4.0), (8.0, 0.0)]
    X = np.vstack(
        [
            np.column_stack([rng.normal(c1, 1.0, n_per_class), rng.normal(c2, 1.0, n_per_class)])
            for c1, c2 in centers
        ]
    )
    y = _labels(n_per_class, n_per_class, n_per_class)
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return X, y


def make_linear_vs_logistic(imbalanced: bool = False, random_state=None, n_per_class: int = 20):
    """Seed 000: why least squares is a poor classifier.  ``X`` is (n, 1), ``y`` is (n,).

    The seed shows only figures, so the data is reconstructed from the numbers it quotes.

    Balanced (``n = 2 * n_per_class``): class-0 points at ``19.5 - d`` and class-1 points at
    ``19.5 + d`` with the *same* offsets ``d``, evenly spread over [-0.5, 19.5] plus a uniform
    +-0.4 jitter, so x runs from about 0 to 39.  The mirror symmetry puts both the
    least-squares line's 0.5-crossing and the logistic decision boundary at exactly x = 19.5
    (the seed's value) for every ``random_state``.  The smallest offset is always negative
    (with the default size it is the only one), so the classes overlap by one pair of points
    and the logistic maximum-likelihood estimate exists.

    Imbalanced (``n = 2 * n_per_class + 12`` by default): the same points plus
    ``max(1, 3 * n_per_class // 5)`` extra class-1 points drawn uniformly from [75, 95],
    far to the right.  They are easy to classify, so the logistic boundary barely moves,
    but their leverage flattens the least-squares line and drags its 0.5-crossing to about
    x = 24 (the seed's value), misclassifying the class-1 points between 19.5 and 24.

    Orientation: the seed's text is ambiguous about which class lies on which side; we put
    class 0 on the left (small x) and class 1 on the right.
    """
    rng = np.random.default_rng(random_state)
    d = np.linspace(-0.5, 19.5, n_per_class) + rng.uniform(-0.4, 0.4, n_per_class)
    x = np.concatenate([19.5 - d, 19.5 + d])
    y = _labels(n_per_class, n_per_class)
    if imbalanced:
        n_extra = max(1, 3 * n_per_class // 5)
        x = np.concatenate([x, rng.uniform(75.0, 95.0, n_extra)])
        y = np.concatenate([y, np.ones(n_extra, dtype=np.int64)])
    return x.reshape(-1, 1), y
