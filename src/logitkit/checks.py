"""Model checks on the estimators: residuals, influence measures, the Hosmer-Lemeshow
goodness-of-fit tests and the Brant test of proportional odds (docs/checks.md).

Each method reads rows: by default the fitting rows (``fitted_rows``), else the X, y
(and sample_weight, offset) given; the fit's offset enters the linear predictor. The
computations live in :mod:`logitkit.residuals`, :mod:`logitkit.hosmer_lemeshow` and
:mod:`logitkit.brant`; rows are read in blocks (:mod:`logitkit.row_fits`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from logitkit.brant import brant, empty_cells
from logitkit.hosmer_lemeshow import GoodnessOfFit, binary_test, class_test
from logitkit.messages import plain
from logitkit.residuals import (
    DFBETAS,
    KINDS,
    binary_influence,
    binary_residuals,
    class_residuals,
)
from logitkit.row_fits import HostRows, class_probabilities, host_rows


class ChecksMixin:
    """Adds residuals(), influence(), hosmer_lemeshow() and brant_test()."""

    def _check_rows(self, X, y, sample_weight, offset) -> tuple[HostRows, pd.Index]:
        check_is_fitted(self)
        if X is None and offset is not None:
            raise ValueError("offset goes with X and y: pass them too, or none of them (the "
                             "fitting rows and their offset)")
        rows = host_rows(self.fitted_rows(X, y, sample_weight, offset=offset))
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(rows.n)
        return rows, index

    def _is_ordinal(self) -> bool:
        return hasattr(self, "thresholds_")

    def _is_binary(self) -> bool:
        return not self._is_ordinal() and len(self.classes_) == 2

    def _free_columns(self) -> np.ndarray:
        aliased = self.result_.aliased
        return (np.ones(len(self.coef_names_), bool) if aliased is None
                else ~np.asarray(aliased, bool))

    def residuals(self, kind: str = "deviance", X=None, y=None, sample_weight=None,
                  offset=None):
        """Residuals of ``kind`` ("deviance" (default, as R), "pearson", "response",
        "working", "probability") of the fitting rows or of X, y given (docs/checks.md).

        Binary fits: an (n,) Series, R's ``residuals.glm`` with the row weights as prior
        weights. Multinomial and ordinal: "response" and "pearson" an (n, K) DataFrame
        (one column per class, the class indicator against its probability),
        "deviance" an (n,) Series of sqrt(-2 w log P(y)) (unsigned); "working" is
        defined for binary fits only. "probability": Li and Shepherd's probability-scale
        residual P(Y < y) - P(Y > y), an (n,) Series (ordinal and binary fits)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {plain(kind)!r}")
        rows, index = self._check_rows(X, y, sample_weight, offset)
        if self._is_binary():
            return pd.Series(binary_residuals(self, rows, kind), index=index, name=kind)
        if kind == "probability" and not self._is_ordinal():
            raise ValueError(
                'kind="probability" (P(Y < y) - P(Y > y)) needs ordered classes: it is '
                "defined for ordinal and binary fits, not for a multinomial model")
        if kind == "working":
            raise ValueError(
                'kind="working" is defined for binary fits (one linear predictor); this '
                f"{self._model_name().lower()} model has {len(self.classes_)} classes: use "
                '"response" or "pearson" (per class) or "deviance" (per row)')
        values = class_residuals(self, rows, kind)
        if values.ndim == 1:
            return pd.Series(values, index=index, name=kind)
        return pd.DataFrame(values, index=index,
                            columns=pd.Index(self.classes_, name=self.target_name_))

    def influence(self, X=None, y=None, sample_weight=None, offset=None,
                  dfbetas: str = "R") -> pd.DataFrame:
        """Influence measures of a binary maximum-likelihood fit, one row per data row:
        ``hat`` (R's hatvalues), ``cooks_distance`` (R's cooks.distance), ``pearson``
        and ``deviance`` residuals, and ``dfb_<term>`` per estimated parameter.

        dfbetas: "R" (R's ``dfbetas`` of a glm: deviance residuals, scaled by the
        leave-one-out sigma) or "one-step" (the one-step change of the estimates over
        their standard errors: Pregibon 1981, SAS's DFBETAS, statsmodels'
        ``GLMInfluence.dfbetas``). Weights are R's prior weights (docs/checks.md); two
        passes over X in row blocks."""
        if not self._is_binary():
            raise ValueError("influence() is defined for binary fits (hat values of one "
                             "linear predictor, as R's glm); this model has "
                             f"{len(self.classes_)} classes")
        if self.alpha != 0 or getattr(self, "penalty", None) is not None:
            penalty = (f"alpha={plain(self.alpha)!r}" if self.alpha != 0
                       else f"penalty={plain(self.penalty)!r}")
            raise ValueError(f"influence() measures the maximum-likelihood fit; this fit "
                             f"is penalised ({penalty}): refit with alpha=0 and "
                             "penalty=None")
        if dfbetas not in DFBETAS:
            raise ValueError(f"dfbetas must be one of {DFBETAS}, got {plain(dfbetas)!r}")
        rows, index = self._check_rows(X, y, sample_weight, offset)
        free = self._free_columns()
        intercept = bool(self.fit_intercept)
        terms = (["Intercept"] if intercept else []) + \
            [name for name, keep in zip(self.coef_names_, free, strict=True) if keep]
        parts = binary_influence(self, rows, free, intercept, dfbetas)
        frame = pd.DataFrame({name: parts[name] for name in
                              ("hat", "cooks_distance", "pearson", "deviance")}, index=index)
        betas = pd.DataFrame(parts["dfbetas"], index=index,
                             columns=[f"dfb_{term}" for term in terms])
        return pd.concat([frame, betas], axis=1)

    def hosmer_lemeshow(self, groups: int = 10, X=None, y=None, sample_weight=None,
                        offset=None) -> GoodnessOfFit:
        """The Hosmer-Lemeshow test with ``groups`` groups: binary fits as Stata's ``estat
        gof, group(groups)`` (weights as frequency weights, ties kept together);
        multinomial and ordinal fits as R's generalhoslem ``logitgof`` (unweighted
        rows). A :class:`~logitkit.hosmer_lemeshow.GoodnessOfFit` (statistic, df,
        p_value, groups, table)."""
        if not (isinstance(groups, (int, np.integer)) and groups >= 3):
            raise ValueError(f"groups must be an integer >= 3, got {plain(groups)!r}")
        rows, _ = self._check_rows(X, y, sample_weight, offset)
        if groups > rows.n:
            raise ValueError(f"groups={groups} is more than the {rows.n} rows")
        proba = np.empty((rows.n, len(self.classes_)))
        for r in rows.blocks():
            proba[r] = class_probabilities(self, rows.block(r), rows.offset_block(r))
        if self._is_binary():
            return binary_test(proba[:, 1], rows.codes == 1, rows.weights, groups)
        if not np.all(rows.weights == 1):
            raise ValueError(
                "the multinomial and ordinal Hosmer-Lemeshow tests (generalhoslem) count "
                "unweighted rows; these rows have weights other than 1 (sample_weight or "
                "class_weight): repeat rows instead of weighting them")
        return class_test(proba, rows.codes, groups, self._is_ordinal(), self.classes_)

    def brant_test(self, X=None, y=None, sample_weight=None, offset=None,
                   by: str = "coefficient") -> pd.DataFrame:
        """The Brant test of the proportional-odds assumption of an ordinal fit, as R's
        brant prints it: rows "Omnibus" then one per coefficient (by="coefficient") or
        per input column (by="variable": a categorical column's levels together, R's
        ``by.var=TRUE``); columns chi2, df, p_value. ``attrs["coefficients"]`` holds
        the separate binary fits (Stata's ``brant, detail``). Weights count as
        repeated rows."""
        if not self._is_ordinal():
            raise ValueError("brant_test() tests the proportional-odds assumption of an "
                             "OrdinalLogisticRegression; this is a "
                             f"{self._model_name().lower()} model")
        if by not in ("coefficient", "variable"):
            raise ValueError(f'by must be "coefficient" or "variable", got {plain(by)!r}')
        rows, _ = self._check_rows(X, y, sample_weight, offset)
        free = self._free_columns()
        names = [name for name, keep in zip(self.coef_names_, free, strict=True) if keep]
        table = brant(self, rows, free, names, self._variable_groups(names)
                      if by == "variable" else None)
        missing = empty_cells(rows, self._factor_positions(), len(self.classes_))
        if missing:
            warnings.warn(
                f"{missing} combination(s) of the classes of y and the levels of the "
                "categorical columns do not occur in these rows (R brant's warning): the "
                "binary models of some cuts rest on few rows, and the test may be invalid",
                UserWarning, stacklevel=2)
        return table

    def _factor_positions(self) -> list:
        """Per categorical input column, the design positions of its level columns."""
        encoder = getattr(self, "encoder_", None)
        if encoder is None:
            return []
        position = {name: i for i, name in enumerate(self.coef_names_)}
        return [np.array([position[out] for out in column.output_names])
                for column in encoder.columns if column.levels is not None]

    def _variable_groups(self, names: list) -> dict:
        """Input column -> positions of its design columns among ``names``."""
        position = {name: i for i, name in enumerate(names)}
        encoder = getattr(self, "encoder_", None)
        if encoder is None:
            return {name: np.array([i]) for i, name in enumerate(names)}
        groups = {}
        for column in encoder.columns:
            found = [position[out] for out in column.output_names if out in position]
            if found:
                groups[column.name] = np.array(found)
        return groups
