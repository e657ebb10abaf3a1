"""Warnings after an exact fit: separation (diverging estimates) and non-convergence.

:class:`DiagnosisMixin` is mixed into the estimators; it checks the fitted model with
the estimator's own ``_observed_log_proba`` and the separation linear program of
:mod:`logitkit.separation`.
"""

from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
from array_api_compat import is_torch_array

from logitkit.backends import get_namespace, to_numpy
from logitkit.divergence import diverging
from logitkit.exceptions import ConvergenceWarning, PerfectSeparationWarning
from logitkit.separation import detect_separation, lp_entries, lp_matrix

# the separation linear program is only run up to this many constraint entries
_SEPARATION_LP_MAX = 2e7
# fits with a row's own-class probability beyond 1 - this are probed for divergence (a
# separated logit fit stopped at tol 1e-8 with 5 separated rows in 100k had 1 - 7e-8)
_EXTREME_PROBA = 1e-6


def _largest_log_proba(estimator, objective, rows) -> float:
    """The largest log fitted probability of a row's own class among the rows with weight
    in the block ``rows`` of ``objective`` (-inf if none)."""
    log_p = estimator._observed_log_proba(objective.X[rows], objective.y[rows])
    xp = get_namespace(log_p)
    log_p = xp.where(objective.w[rows] > 0, log_p, xp.full_like(log_p, -math.inf))
    return float(to_numpy(xp.max(log_p)))


class DiagnosisMixin:
    """The post-fit checks of the estimators (``separation_status_`` and warnings)."""

    def _diagnose(self, Xd, result, objective):
        """Warn about separation or non-convergence; returns the SeparationReport or None.

        Sets ``separation_status_``, the summary's one-word account of the check. The
        exact check needs the in-memory design ``Xd`` (None: a Dask fit, which reports
        the symptom only).
        """
        report = None
        read = objective.reads.rows  # (in memory these passes are not counted)
        self.separation_status_ = "none" if self.alpha == 0 else "not checked (penalised)"
        if self.alpha == 0:
            # the linear program runs for fits that did not converge, or that show the
            # symptom of diverging estimates: fitted probabilities of 0 or 1 where one more
            # Newton step would still move the log-odds (logitkit.divergence)
            codes, weights = objective.y, objective.w
            small = Xd is not None and lp_entries(Xd) * (
                len(self.classes_) - 1) <= _SEPARATION_LP_MAX
            check = (not result.converged and small) or (
                self._max_observed_proba(Xd, codes, weights, objective, result.params)
                > 1 - _EXTREME_PROBA
                and diverging(objective, result))
            if check and small:
                report = detect_separation(lp_matrix(Xd), to_numpy(codes),
                                           objective.family.name, len(self.classes_),
                                           fit_intercept=self._fits_intercept(),
                                           sample_weight=to_numpy(weights))
            elif check:
                self.separation_status_ = ("possible (too large to check)" if Xd is not None
                                           else "possible (not checked on Dask input)")
                skipped = (f"is skipped above {_SEPARATION_LP_MAX:g} entries (rows x columns, "
                           "or a sparse X's stored entries, x (classes - 1))"
                           if Xd is not None else
                           "needs the rows in memory and is not run on Dask input")
                warnings.warn(
                    "Fitted probabilities of 0 or 1 occurred: the classes may be separated, "
                    "in which case the maximum-likelihood estimate does not exist. The exact "
                    f"check (a linear program) {skipped}; if the coefficients are "
                    f"implausibly large, fit {self._finite_remedy()}.",
                    PerfectSeparationWarning,
                    stacklevel=3,
                )
        if report is not None and report.separated:
            self.separation_status_ = ("complete" if report.complete else "quasi-complete"
                                       ) + " (estimates diverge)"
            names = [self.coef_names_[j] for j in report.features]
            by = f"by {', '.join(names)}" if names else "by the intercept or cut points alone"
            kind = "completely" if report.complete else "quasi-completely"
            warnings.warn(
                f"The classes are {kind} separated {by}: the maximum-likelihood estimate does "
                "not exist, and the coefficients are finite only because the solver stopped. "
                f"Fit {self._finite_remedy()} for finite, meaningful estimates.",
                PerfectSeparationWarning,
                stacklevel=3,
            )
        elif not result.converged:
            measure = ("KKT violation" if result.report.kkt_violation is not None
                       else "max |gradient|")
            warnings.warn(
                f"{result.solver} did not converge: {result.report.reason}; "
                f"{measure} = {result.report.grad_max:.3g} > tol = {self.tol:g} after "
                f"{result.n_iter} iterations. Increase max_iter, or check the data for "
                "collinear columns.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if Xd is not None:
            objective.reads.rows = read
        return report

    def _finite_remedy(self) -> str:
        """What to fit instead of a separated ML fit: Firth's penalty where it is
        implemented (binary logit and multinomial), else a ridge penalty."""
        firth = (getattr(self, "link", "logit") == "logit"
                 and not getattr(self, "_ordered_classes", False))
        if firth:
            return ('with penalty="firth" (Firth\'s bias-reduced estimates, with profile '
                    'penalised-likelihood intervals; docs/firth.md) or alpha > 0 (a ridge '
                    'penalty)')
        return "with alpha > 0 (a ridge penalty)"

    def _max_observed_proba(self, Xd, codes, weights, objective=None, params=None) -> float:
        """Largest fitted probability of a row's own class (rows with weight > 0): the
        objective's by-product of its pass at ``params`` when it has one, else computed
        where Xd lives.

        Host blocks are a sixteenth of the rows (at least 2048, at most 65536: the
        temporaries stay far below X); a tensor's are large, as each costs kernel
        launches.
        """
        known = None if objective is None else objective.largest_observed_proba(params)
        if known is not None:
            return known
        if Xd is None:  # a Dask objective: one pass over its partitions
            return float(np.exp(objective.row_maximum(partial(_largest_log_proba, self))))
        n = len(codes)
        offset = getattr(self._fit_rows, "offset", None)  # (Xd: the fitting rows)
        block = (1 << 20) if is_torch_array(Xd) else int(np.clip(n // 16, 2048, 65536))
        largest = -np.inf
        for start in range(0, n, block):
            rows = slice(start, start + block)
            log_p = self._observed_log_proba(Xd[rows], codes[rows],
                                             None if offset is None else offset[rows])
            xp = get_namespace(log_p)
            log_p = xp.where(weights[rows] > 0, log_p, xp.full_like(log_p, -math.inf))
            largest = max(largest, float(to_numpy(xp.max(log_p))))
        return float(np.exp(largest))
