"""``conf_int()``: Wald or profile-likelihood intervals of the reported parameters.

The profile machinery is :mod:`logitkit.profile`; this mixin picks the fit's objective,
the reported parameters (rows of ``_reported().matrix``, linear functionals of the
natural parameters) and the estimated coordinates, and frames the bounds.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from logitkit.backends import get_namespace
from logitkit.design import is_design
from logitkit.exceptions import UnboundedIntervalWarning
from logitkit.messages import plain
from logitkit.profile import profile_intervals

_METHODS = ("wald", "profile")


def _in_float64(objective):
    """``objective`` over a float64 copy of a float32 X (its likelihood is good to about
    1e-7 relative there, too coarse for an LR statistic of a few units over many rows);
    float64 X as it is."""
    X = objective.X
    if X.dtype.itemsize >= 8:
        return objective
    X64 = X.astype(np.float64) if is_design(X) or isinstance(X, np.ndarray) else \
        get_namespace(X).astype(X, get_namespace(X).float64)
    return objective.with_design(X64, np.arange(objective.d), 1)


class ConfIntMixin:
    """Adds :meth:`conf_int` to the estimators."""

    def conf_int(self, method: str = "wald", level: float = 0.95, *,
                 cov_type: str | None = None, base_class=None, params=None, X=None,
                 y=None, sample_weight=None) -> pd.DataFrame:
        """Confidence intervals of the reported parameters: a DataFrame with columns
        ``lower``, ``upper``, one row per parameter named as in ``summary()``.

        method: "wald" (estimate -+ z SE with the ``cov_type`` covariance, None the model's
        own: the summary's ci_lower, ci_upper, and its notes) or "profile": where the
        likelihood-ratio statistic of the parameter fixed at a value, the other parameters
        refitted, equals the chi2(1) quantile at ``level`` (R's ``confint()`` of a glm or
        polr), found exactly by a root-finder on warm-started constrained Newton refits
        (docs/profile.md); a side on which the profile never reaches that (separation) is
        -inf / +inf, with an :class:`UnboundedIntervalWarning`. Maximum-likelihood fits
        (alpha=0) only.
        params: None (all) or a list of row labels of the summary (tuples (class, term)
        for multinomial fits). X, y, sample_weight: the rows to profile over, for a fit
        that holds none (loaded from a file, unpickled or fitted on Dask input); default
        the fitting rows. ``attrs`` of the result: method, level and notes (profile:
        also refits, the constrained fits made, and passes, the reads of X they took).
        """
        check_is_fitted(self)
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        if not (isinstance(level, numbers.Real) and 0 < level < 1):
            raise ValueError(f"level must be a number in (0, 1), got {level!r}")
        reported = self._reported(base_class)
        rows = self._selected_rows(reported.index, params)
        if method == "wald":
            summary = self.summary(alpha=1 - level, cov_type=cov_type,
                                   base_class=base_class)
            frame = pd.DataFrame({"lower": summary.table["ci_lower"].to_numpy(),
                                  "upper": summary.table["ci_upper"].to_numpy()},
                                 index=reported.index)
            notes, cost = list(summary.notes), {}
        else:
            if cov_type not in (None, "nonrobust"):
                raise ValueError(f"cov_type={cov_type!r} applies to method='wald'; profile "
                                 "intervals come from the likelihood itself")
            frame, notes, cost = self._profile_frame(reported, rows, level, X, y,
                                                     sample_weight)
        frame = frame.iloc[rows]
        frame.attrs = {"method": method, "level": float(level), "notes": notes, **cost}
        return frame

    @staticmethod
    def _selected_rows(index: pd.Index, params) -> np.ndarray:
        if params is None:
            return np.arange(len(index))
        labels = [params] if isinstance(params, str | tuple) else list(params)
        if isinstance(index, pd.MultiIndex) and not all(isinstance(p, tuple) for p in labels):
            raise ValueError("params of a multinomial fit are (class, term) tuples, e.g. "
                             f"{plain(index[0])!r}")
        missing = [p for p in labels if p not in index]
        if missing:
            raise ValueError(f"params {plain(missing)} are not parameters of this fit; its "
                             f"parameters are {plain(list(index))}")
        return np.asarray([index.get_loc(p) for p in labels])

    def _profile_objective(self, X, y, sample_weight):
        """The objective whose likelihood is profiled: the fit's own (unpenalised)."""
        if self.alpha > 0:
            raise ValueError(f"profile intervals need a maximum-likelihood fit; this one is "
                             f"penalised (alpha={self.alpha:g}): refit with alpha=0")
        if getattr(self, "empty_classes_", []):
            raise ValueError(f"classes {self.empty_classes_} have zero total weight, so some "
                             "parameters diverge: drop those classes (or their zero "
                             "class_weight) for profile intervals")
        return _in_float64(self.fitted_objective(X, y, sample_weight))

    def _profile_frame(self, reported, rows, level, X, y, sample_weight):
        """(frame of all reported rows, NaN outside ``rows``; notes; {"refits": the
        constrained fits made, "passes": the reads of X they took})."""
        objective = self._profile_objective(X, y, sample_weight)
        read = objective.reads.rows
        bounds = np.full((len(reported.index), 2), np.nan)
        bounds[rows], intervals = profile_intervals(
            objective, self.result_.params, reported.matrix[rows], level, self._free())
        notes = []
        names = [plain(reported.index[i]) for i, iv in zip(rows, intervals, strict=True)
                 if iv is not None and any(iv.unbounded)]
        if names:
            notes.append(f"The profile likelihood of {names} never falls to the "
                         f"{level:.0%} cut-off on one side (separation: the estimate "
                         "diverges there), so that side of the interval is infinite.")
            warnings.warn(notes[-1], UnboundedIntervalWarning, stacklevel=3)
        failed = [plain(reported.index[i]) for i, iv in zip(rows, intervals, strict=True)
                  if iv is not None and iv.notes]
        if failed:
            notes.append(f"The profile of {failed} could not be followed to a bound "
                         "(NaN): a constrained refit failed.")
            warnings.warn(notes[-1], UserWarning, stacklevel=3)
        if self.class_weight is not None:
            notes.append("class_weight reweights the classes, so the weighted likelihood "
                         "is not the data's: the intervals use it as if it were.")
        cost = {"refits": sum(iv.refits for iv in intervals if iv is not None),
                "passes": (objective.reads.rows - read) / max(objective.reads.n, 1)}
        return (pd.DataFrame(bounds, index=reported.index, columns=["lower", "upper"]),
                notes, cost)
