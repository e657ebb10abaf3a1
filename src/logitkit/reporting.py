"""Fit statistics, covariance, summaries and likelihood-ratio tests for the estimators.

Everything here reads the frozen fit (``result_``) and the matrices kept at the optimum
(``inference_``); nothing refits. Parameters are reported in "summary order": for binary
fits Intercept then slopes; for multinomial fits one such block per non-base class in the
baseline-category form (base = ``classes_[0]`` unless ``base_class`` says otherwise); for
ordinal fits the slopes then the cut points, named like R (``low|mid``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as st
from sklearn.utils.validation import check_is_fitted

from logitkit.fitting import free_parameters
from logitkit.inference import covariance, describe, reparametrize, wald_table
from logitkit.summary import Summary


@dataclass(frozen=True)
class LRTestResult:
    """Likelihood-ratio test of nested fits: statistic ~ chi2(df) under the smaller model."""

    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True)
class ReportedParameters:
    """A linear map from the natural parameters to the reported ones.

    matrix: (r, p); index: r row labels; odds_ratio: (r,) bool, rows whose exp() is an odds
    ratio; slope: (r,) bool, rows that are slopes (not intercepts or cut points).
    """

    matrix: np.ndarray
    index: pd.Index
    odds_ratio: np.ndarray
    slope: np.ndarray


class StatisticsMixin:
    """Adds log-likelihoods, information criteria, covariance, summary() and lr_test()."""

    # -- fit statistics ---------------------------------------------------------------
    @property
    def log_likelihood_(self) -> float:
        check_is_fitted(self)
        return self.result_.log_likelihood

    @property
    def null_log_likelihood_(self) -> float:
        check_is_fitted(self)
        return self.result_.null_log_likelihood

    @property
    def n_params_(self) -> int:
        """Number of estimated parameters, intercepts and cut points included (the rank:
        the slopes of aliased columns are not estimated)."""
        check_is_fitted(self)
        empty = len(getattr(self, "empty_classes_", []))
        if empty and getattr(self, "thresholds_", None) is None:
            # each class without weight leaves one contrast unestimated (it diverges)
            empty *= int(self._free().sum()) // (len(self.classes_) - 1)
        return int(self._free().sum()) - empty

    @property
    def df_model_(self) -> int:
        """Number of estimated slope parameters (the degrees of freedom of the LR test
        against the null model)."""
        reported = self._reported()
        return int((reported.slope & ~self._aliased_rows(reported)
                    & ~self._empty_class_rows(reported)[1]).sum())

    @property
    def aliased_(self) -> list:
        """Names of the columns left out of the fit as aliased (see logitkit.aliasing)."""
        check_is_fitted(self)
        aliased = self.result_.aliased
        return [] if aliased is None else [self.coef_names_[j] for j in np.flatnonzero(aliased)]

    def _free(self) -> np.ndarray:
        """(p,) bool: the natural parameters that were estimated (all but the slopes of
        aliased columns; layout of :mod:`logitkit.objective`)."""
        aliased = self.result_.aliased
        d1 = len(self.coef_names_) + int(self._fits_intercept())
        return free_parameters(len(self.result_.params), d1,
                               len(getattr(self, "thresholds_", ())), aliased)

    def _empty_class_rows(self, reported: ReportedParameters):
        """((r,) bool marked, (r,) bool diverging): reported rows next to a class without
        weight. Multinomial: the contrasts of such a class (all of them when it is the
        base) diverge. Ordinal: the cut points next to it are marked; they diverge for an
        end class and meet (one estimate, with a standard error) for a middle one."""
        empty = set(getattr(self, "empty_classes_", []))
        marked = np.zeros(len(reported.index), dtype=bool)
        if not empty:
            return marked, marked
        if isinstance(reported.index, pd.MultiIndex):
            labels = list(reported.index.get_level_values(0))
            base = next(c for c in self.classes_ if c not in set(labels))
            marked = np.asarray([base in empty or c in empty for c in labels])
            return marked, marked
        diverging = marked.copy()
        if getattr(self, "thresholds_", None) is not None:
            q, classes = len(self.thresholds_), list(self.classes_)
            start = len(marked) - q
            for j in range(q):
                marked[start + j] = classes[j] in empty or classes[j + 1] in empty
                diverging[start + j] = ((j == 0 and classes[0] in empty)
                                        or (j == q - 1 and classes[-1] in empty))
        return marked, diverging

    def _aliased_rows(self, reported: ReportedParameters) -> np.ndarray:
        """(r,) bool: reported rows that involve a parameter that was not estimated."""
        return np.abs(reported.matrix[:, ~self._free()]).sum(axis=1) > 0

    @property
    def aic_(self) -> float:
        return -2 * self.log_likelihood_ + 2 * self.n_params_

    @property
    def bic_(self) -> float:
        return -2 * self.log_likelihood_ + np.log(self.result_.n_obs) * self.n_params_

    @property
    def pseudo_r2_(self) -> float:
        """McFadden's pseudo R2: 1 - llf / llnull."""
        return 1.0 - self.log_likelihood_ / self.null_log_likelihood_

    @property
    def covariance_(self) -> pd.DataFrame:
        """The covariance of the model's ``cov_type`` (default: the inverse observed
        information), rows and columns in summary order. A fit without inference (penalised,
        minibatch) has no such attribute: AttributeError with the reason, so that
        ``hasattr`` and ``dir`` (tab completion) work on every fitted model."""
        try:
            return self.covariance()
        except ValueError as e:
            if isinstance(e, AttributeError):  # (NotFittedError is both)
                raise
            raise AttributeError(str(e)) from e

    def covariance(self, cov_type: str | None = None, base_class=None) -> pd.DataFrame:
        """Parameter covariance in summary order (NaN in the rows and columns of aliased
        or diverging parameters); cov_type None: the model's own. With B the inverse
        information, M the
        sum of the observations' score outer products, n observations (total weight), p
        parameters, G clusters (docs/inference.md):

        - "nonrobust": B; "HC0": B M B; "HC1": n/(n-p) B M B (R sandwich::vcovHC);
        - "HC2", "HC3": as HC0 with each score product divided by (1-h_i), (1-h_i)^2,
          h_i the GLM hat value of an observation (R sandwich::vcovHC; binary fits);
        - "stata-robust": n/(n-1) B M B (Stata's vce(robust));
        - "cluster": G/(G-1) (n-1)/(n-p) B M_G B with M_G the cluster score sums' outer
          products (statsmodels; R sandwich::vcovCL type "HC1"); "stata-cluster":
          G/(G-1) B M_G B (Stata's vce(cluster); vcovCL's default for a glm). Both need
          ``fit(..., clusters=...)``.
        """
        reported = self._reported(base_class)
        cov = self._reported_covariance(reported, self._cov_type(cov_type))[0]
        return pd.DataFrame(cov, index=reported.index, columns=reported.index)

    def _natural_covariance(self, cov_type, coordinates=None):
        """(covariance of the estimated natural parameters, information was singular), or
        of phi = T theta restricted to ``keep`` when ``coordinates`` = (T, keep)."""
        check_is_fitted(self)
        if self.inference_ is None:
            raise ValueError("standard errors are not available: " + self._no_inference()[1])
        data = self.inference_ if coordinates is None else reparametrize(self.inference_,
                                                                         *coordinates)
        return covariance(data, cov_type)

    def _reported_covariance(self, reported: ReportedParameters, cov_type):
        """((r, r) covariance of the reported parameters, information was singular); NaN
        where a row was not estimated (aliased, or diverging for want of weight)."""
        free = self._free()
        matrix = reported.matrix[:, free]
        aliased = self._aliased_rows(reported)
        coordinates = self._weighted_coordinates(reported, aliased)
        estimated, singular = self._natural_covariance(cov_type, coordinates)
        if coordinates is not None:  # reported = matrix T^-1 phi, phi[~keep] held fixed
            T, keep = coordinates
            matrix = (matrix @ np.linalg.inv(T))[:, keep]
        cov = matrix @ estimated @ matrix.T
        missing = aliased | self._empty_class_rows(reported)[1]
        cov[missing, :] = np.nan
        cov[:, missing] = np.nan
        return cov, singular

    def _weighted_coordinates(self, reported, aliased):
        """(T, keep) for a fit with classes of zero weight, else None: coordinates
        phi = T theta (estimated natural parameters) in which the parameters that such a
        class makes diverge or meet are separate coordinates, held fixed (~keep)."""
        if not getattr(self, "empty_classes_", []):
            return None
        marked, diverging = self._empty_class_rows(reported)
        if getattr(self, "thresholds_", None) is None:  # multinomial: the contrasts
            keep = ~aliased
            return reported.matrix[keep][:, self._free()], ~diverging[keep]
        p, q = int(self._free().sum()), len(self.thresholds_)
        T, keep = np.eye(p), np.ones(p, dtype=bool)
        empty = set(self.empty_classes_)
        for k, label in enumerate(self.classes_):
            if label not in empty:
                continue
            if 0 < k < q:  # a middle class: cut points k-1 and k meet; their gap is fixed
                T[p - q + k, p - q + k - 1] = -1.0
                keep[p - q + k] = False
            else:  # an end class: its cut point diverges
                keep[p - q + min(k, q - 1)] = False
        return T, keep

    # -- summary ----------------------------------------------------------------------
    def summary(self, alpha: float = 0.05, cov_type: str | None = None,
                base_class=None) -> Summary:
        """Coefficient table with standard errors, z, p-values and (1 - alpha) intervals;
        ``cov_type`` None: the model's own (its ``cov_type`` parameter)."""
        check_is_fitted(self)
        cov_type = self._cov_type(cov_type)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha (the interval's error rate) must be in (0, 1), got {alpha}")
        reported = self._reported(base_class)
        estimates = reported.matrix @ self.result_.params
        aliased = self._aliased_rows(reported)
        estimates[aliased] = np.nan
        notes = []
        if self.inference_ is None:
            cov = np.full((len(estimates), len(estimates)), np.nan)
            cov_label, reason = self._no_inference()
            notes.append(f"Standard errors are not reported: {reason}.")
        else:
            cov, singular = self._reported_covariance(reported, cov_type)
            cov_label = cov_type
            if cov_type in ("cluster", "stata-cluster"):
                cov_label += f" ({self.inference_.n_clusters} clusters)"
            if cov_type != "nonrobust":
                notes.append(describe(cov_type))
            if singular:
                notes.append("The information matrix is singular (collinear or constant "
                             "columns): a pseudo-inverse was used.")
            if self.class_weight is not None and cov_type == "nonrobust":
                notes.append("class_weight reweights the classes; the weights are not "
                             "frequencies of observed rows, so model-based (nonrobust) "
                             "standard errors do not apply: use a sandwich covariance, e.g. "
                             'summary(cov_type="HC0"), or fit with cov_type="HC0".')
        table = wald_table(estimates, cov, reported.index, 1 - alpha, reported.odds_ratio)
        unweighted = self._empty_class_rows(reported)[0] & ~aliased
        separated = self._separated_rows(reported) & ~aliased & ~unweighted
        if unweighted.any():
            notes.append(f"Classes {self.empty_classes_} have zero total weight, and fitted "
                         "probabilities 0 at the optimum: rows marked (no weight) without "
                         "standard errors diverge (their estimates are where the solver "
                         "stopped); cut points marked with standard errors meet, as one.")
        if separated.any():
            table.loc[separated, ["std_err", "z", "p_value", "ci_lower", "ci_upper",
                                  "odds_ratio_ci_lower", "odds_ratio_ci_upper"]] = np.nan
            notes.append("The maximum-likelihood estimate does not exist (separation): "
                         "rows marked (separated) diverge, and the other rows' standard "
                         f"errors are unreliable. Fit {self._finite_remedy()} for finite "
                         "estimates.")
        if aliased.any():
            notes.append(f"Aliased columns {self.aliased_} are linear combinations of the "
                         "columns before them and were left out of the fit: rows marked "
                         "(aliased) were not estimated, and the degrees of freedom count the "
                         f"{self.n_params_} estimated parameters.")
        if self.alpha > 0 and self.l1_ratio > 0:
            notes.append(self._selected_note())
        scanned = [c.name for c in getattr(self.encoder_, "columns", ()) if c.scanned]
        if scanned:
            notes.append(f"The levels of the categorical column(s) {scanned} were found by "
                         "a pass over the (Dask) data before the fit, as their dtype "
                         "declared none.")
        notes += self._link_notes(cov_type)
        if separated.any() or aliased.any() or unweighted.any():
            table["note"] = np.select([aliased, unweighted, separated],
                                      ["aliased", "no weight", "separated"], "")
        return Summary(self._title(), tuple(self._header(cov_label)), table, tuple(notes),
                       level=1 - alpha)

    def _selected_note(self) -> str:
        """The terms an L1 penalty kept (a non-zero coefficient in some class)."""
        kept = np.any(np.atleast_2d(self.coef_) != 0, axis=0)
        names = [name for name, k in zip(self.coef_names_, kept, strict=True) if k]
        return (f"The L1 penalty (alpha={self.alpha:g}, l1_ratio={self.l1_ratio:g}) selected "
                f"{len(names)} of {len(kept)} terms: {names}.")

    def _no_inference(self) -> tuple[str, str]:
        """(covariance-type label, reason) for a fit without inference matrices."""
        if self.alpha > 0:
            return (f"none (penalised fit, alpha={self.alpha:g})",
                    f"the fit is penalised (alpha={self.alpha:g}), which biases the estimates "
                    "so that the usual covariance does not apply; refit with alpha=0 for "
                    "maximum-likelihood inference")
        return ("none (inference=False)", "the model was fitted with inference=False; refit "
                "with inference=True (the default) for standard errors")

    def _separated_rows(self, reported: ReportedParameters) -> np.ndarray:
        """(r,) bool: reported rows that diverge under separation.

        A row diverges when the separating direction (:class:`SeparationReport`) moves it.
        In a multinomial fit a contrast that diverges in any parameter has all of its
        parameters marked: where its solver stopped fixes them all.
        """
        report = self.separation_
        if report is None or not report.separated:
            return np.zeros(len(reported.index), dtype=bool)
        if report.direction is None or report.offsets is None:  # files of older versions
            names = {self.coef_names_[j] for j in report.features}
            return np.asarray([t in names for t in reported.index.get_level_values(-1)])
        moved = np.abs(reported.matrix @ self._natural_direction(report))
        rows = moved > 1e-8 * max(moved.max(), 1e-300)
        if isinstance(reported.index, pd.MultiIndex):
            contrast = reported.index.get_level_values(0)
            rows = np.asarray(pd.Series(rows).groupby(np.asarray(contrast)).transform("any"))
        return rows

    def _natural_direction(self, report) -> np.ndarray:
        """The separating direction in the natural layout of ``result_.params``: per row
        of W the slopes, then the intercept when fitted; cut points last."""
        d = len(self.coef_names_)
        slopes = np.asarray(report.direction, dtype=float).reshape(-1, d)
        offsets = np.asarray(report.offsets, dtype=float)
        if getattr(self, "thresholds_", None) is not None:
            return np.concatenate([slopes.ravel(), offsets])
        if self._fits_intercept():
            return np.hstack([slopes, offsets[:, None]]).ravel()
        return slopes.ravel()

    def _header(self, cov_label):
        """[(key, label, value), ...]: key the stable machine name (the JSON summary's),
        label the text summary's; counts are integers when the weights are whole."""
        r = self.result_
        lr = 2 * (r.log_likelihood - r.null_log_likelihood)
        df = self.df_model_
        separation = self.separation_status_
        n_obs = int(r.n_obs) if float(r.n_obs).is_integer() else float(r.n_obs)
        return [
            ("dep_variable", "Dep. variable", self.target_name_ or "y"),
            ("model", "Model", self._model_name()),
            ("link", "Link", self._link_name()),
            ("solver", "Solver", r.solver),
            # a separated fit stops where the gradient flattens on the way to infinity:
            # the solver's test passed, but there is no optimum to have converged to
            ("converged", "Converged", r.converged and not self._separated()),
            ("n_iter", "Iterations", r.n_iter),
            ("cov_type", "Covariance type", cov_label),
            ("separation", "Separation", separation),
            ("n_obs", "No. observations", n_obs),
            ("df_model", "Df model", df),
            ("df_resid", "Df residuals", n_obs - self.n_params_),
            ("log_likelihood", "Log-likelihood", r.log_likelihood),
            ("null_log_likelihood", "LL-Null", r.null_log_likelihood),
            ("lr_chi2", f"LR chi2({df})", lr),
            ("lr_pvalue", "Prob > chi2", st.chi2.sf(lr, df) if df else np.nan),
            ("pseudo_r2", "Pseudo R2 (McFadden)", self.pseudo_r2_),
            ("aic", "AIC", self.aic_),
            ("bic", "BIC", self.bic_),
        ]

    def _separated(self) -> bool:
        return self.separation_ is not None and self.separation_.separated

    def _title(self) -> str:
        return f"{self._model_name()} regression results"

    # -- tests ------------------------------------------------------------------------
    def lr_test(self, other) -> LRTestResult:
        """Likelihood-ratio test between this fit and a nested fit of the same data."""
        check_is_fitted(self)
        check_is_fitted(other)
        if type(other) is not type(self) or other.result_.n_obs != self.result_.n_obs:
            raise ValueError("lr_test needs two fits of the same kind on the same observations")
        big, small = (self, other) if self.n_params_ >= other.n_params_ else (other, self)
        df = big.n_params_ - small.n_params_
        if df == 0:
            raise ValueError("the two models have the same number of parameters: not nested")
        statistic = max(0.0, 2 * (big.log_likelihood_ - small.log_likelihood_))
        return LRTestResult(statistic, df, float(st.chi2.sf(statistic, df)))
