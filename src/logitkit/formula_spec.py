"""A model formula's fitted specification, kept as data, applied to new DataFrames.

:class:`FormulaSpec` holds what formulaic learnt from the training data: the formula
text, the model matrix's columns, each categorical factor's levels and each stateful
transform's state (``center``'s mean, ``scale``'s mean and sd, a spline's knots,
``poly``'s recurrence). It holds only strings, numbers, lists, dicts and NumPy arrays,
so model files store it as data (:mod:`logitkit.io`) and a loaded model rebuilds the
same formulaic ``ModelSpec``: new data go through the same transformation. Names in a
formula resolve to the columns of the data, NumPy (``np.``) and formulaic's transforms,
never to the caller's variables (which a model file could not carry).

Unlike formulaic (which warns and encodes zeros), a category not seen in training is an
error naming the factor, the values and the first row. Missing values in the variables
the formula uses are an error naming the column and the first row.
"""

from __future__ import annotations

import ast
import copy
import functools
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from logitkit.messages import row_name

__all__ = ["FormulaSpec", "check_columns", "check_missing", "materialize", "parse",
           "require_formulaic", "variables"]

_INTERCEPT = "Intercept"

# Formulas are parsed and evaluated one thread at a time. formulaic parses a factor's
# code with ``ast``, which CPython 3.11 does not keep thread-safe ("SystemError: AST
# constructor recursion depth mismatch", python/cpython#106905), and
# ``warnings.catch_warnings`` changes the process's filters; Dask's threaded scheduler
# predicts partitions in threads.
_EVALUATING = threading.RLock()


def _one_thread_at_a_time(function):
    """``function`` run holding :data:`_EVALUATING`."""
    @functools.wraps(function)
    def locked(*args, **kwargs):
        with _EVALUATING:
            return function(*args, **kwargs)
    return locked


def require_formulaic():
    """The formulaic module; an ImportError naming the extra when it is not installed."""
    try:
        import formulaic
    except ImportError:
        raise ImportError("model formulas need formulaic: pip install 'logitkit[formula]'") \
            from None
    return formulaic


#: The NumPy functions a formula may call (np.log(x), ...): elementwise arithmetic only,
#: so that a model file's formula cannot read or write files or reach other code.
NUMPY_FUNCTIONS = frozenset({
    "abs", "absolute", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cbrt",
    "ceil", "clip", "cos", "cosh", "exp", "exp2", "expm1", "fabs", "floor", "fmax", "fmin",
    "hypot", "isfinite", "log", "log10", "log1p", "log2", "logical_and", "logical_not",
    "logical_or", "maximum", "minimum", "power", "reciprocal", "rint", "round", "sign",
    "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "where"})
#: contr.<name>: formulaic's contrast codings
CONTRASTS = frozenset({"treatment", "sum", "helmert", "poly", "diff", "SAS", "custom"})
_NODES = (ast.Expression, ast.Call, ast.Name, ast.Attribute, ast.Constant, ast.BinOp,
          ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.List, ast.Tuple, ast.keyword,
          ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _check_expression(expr: str, formula: str) -> None:
    """Refuse a factor's Python expression that uses anything but the data's columns,
    constants, arithmetic, formulaic's transforms, ``contr.<coding>`` and
    :data:`NUMPY_FUNCTIONS`: formulas are evaluated, and a loaded model file's formula
    must not run other code."""
    from formulaic.transforms import TRANSFORMS
    from formulaic.utils.code import sanitize_variable_names

    aliases: dict = {}
    try:
        tree = ast.parse(sanitize_variable_names(expr, {}, aliases).strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"the formula {formula!r} has the term {expr!r}, which is not a "
                         f"Python expression ({e.msg})") from None
    allowed = {"np": NUMPY_FUNCTIONS, "contr": CONTRASTS}

    def refuse(what: str):
        raise ValueError(
            f"the formula {formula!r} uses {what}, which model formulas do not allow: they "
            "take the data's columns, constants, arithmetic, formulaic's transforms (C, I, "
            "center, scale, bs, cr, cc, poly, contr.treatment, ...) and NumPy's elementwise "
            "functions (np.log, np.exp, np.sqrt, np.abs, ...: logitkit.formula_spec."
            "NUMPY_FUNCTIONS); compute other columns in the data first")

    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            refuse(f"the construct {type(node).__name__} in {expr!r}")
        if isinstance(node, ast.Name) and node.id.startswith("_") and node.id not in aliases:
            refuse(repr(node.id))
        if isinstance(node, ast.keyword) and (node.arg is None or node.arg.startswith("_")):
            refuse(f"the argument {node.arg or '**'!r} in {expr!r}")
        if isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr not in allowed.get(owner, ()):
                refuse(ast.unparse(node))
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name | ast.Attribute):
            refuse(f"the call {ast.unparse(node)}")  # (only named functions are called)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id not in TRANSFORMS:
            refuse(f"the function {node.func.id}()")


@_one_thread_at_a_time
def parse(formula: str):
    """(outcome SimpleFormula, right-hand side SimpleFormula) of ``"y ~ terms"``."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x1 + C(g)', got "
                        f"{type(formula).__name__}")
    formulaic = require_formulaic()
    try:
        parsed = formulaic.Formula(formula)
    except Exception as e:  # formulaic's parser errors
        raise ValueError(f"cannot parse the formula {formula!r}: {e}") from None
    lhs, rhs = getattr(parsed, "lhs", None), getattr(parsed, "rhs", None)
    if lhs is None or rhs is None or len(lhs) == 0:
        raise ValueError(f"the formula {formula!r} has no outcome: write it as 'y ~ x1 + x2'")
    if not isinstance(rhs, formulaic.formula.SimpleFormula):
        raise ValueError(f"the formula {formula!r} has several right-hand sides ('|'); "
                         "write one: 'y ~ x1 + x2'")
    if len(lhs) != 1:
        raise ValueError(f"the formula {formula!r} has {len(lhs)} outcome terms "
                         f"({[str(t) for t in lhs]}); give one outcome column")
    for term in (*lhs, *rhs):
        for factor in term.factors:
            if getattr(factor.eval_method, "value", factor.eval_method) == "python":
                _check_expression(str(factor.expr), formula)
    return lhs, rhs


@_one_thread_at_a_time
def variables(terms) -> list:
    """The data variables that the terms of a parsed (checked) formula use (formulaic's
    own ``required_variables`` leaves out the arguments of stateful transforms)."""
    from formulaic.transforms import TRANSFORMS
    from formulaic.utils.variables import get_required_variables

    values = set()
    for term in terms:
        for factor in term.factors:
            method = getattr(factor.eval_method, "value", factor.eval_method)
            if method == "lookup":
                values.add(str(factor.expr))
            elif method == "python":
                values.update(str(v.root) for v in get_required_variables(factor.expr, {})
                              if v.root not in TRANSFORMS
                              and "callable" not in {getattr(r, "value", r) for r in v.roles})
    return sorted(values)


def check_missing(data: pd.DataFrame, names, what: str = "data") -> None:
    """A clear error for the first missing value in the columns ``names`` of ``data``."""
    for name in names:
        if name not in data.columns:
            continue
        missing = data[name].isna().to_numpy()
        if missing.any():
            bad = [n for n in names if n in data.columns and data[n].isna().any()]
            raise ValueError(
                f"column {name!r} of {what} has a missing value at "
                f"{row_name(np.argmax(missing), data.index)} ({int(missing.sum())} of "
                f"{len(data)} rows); formula fits refuse missing values: drop those rows "
                f"(data.dropna(subset={bad})) or fill them")


def check_columns(data, names, formula: str, what: str = "data") -> None:
    """An error naming the formula's variables that ``data`` (a DataFrame) lacks."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"a model fitted with the formula {formula!r} takes a pandas "
                        f"DataFrame holding its variables {sorted(names)}; got "
                        f"{type(data).__name__}")
    absent = sorted(n for n in names if n not in data.columns)
    if absent:
        raise ValueError(f"{what} lacks the column(s) {absent} that the formula {formula!r} "
                         f"uses; its columns are {[str(c) for c in data.columns][:20]}")


@_one_thread_at_a_time
def materialize(spec, data: pd.DataFrame, formula: str):
    """The model matrix (a DataFrame) of formulaic ``spec`` on ``data``, names resolved in
    the data, NumPy and formulaic's transforms only; formulaic's evaluation errors become
    ValueErrors naming the formula; values outside a factor's levels are an error
    (:func:`_unseen_levels`)."""
    formulaic = require_formulaic()
    materializer = spec.get_materializer(data, context={})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            matrix = materializer.get_model_matrix(spec)
        except (formulaic.errors.FormulaicError, ValueError, TypeError, KeyError) as e:
            if "null values" in str(e):  # formulaic's check (na_action="raise")
                raise ValueError(f"the formula {formula!r} gives missing values: {e}") \
                    from None
            raise ValueError(f"cannot evaluate the formula {formula!r} on the data: {e}") \
                from None
    mismatch = any(issubclass(w.category, formulaic.errors.DataMismatchWarning)
                   for w in caught)
    if mismatch:
        _unseen_levels(materializer, matrix.model_spec, data)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return matrix


def _unseen_levels(materializer, spec, data: pd.DataFrame) -> None:
    """Raise a ValueError naming the categorical factor with values outside its levels."""
    for expr, (kind, state) in spec.encoder_state.items():
        levels = state.get("categories") if getattr(kind, "value", kind) == "categorical" \
            else None
        evaluated = materializer.factor_cache.get(expr)
        if levels is None or evaluated is None:
            continue
        values = pd.Series(np.asarray(evaluated.values.__wrapped__
                                      if hasattr(evaluated.values, "__wrapped__")
                                      else evaluated.values, dtype=object))
        unseen = ~values.isin(list(levels)) & values.notna()
        if unseen.any():
            first = int(np.argmax(unseen.to_numpy()))
            shown = sorted({str(v) for v in values[unseen]})[:10]
            raise ValueError(
                f"the factor {expr} has values not seen in training: {shown} (first at "
                f"{row_name(first, data.index)}); its known levels are "
                f"{[str(v) for v in levels]}. Map them to known levels or refit on data "
                "that has them")
    raise ValueError("the data have categories not seen in training (formulaic could not "
                     "say which factor); check the categorical columns against the model's "
                     "levels (model.formula_.levels)")


def _state_to_data(value, where: str):
    """A transform's or encoder's state as plain data (dicts, lists, numbers, strings,
    NumPy arrays); formulaic's ``contrasts`` entries, kept only for introspection, are
    dropped (the levels and the formula text define the coding)."""
    if isinstance(value, dict):
        return {k: _state_to_data(v, f"{where}.{k}") for k, v in value.items()
                if k != "contrasts"}
    if isinstance(value, list | tuple):
        return type(value)(_state_to_data(v, f"{where}[{i}]") for i, v in enumerate(value))
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic | np.ndarray):
        return value
    raise ValueError(f"cannot keep the formula's state {where}: a value of type "
                     f"{type(value).__name__}; this transform cannot be saved as data")


@dataclass(frozen=True)
class FormulaSpec:
    """formula: the formula as written; outcome: its left-hand side; columns: the model
    matrix's columns without the intercept (the estimator's ``coef_names_``); intercept:
    whether the right-hand side has one (the estimator fits it); variables: the data
    columns the right-hand side uses; levels: {factor: its levels} of the categorical
    factors; transform_state / encoder_state: formulaic's fitted state as data
    (encoder_state: {factor: [kind, state]})."""

    formula: str
    outcome: str
    columns: list
    intercept: bool
    variables: list
    levels: dict
    transform_state: dict
    encoder_state: dict

    @classmethod
    def from_model_spec(cls, formula: str, outcome: str, spec) -> FormulaSpec:
        """The spec of a model matrix formulaic built from the training data."""
        columns = [str(c) for c in spec.column_names]
        intercept = any(str(s.term) == "1" for s in spec.structure)
        encoder = {str(expr): [getattr(kind, "value", str(kind)),
                               _state_to_data(state, f"{expr}")]
                   for expr, (kind, state) in spec.encoder_state.items()}
        levels = {expr: list(state["categories"]) for expr, (kind, state) in encoder.items()
                  if kind == "categorical" and "categories" in state}
        _, rhs = parse(formula)
        used = sorted(set(variables(rhs)) | {str(v) for v in spec.required_variables})
        return cls(formula, outcome, [c for c in columns if not (intercept and c == _INTERCEPT)],
                   intercept, used, levels,
                   _state_to_data(dict(spec.transform_state), "transform_state"), encoder)

    def model_spec(self):
        """The formulaic ``ModelSpec`` of the right-hand side with the fitted state (a
        copy: formulaic updates its states in place)."""
        formulaic = require_formulaic()
        from formulaic.parser.types import Factor

        _, rhs = parse(self.formula)
        encoder = {expr: (Factor.Kind(kind), copy.deepcopy(state))
                   for expr, (kind, state) in self.encoder_state.items()}
        return formulaic.ModelSpec(formula=rhs, materializer="pandas", na_action="raise",
                                   output="pandas", ensure_full_rank=True,
                                   transform_state=copy.deepcopy(self.transform_state),
                                   encoder_state=encoder)

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        """(n, len(columns)) float64 model matrix of ``data`` (its rows and index), built
        as in training; errors name absent columns, missing values, unseen levels."""
        check_columns(data, self.variables, self.formula)
        if len(data) == 0:
            raise ValueError("X has 0 samples; at least one is required")
        check_missing(data, self.variables)
        return self.frame(materialize(self.model_spec(), data, self.formula), data.index)

    def frame(self, matrix, index) -> pd.DataFrame:
        """formulaic's model ``matrix`` as the float64 DataFrame of ``columns``; an error
        when its columns are not the fitted ones."""
        expected = ([_INTERCEPT] if self.intercept else []) + list(self.columns)
        if [str(c) for c in matrix.columns] != expected:
            raise ValueError(f"the formula {self.formula!r} gives the columns "
                             f"{[str(c) for c in matrix.columns]} on these data, not the "
                             f"fitted {expected}; the column types may differ from the "
                             "training data's")
        out = pd.DataFrame(np.asarray(matrix, dtype=np.float64), index=index,
                           columns=expected)
        return out[list(self.columns)] if self.intercept else out
