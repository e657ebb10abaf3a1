"""Model formulas: ``lk.logit``, ``lk.mlogit`` and ``lk.ologit`` fit an estimator to the
model matrix that formulaic builds from ``"y ~ terms"`` and a DataFrame (docs/formulas.md).

The returned estimator is the ordinary fitted ``LogisticRegression`` or
``OrdinalLogisticRegression``; its ``formula_`` (a :class:`~logitkit.formula_spec.
FormulaSpec`) makes every method that takes X (predict, predict_proba,
decision_function, score, fitted_rows, ...) pass a DataFrame through the same formula:
the same levels and references, the same transform states (other input, an array, is
taken as the model matrix itself, columns in the order of ``coef_names_``). The
intercept column is the
estimator's intercept (``- 1`` or ``+ 0``: ``fit_intercept=False``); ordinal models
have none, their cut points play its role, and refuse ``- 1``.

Fit keywords (``sample_weight``, ``clusters``, ``offset``) take arrays in the rows'
order, a pandas Series with the data's index, or the name of a column of ``data``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from logitkit.estimators import LogisticRegression, OrdinalLogisticRegression, is_dask
from logitkit.formula_spec import (
    FormulaSpec,
    check_columns,
    check_missing,
    materialize,
    parse,
    require_formulaic,
    variables,
)

__all__ = ["logit", "mlogit", "ologit"]

_ROW_KEYWORDS = ("sample_weight", "clusters", "offset")
_CHECKED_ROWS = 64


def logit(formula: str, data: pd.DataFrame, *, sample_weight=None, clusters=None,
          offset=None, validation_data=None, **params) -> LogisticRegression:
    """Fit a binary logistic regression (``LogisticRegression(**params)``) of the formula
    ``"y ~ x1 * x2 + C(g, Treatment('b'))"`` on ``data``; y must have two classes.

    params: the estimator's parameters (alpha, solver, class_weight, cov_type, ...).
    sample_weight, clusters, offset: arrays of len(data) or column names of data.
    validation_data: minibatch solvers: a DataFrame with the formula's columns.
    """
    return _fit("logit", formula, data, sample_weight, clusters, offset, validation_data,
                params)


def mlogit(formula: str, data: pd.DataFrame, *, sample_weight=None, clusters=None,
           offset=None, validation_data=None, **params) -> LogisticRegression:
    """Fit a multinomial (softmax) logistic regression, ``LogisticRegression(**params)``,
    of the formula on ``data``; y must have three or more classes. Arguments as
    :func:`logit`."""
    return _fit("mlogit", formula, data, sample_weight, clusters, offset, validation_data,
                params)


def ologit(formula: str, data: pd.DataFrame, *, sample_weight=None, clusters=None,
           offset=None, validation_data=None, **params) -> OrdinalLogisticRegression:
    """Fit an ordinal (cumulative link) model, ``OrdinalLogisticRegression(**params)``
    (``link="logit"``, "probit" or "cloglog"), of the formula on ``data``. The class order
    is that of an ordered pandas Categorical outcome, else the sorted numbers; a text
    outcome must be a Categorical. The formula keeps its intercept (the cut points take
    its place): ``- 1`` is refused. Arguments as :func:`logit`."""
    return _fit("ologit", formula, data, sample_weight, clusters, offset, validation_data,
                params)


def _fit(kind, formula, data, sample_weight, clusters, offset, validation_data, params):
    require_formulaic()
    if is_dask(data):
        raise TypeError("formula fits take a pandas DataFrame; a Dask DataFrame is fitted "
                        "with the estimators on its columns (docs/dask.md)")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    rows = {name: _row_values(value, data, name)
            for name, value in zip(_ROW_KEYWORDS, (sample_weight, clusters, offset),
                                   strict=True)}
    X, y, spec = design(formula, data)
    estimator = estimator_for(kind, spec, y, params)
    keywords = {name: value for name, value in rows.items() if value is not None}
    if validation_data is not None:
        X_val, y_val, _ = design(formula, validation_data, spec, "validation_data")
        keywords["validation_data"] = (X_val, y_val)
    estimator.fit(X, y, **keywords)
    estimator.formula_ = spec
    return estimator


def estimator_for(kind: str | None, spec: FormulaSpec, y: pd.Series, params: dict):
    """The unfitted estimator of ``kind`` ("logit", "mlogit", "ologit"; None: logit for
    two classes, else mlogit) with ``params``, checked against the formula and outcome."""
    n_classes = len(pd.unique(y))
    if n_classes < 2:
        raise ValueError(f"the outcome {spec.outcome!r} has only one class "
                         f"({pd.unique(y)[0]!r}); a model needs at least 2")
    kind = kind or ("logit" if n_classes == 2 else "mlogit")
    if kind == "ologit":
        if not spec.intercept:
            raise ValueError(f"the formula {spec.formula!r} removes the intercept ('- 1' or "
                             "'+ 0'); ordinal models have no intercept, their cut points "
                             "play its role: remove it from the formula")
        _check_ordinal_outcome(y, spec.outcome)
        return OrdinalLogisticRegression(**params)
    if kind == "logit" and n_classes != 2:
        raise ValueError(f"lk.logit fits a binary outcome; {spec.outcome!r} has {n_classes} "
                         "classes: use lk.mlogit (unordered) or lk.ologit (ordered)")
    if kind == "mlogit" and n_classes < 3:
        raise ValueError(f"lk.mlogit fits an outcome with 3 or more classes; {spec.outcome!r} "
                         f"has {n_classes}: use lk.logit")
    if "fit_intercept" in params and bool(params["fit_intercept"]) != spec.intercept:
        raise ValueError(f"fit_intercept={params['fit_intercept']!r} contradicts the formula "
                         f"{spec.formula!r}; the formula decides: '- 1' for no intercept")
    return LogisticRegression(**{**params, "fit_intercept": spec.intercept})


def design(formula: str, data: pd.DataFrame, spec: FormulaSpec | None = None,
           what: str = "data"):
    """(X model-matrix DataFrame without the intercept column, y Series, FormulaSpec) of
    ``formula`` on ``data``: a new spec from these data, or the fitted ``spec`` applied."""
    lhs, rhs = parse(formula)
    needed = formula_variables(formula)
    check_columns(data, needed, formula, what)
    if len(data) == 0:
        raise ValueError(f"{what} has no rows")
    check_missing(data, needed, what)
    y = _outcome(lhs, data, formula)
    if spec is None:
        formulaic = require_formulaic()
        matrix = materialize(formulaic.ModelSpec(formula=rhs, materializer="pandas",
                                                 na_action="raise", output="pandas"),
                             data, formula)
        spec = FormulaSpec.from_model_spec(formula, str(lhs[0]), matrix.model_spec)
        X = spec.frame(matrix, data.index)
        # the kept state rebuilds these rows' matrix (checked on a few: predict's path)
        head = data.iloc[:_CHECKED_ROWS]
        if not np.allclose(spec.transform(head), X.iloc[:_CHECKED_ROWS], rtol=1e-12,
                           atol=1e-12):
            raise ValueError(f"the formula {formula!r} cannot be kept: its saved state does "
                             "not rebuild the training rows' model matrix (a transform whose "
                             "state formulaic does not keep)")
        return X, y, spec
    return spec.transform(data), y, spec


def formula_variables(formula: str) -> list:
    """The data columns the formula uses, its outcome included."""
    lhs, rhs = parse(formula)
    return sorted(set(variables(lhs)) | set(variables(rhs)))


def _outcome(lhs, data: pd.DataFrame, formula: str) -> pd.Series:
    """The outcome: the column itself (a Categorical keeps its order), or the one column
    an expression such as ``I(score > 3)`` evaluates to."""
    name = str(lhs[0])
    if name in data.columns:
        return data[name].rename(name)
    formulaic = require_formulaic()
    spec = formulaic.ModelSpec(formula=lhs, materializer="pandas", na_action="raise",
                               output="pandas", ensure_full_rank=False)
    matrix = materialize(spec, data, formula)
    if matrix.shape[1] != 1:
        raise ValueError(f"the outcome {name!r} of {formula!r} is categorical; name its "
                         "column on the left of '~' (a pandas Categorical fixes the class "
                         "order)")
    return pd.Series(np.asarray(matrix.iloc[:, 0]), index=data.index, name=name)


def _row_values(value, data: pd.DataFrame, name: str):
    """A fit keyword's (n,) values: a column of data (by name), or the array given."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise ValueError(f"{name}={value!r} names no column of data; its columns are "
                             f"{[str(c) for c in data.columns][:20]}")
        column = data[value]
        check_missing(data, [value])
        return column.to_numpy()
    if isinstance(value, pd.Series | pd.DataFrame):
        if not value.index.equals(data.index):
            raise ValueError(f"{name} is a pandas {type(value).__name__} whose index differs "
                             "from data's; align it with data (or pass a column name)")
        return value.to_numpy()
    values = np.asarray(value)
    if values.ndim == 0 or values.shape[0] != len(data):
        raise ValueError(f"{name} has {values.shape[0] if values.ndim else 'no'} rows, data "
                         f"has {len(data)}; pass one value per row of data, or a column name")
    return values


def _check_ordinal_outcome(y: pd.Series, outcome: str) -> None:
    if isinstance(y.dtype, pd.CategoricalDtype):
        return
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        levels = sorted(map(str, pd.unique(y)))[:10]
        raise ValueError(
            f"the ordinal outcome {outcome!r} holds text {levels}; give its order as an "
            f"ordered Categorical: data[{outcome!r}] = pd.Categorical(data[{outcome!r}], "
            "categories=[lowest, ..., highest], ordered=True)")
