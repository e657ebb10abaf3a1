"""``logitkit fit --formula "y ~ ..."``: the columns a formula uses, typed and checked as
the ``--target`` path types them, then fitted as :mod:`logitkit.formulas` fits them.

Columns that hold mostly numbers are numeric (a stray non-number is an error naming its
row); text and true/false columns are categorical. Missing or infinite values in the
formula's columns (and the weights and clusters columns) are refused, or their rows
dropped with ``--dropna``, as for ``--target``. ``logitkit predict`` and ``evaluate``
apply the saved formula (:func:`logitkit.readers.prediction_features`).
"""

from __future__ import annotations

import pandas as pd

from logitkit import readers
from logitkit.cli import CliError, _check_kind, _fit, _note

__all__ = ["fit_formula"]

_KINDS = {"binary": "logit", "multinomial": "mlogit", "ordinal": "ologit", None: None}


def fit_formula(frame: pd.DataFrame, name: str, formula: str, kind, order, weights,
                clusters, offset, dropna: bool, params: dict):
    """(fitted model, rows used) of ``logitkit fit --formula``."""
    from logitkit.formula_spec import parse
    from logitkit.formulas import design, estimator_for, formula_variables

    outcome = str(parse(formula)[0][0])
    used = formula_variables(formula)
    frame = frame.reset_index(drop=True)
    readers._require(frame, [c for c in used if c != outcome], "formula")
    for column, role in ((weights, "weights"), (clusters, "clusters"), (offset, "offset")):
        if column is not None:
            readers._require(frame, [column], role)
    if "threshold" in params and kind in ("multinomial", "ordinal"):
        raise CliError(f"--threshold applies to binary models, not --kind {kind}")
    roles = [c for c in (weights, clusters, offset) if c is not None]
    table = readers.typed_columns(frame, [c for c in used if c in frame.columns] + roles,
                          keep=(outcome, clusters))
    table, n_dropped = readers._drop_bad_rows(table, dropna, name)
    if n_dropped:
        _note(f"dropped {n_dropped} of {len(frame)} rows with missing or infinite values")
    if order is not None:
        if outcome not in table.columns:
            raise CliError(f"--order applies to an outcome column; the formula's outcome is "
                           f"{outcome!r}")
        table[outcome] = readers._ordered(table[outcome], order, outcome)
    X, y, spec = design(formula, table)
    _check_kind(kind, pd.unique(y), y.dtype, outcome)
    model = estimator_for(_KINDS[kind], spec, y, params)
    _fit(model, X, y, None if weights is None else table[weights].to_numpy(),
         None if clusters is None else table[clusters].to_numpy(),
         None if offset is None else readers.numeric_column(table, offset))
    model.formula_ = spec
    return model, len(table)
