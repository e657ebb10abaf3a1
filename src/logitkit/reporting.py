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

from logitkit.inference import covariance, describe, wald_table
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
        """Number of estimated parameters, intercepts and cut points included."""
        check_is_fitted(self)
        return len(self.result_.params)

    @property
    def df_model_(self) -> int:
        """Number of slope parameters (the degrees of freedom of the LR test against null)."""
        return int(self._reported().slope.sum())

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
        """Inverse observed information, rows and columns in summary order."""
        return self.covariance()

    def covariance(self, cov_type: str = "nonrobust", base_class=None) -> pd.DataFrame:
        """Parameter covariance in summary order. With B the inverse information, M the
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
        cov = self._natural_covariance(cov_type)
        return pd.DataFrame(reported.matrix @ cov @ reported.matrix.T, index=reported.index,
                            columns=reported.index)

    def _natural_covariance(self, cov_type):
        check_is_fitted(self)
        if self.inference_ is None:
            raise ValueError("standard errors are not available: " + self._no_inference()[1])
        return covariance(self.inference_, cov_type)[0]

    # -- summary ----------------------------------------------------------------------
    def summary(self, alpha: float = 0.05, cov_type: str = "nonrobust",
                base_class=None) -> Summary:
        """Coefficient table with standard errors, z, p-values and (1 - alpha) intervals."""
        check_is_fitted(self)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha (the interval's error rate) must be in (0, 1), got {alpha}")
        reported = self._reported(base_class)
        estimates = reported.matrix @ self.result_.params
        notes = []
        if self.inference_ is None:
            cov = np.full((len(estimates), len(estimates)), np.nan)
            cov_label, reason = self._no_inference()
            notes.append(f"Standard errors are not reported: {reason}.")
        else:
            natural, singular = covariance(self.inference_, cov_type)
            cov = reported.matrix @ natural @ reported.matrix.T
            cov_label = cov_type
            if cov_type in ("cluster", "stata-cluster"):
                cov_label += f" ({self.inference_.n_clusters} clusters)"
            if cov_type != "nonrobust":
                notes.append(describe(cov_type))
            if singular:
                notes.append("The information matrix is singular (collinear or constant "
                             "columns): a pseudo-inverse was used.")
        table = wald_table(estimates, cov, reported.index, 1 - alpha, reported.odds_ratio)
        separated = self._separated_rows(reported.index)
        if separated.any():
            table.loc[separated, ["std_err", "z", "p_value", "ci_lower", "ci_upper",
                                  "odds_ratio_ci_lower", "odds_ratio_ci_upper"]] = np.nan
            table["note"] = np.where(separated, "separated", "")
            notes.append("The maximum-likelihood estimate does not exist (separation): "
                         "rows marked (separated) diverge, and the other rows' standard "
                         "errors are unreliable. Fit with alpha > 0 for finite estimates.")
        return Summary(self._title(), tuple(self._header(cov_label)), table, tuple(notes),
                       level=1 - alpha)

    def _no_inference(self) -> tuple[str, str]:
        """(covariance-type label, reason) for a fit without inference matrices."""
        if self.alpha > 0:
            return (f"none (penalised fit, alpha={self.alpha:g})",
                    f"the fit is penalised (alpha={self.alpha:g}), which biases the estimates "
                    "so that the usual covariance does not apply; refit with alpha=0 for "
                    "maximum-likelihood inference")
        return ("none (inference=False)", "the model was fitted with inference=False; refit "
                "with inference=True (the default) for standard errors")

    def _separated_rows(self, index) -> np.ndarray:
        report = self.separation_
        if report is None or not report.separated:
            return np.zeros(len(index), dtype=bool)
        names = {self.coef_names_[j] for j in report.features}
        terms = index.get_level_values(-1)
        return np.asarray([t in names for t in terms], dtype=bool)

    def _header(self, cov_label):
        r = self.result_
        lr = 2 * (r.log_likelihood - r.null_log_likelihood)
        df = self.df_model_
        separation = self.separation_status_
        return [
            ("Dep. variable", self.target_name_ or "y"),
            ("Model", self._model_name()),
            ("Link", self._link_name()),
            ("Solver", r.solver),
            ("Converged", r.converged),
            ("Iterations", r.n_iter),
            ("Covariance type", cov_label),
            ("Separation", separation),
            ("No. observations", r.n_obs),
            ("Df model", df),
            ("Df residuals", r.n_obs - self.n_params_),
            ("Log-likelihood", r.log_likelihood),
            ("LL-Null", r.null_log_likelihood),
            (f"LR chi2({df})", lr),
            ("Prob > chi2", st.chi2.sf(lr, df) if df else np.nan),
            ("Pseudo R2 (McFadden)", self.pseudo_r2_),
            ("AIC", self.aic_),
            ("BIC", self.bic_),
        ]

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
