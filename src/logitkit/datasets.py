"""Small data sets: the published examples logitkit is checked against, and the seed
tutorials it grew out of.

* :func:`load_spector`, :func:`load_ucla_apply`, :func:`load_anes96` -- the data on which
  logitkit's tests reproduce Stata's ``logit``, ``ologit`` and ``mlogit`` (DataFrames,
  shipped as package data); :func:`load` takes their short names (:data:`NAMES`).
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
    "NAMES",
    "UCLA_APPLY_LEVELS",
    "load",
    "load_anes96",
    "load_seed_table",
    "load_spector",
    "load_ucla_apply",
    "make_sigmoid_1d",
    "make_blobs_2d",
    "make_softmax_3class",
    "make_linear_vs_logistic",
]


def _read(filename: str, dtype: dict) -> pd.DataFrame:
    """The package-data CSV ``logitkit/data/<filename>``; ``dtype`` as in ``pd.read_csv``."""
    with (files("logitkit") / "data" / filename).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=dtype)


def load_spector() -> pd.DataFrame:
    """Spector & Mazzeo's teaching-method data (binary outcome ``GRADE``).

    Spector, L. C. and Mazzeo, M. (1980), "Probit analysis and economic education",
    *Journal of Economic Education* 11(2), 37-44; also in Greene, *Econometric Analysis*,
    and ``statsmodels.datasets.spector``.  logitkit's tests reproduce Stata 11's
    ``logit GRADE GPA TUCE PSI`` on it.

    Returns a DataFrame of shape (32, 5): ``OBS`` (int64, row number 1..32), ``GPA``
    (float64, grade point average), ``TUCE`` (int64, score on the Test of Understanding of
    College Economics), ``PSI`` (int64, 1 if taught by the Personalized System of
    Instruction), ``GRADE`` (int64, 1 if the student's grade improved).
    """
    return _read("spector.csv", {"OBS": "int64", "GPA": "float64", "TUCE": "int64",
                                 "PSI": "int64", "GRADE": "int64"})


UCLA_APPLY_LEVELS = ("unlikely", "somewhat likely", "very likely")


def load_ucla_apply() -> pd.DataFrame:
    """The UCLA graduate-school data (ordinal outcome ``apply``).

    UCLA Statistical Consulting Group, "Ordered logistic regression | Stata data analysis
    examples" (``https://stats.oarc.ucla.edu/stata/dae/ordered-logistic-regression/``,
    file ``ologit.dta``; simulated data).  logitkit's tests reproduce Stata's
    ``ologit apply pared public gpa`` and R's ``MASS::polr`` on it.

    Returns a DataFrame of shape (400, 4): ``apply`` (how likely the student is to apply
    to graduate school: an ordered Categorical with categories ``"unlikely" <
    "somewhat likely" < "very likely"``, 220 / 140 / 40 rows), ``pared`` (int64, 1 if a
    parent has a graduate degree), ``public`` (int64, 1 if the undergraduate institution
    is public), ``gpa`` (float64, college grade point average).
    """
    frame = _read("ucla_apply.csv", {"pared": "int64", "public": "int64", "gpa": "float64"})
    frame["apply"] = pd.Categorical(frame["apply"], categories=UCLA_APPLY_LEVELS, ordered=True)
    return frame


_ANES96_COLUMNS = ("popul", "TVnews", "selfLR", "ClinLR", "DoleLR", "PID", "age", "educ",
                  "income", "vote")


def load_anes96() -> pd.DataFrame:
    """American National Election Studies 1996 (7-level outcome ``PID``).

    A subset of the 1996 American National Election Study (public domain,
    ``https://electionstudies.org``), as shipped by ``statsmodels.datasets.anes96``.
    logitkit's tests reproduce Stata 11's ``mlogit PID logpopul selfLR age educ income``
    (base outcome 0) on it, as statsmodels' ``MNLogit`` tests do.

    Returns a DataFrame of shape (944, 11), every column int64 but ``logpopul``:
    ``popul`` (population of the respondent's census place, in thousands), ``TVnews``
    (times per week the respondent watches TV news, 0..7), ``selfLR``, ``ClinLR``,
    ``DoleLR`` (the respondent's own, Clinton's and Dole's place on a 7-point scale,
    1 extremely liberal .. 7 extremely conservative), ``PID`` (party identification,
    0 strong Democrat, 1 weak Democrat, 2 independent-Democrat, 3 independent,
    4 independent-Republican, 5 weak Republican, 6 strong Republican), ``age`` (years),
    ``educ`` (education, 1 grades 1-8 .. 7 PhD), ``income`` (household income bracket,
    1..24), ``vote`` (expected vote, 0 Clinton, 1 Dole), and ``logpopul`` (float64,
    ``log(popul + 0.1)``, the regressor of that ``mlogit``).
    """
    frame = _read("anes96.csv", dict.fromkeys(_ANES96_COLUMNS, "int64"))
    frame["logpopul"] = np.log(frame["popul"] + 0.1)
    return frame


def load_seed_table(as_frame: bool = True):
    """The 20-row table of seed 001 (binary outcome ``Label``, perfectly separated).

    Package data ``logitkit/data/seed_table.csv``.  Returns a DataFrame of shape (20, 3)
    with float64 columns ``Feature1``, ``Feature2`` and int64 column ``Label`` when
    ``as_frame`` is true, else ``(X, y)`` with ``X`` float64 of shape (20, 2) and ``y``
    int64 of shape (20,).  ``Label == 1`` exactly when ``Feature1 > 4.8`` (and also
    exactly when ``Feature2 > 3.65``).
    """
    df = _read("seed_table.csv", {"Feature1": "float64", "Feature2": "float64",
                                  "Label": "int64"})
    if as_frame:
        return df
    X = df[["Feature1", "Feature2"]].to_numpy(dtype=np.float64)
    y = df["Label"].to_numpy(dtype=np.int64)
    return X, y


NAMES = {
    "spector": load_spector,
    "ucla": load_ucla_apply,
    "anes96": load_anes96,
    "seed": load_seed_table,
}
"""The data sets that ship with logitkit, by the short name :func:`load` and the
``logitkit datasets`` command take."""


def load(name: str) -> pd.DataFrame:
    """The shipped data set ``name`` (a key of :data:`NAMES`) as a DataFrame."""
    try:
        loader = NAMES[name]
    except KeyError:
        raise ValueError(f"no data set named {name!r}; the data sets are "
                         f"{', '.join(NAMES)}") from None
    return loader()


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
