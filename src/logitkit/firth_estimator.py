"""``LogisticRegression(penalty="firth")``: fitting, covariance, summary and intervals.

Supported: binary logit and multinomial (baseline-category logit) fits, in memory
(NumPy arrays, DataFrames, sparse designs), with sample and class weights. Not supported,
each with an error that says so: ordinal models (for cumulative links the Jeffreys
penalty is not Firth's bias correction and no published reference exists to test it
against), the probit and cloglog links (the same), alpha or penalty_factor together
with penalty="firth", the minibatch and L1 solvers, Dask input and torch tensors.

The summary follows logistf (``pl=TRUE``): penalised likelihood-ratio chi2 and p-values
from refits with each parameter fixed at 0, and profile penalised-likelihood intervals;
``method="wald"`` gives Wald ones. Standard errors of binary fits are logistf's (>= 1.24):
the inverse of X' diag((w_i + h_i) p_i (1 - p_i)) X, the information of its augmented
data; ``cov_type="fisher"`` gives the inverse Fisher information X' diag(w_i p_i (1 -
p_i)) X that brglm2 reports (the default for multinomial fits, as brmultinom).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as st
from sklearn.utils.validation import check_is_fitted, column_or_1d

from logitkit.exceptions import ConvergenceWarning
from logitkit.firth import FirthObjective, fit_firth
from logitkit.firth_profile import lr_tests, profile_limits
from logitkit.fitted_rows import FitRows
from logitkit.fitting import FitResult, free_parameters, null_log_likelihood, null_parameters
from logitkit.inference import InferenceData, inverse_information
from logitkit.messages import plain
from logitkit.objective import Objective
from logitkit.offsets import check_offset, eta_offset
from logitkit.summary import Summary

FIRTH_COV_TYPES = ("nonrobust", "fisher")


@dataclass(frozen=True)
class FirthReport:
    """What a Firth fit keeps at its optimum (sums, natural layout, estimated parameters
    only): ``information`` the Fisher information, ``augmented`` logistf's augmented-data
    information (binary fits; None otherwise), ``penalised_log_likelihood`` log L + 1/2
    log det I at the estimate."""

    information: np.ndarray
    augmented: np.ndarray | None
    penalised_log_likelihood: float


@dataclass(frozen=True)
class FirthTests:
    """Per reported parameter (summary order, base class classes_[0]): penalised LR
    ``chi2`` of parameter = 0 and its ``p_value``, profile penalised-likelihood interval
    ``lower``/``upper`` at ``level``; ``null_penalised_log_likelihood``: the maximum with
    every slope fixed at 0 (the full model's penalty), for the overall test. The tests'
    fields are None when only the intervals were asked for."""

    level: float
    chi2: np.ndarray | None
    p_value: np.ndarray | None
    lower: np.ndarray
    upper: np.ndarray
    null_penalised_log_likelihood: float | None


class FirthMixin:
    """``penalty="firth"`` for the estimators (binary and multinomial logit)."""

    def _is_firth(self) -> bool:
        return getattr(self, "penalty", None) == "firth"

    def _check_firth(self, X) -> None:
        """A clear error for every setting that Firth fits do not support."""
        penalty = getattr(self, "penalty", None)
        if penalty not in (None, "firth"):
            raise ValueError(f"penalty must be None or 'firth', got {plain(penalty)!r}")
        if getattr(self, "_ordered_classes", False):
            raise ValueError(
                'penalty="firth" is implemented for binary logit and multinomial models: for '
                "cumulative-link (ordinal) models the Jeffreys penalty is not Firth's bias "
                "correction and has no published reference to test against. Fit a multinomial "
                'LogisticRegression(penalty="firth") or use alpha > 0 (docs/firth.md)')
        if getattr(self, "link", "logit") != "logit":
            raise ValueError(f'penalty="firth" needs link="logit", got link={self.link!r} '
                             "(for other links the Jeffreys penalty is not Firth's bias "
                             "correction; docs/firth.md)")
        if self.alpha != 0 or self.penalty_factor is not None:
            raise ValueError('penalty="firth" replaces the ridge and lasso penalties: leave '
                             "alpha=0 and penalty_factor=None")
        if self.solver not in ("auto", "newton"):
            raise ValueError(f'penalty="firth" is fitted by its own Newton solver: use '
                             f"solver='auto' or 'newton', not {self.solver!r}")
        if type(X).__module__.partition(".")[0] in ("dask", "torch"):
            raise ValueError(f'penalty="firth" fits in-memory NumPy or pandas data; X is a '
                             f"{type(X).__module__.partition('.')[0]} object: convert it "
                             "(X.compute(), X.cpu().numpy())")
        if getattr(self, "device", None) is not None:
            raise ValueError('penalty="firth" fits on the host: leave device=None')

    # -- fitting ----------------------------------------------------------------------
    def _fit_firth(self, X, y, sample_weight=None, clusters=None, offset=None):
        """Fit by maximum penalised likelihood (:mod:`logitkit.firth`)."""
        self._check_firth(X)
        Xd, codes, weights, family = self._prepare(X, y, sample_weight)
        if clusters is not None:
            clusters = column_or_1d(clusters)
        K = len(self.classes_)
        offset = check_offset(offset, Xd.shape[0], K, self._multinomial())
        self.has_offset_ = offset is not None
        self._fit_rows = FitRows(Xd, codes, weights, clusters, offset)
        objective = Objective(family, Xd, codes, weights, K, self._fits_intercept(),
                              offset=eta_offset(offset, family.n_eta(K)))
        aliased = self._aliased_columns(objective)
        free = free_parameters(objective.n_params, objective.d1, 0, aliased)
        problem = FirthObjective(objective, free)
        fit = fit_firth(problem, null_parameters(objective), self.tol, self.max_iter)
        if not fit.report.converged:
            warnings.warn(
                f"the Firth fit did not converge ({fit.report.reason}): max standardised "
                f"|gradient| = {fit.report.grad_max:.3g} > tol = {self.tol:g} after "
                f"{fit.report.n_iter} iterations. Increase max_iter.",
                ConvergenceWarning, stacklevel=3)
        loglik, _, _, info = problem.information_pass(fit.theta)
        augmented = None
        if problem.m == 1:  # logistf's covariance: the augmented data's information
            augmented = problem.augmented_information(fit.theta)
        self.firth_ = FirthReport(info, augmented, fit.penalised_log_likelihood)
        self.firth_tests_ = None
        self.result_ = FitResult(
            params=fit.theta, objective_value=fit.report.value, log_likelihood=loglik,
            null_log_likelihood=null_log_likelihood(objective), n_obs=objective.total_weight,
            solver="firth-newton", report=fit.report,
            aliased=None if aliased is None or not aliased.any() else aliased)
        self.kkt_violation_ = None
        self.n_iter_ = fit.report.n_iter
        self.converged_ = fit.report.converged
        self._set_coefficients(objective, fit.theta)
        self.separation_ = None
        self.separation_status_ = "not checked (Firth estimates are finite)"
        model = augmented if augmented is not None else info
        nan = np.full_like(model, np.nan)
        self.inference_ = (InferenceData(model, nan, None, None, objective.total_weight)
                           if self.inference else None)
        self.n_passes_ = objective.reads.passes
        return self

    def firth_objective(self, X=None, y=None, sample_weight=None,
                        offset=None) -> FirthObjective:
        """The fit's penalised objective (:class:`~logitkit.firth.FirthObjective`) over
        :meth:`fitted_rows` (or the rows given, with their ``offset`` when the fit had
        one), for profile and test machinery."""
        if not self._is_firth():
            raise ValueError('firth_objective() needs a fit with penalty="firth"')
        objective = self.fitted_objective(X, y, sample_weight, offset)
        return FirthObjective(objective, self._free())

    # -- covariance -------------------------------------------------------------------
    def _natural_covariance(self, cov_type, coordinates=None):
        if not self._is_firth():
            return super()._natural_covariance(cov_type, coordinates)
        if cov_type not in FIRTH_COV_TYPES:
            raise ValueError(f"a Firth fit's covariance is one of {FIRTH_COV_TYPES} "
                             f"(model-based; sandwich types are not defined for the modified "
                             f"score here), got {cov_type!r}")
        check_is_fitted(self)
        info = self.firth_.information if cov_type == "fisher" or self.firth_.augmented is None \
            else self.firth_.augmented
        if coordinates is not None:
            T, keep = coordinates
            Tinv = np.linalg.inv(T)
            info = (Tinv.T @ info @ Tinv)[np.ix_(keep, keep)]
        return inverse_information(info)

    # -- tests and intervals ----------------------------------------------------------
    def _natural_index(self, reported) -> np.ndarray:
        """(r,) the natural parameter each reported row is (-1: a combination)."""
        M = reported.matrix[:, self._free()]
        index = np.flatnonzero(self._free())
        unit = (np.abs(M) > 0).sum(axis=1) == 1
        return np.where(unit, index[np.argmax(np.abs(M), axis=1)], -1)

    def firth_tests(self, level: float = 0.95, X=None, y=None, sample_weight=None,
                    offset=None, *, tests: bool = True) -> FirthTests:
        """Penalised LR tests (``tests``; else their fields are None) and profile
        penalised-likelihood intervals at ``level`` of every reported parameter (summary
        order, base class classes_[0]), by constrained refits on the fitting rows (or
        those given, with their ``offset`` when the fit had one, refitted first), kept for
        the fitting rows (a model file keeps the latest). Each interval end costs a few
        Newton iterations (two passes each), each test one refit."""
        check_is_fitted(self)
        if not self._is_firth():
            raise ValueError('firth_tests() needs a fit with penalty="firth"')
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        cached = getattr(self, "firth_tests_", None)
        if X is None and cached is not None and cached.level == level and (
                cached.chi2 is not None or not tests):
            return cached
        if X is None and self._fit_rows is None:
            kept = "" if cached is None else f" (the file keeps them at level {cached.level:g})"
            raise ValueError(
                f"profile tests at level {level:g} need the fitting rows, which this model "
                f"does not hold{kept}: call firth_tests({level:g}, X=..., y=...) with them, "
                "or use method='wald'")
        problem = self.firth_objective(X, y, sample_weight, offset)
        theta, pll = self.result_.params, self.firth_.penalised_log_likelihood
        if X is not None:  # other rows: their own optimum
            fit = fit_firth(problem, theta, self.tol, self.max_iter)
            theta, pll = fit.theta, fit.penalised_log_likelihood
        reported = self._reported()
        natural = self._natural_index(reported)
        r = len(natural)
        lower, upper = np.full(r, np.nan), np.full(r, np.nan)
        keep = X is None and cached is not None and cached.level == level
        if not keep:
            rows = np.flatnonzero(natural >= 0)
            lower[rows], upper[rows] = profile_limits(problem, theta, natural[rows], level)
        else:
            lower, upper = cached.lower, cached.upper
        chi2 = p_value = null = None
        if tests and X is None and cached is not None and cached.chi2 is not None:
            chi2, p_value = cached.chi2, cached.p_value
            null = cached.null_penalised_log_likelihood
        elif tests:
            # the inverse Newton matrix: the tests' refits start along its columns
            cov = np.linalg.pinv(problem.evaluate(theta, 2)[2] * problem.total_weight,
                                 hermitian=True)
            chi2 = np.full(r, np.nan)
            rows = np.flatnonzero(natural >= 0)
            chi2[rows] = lr_tests(problem, theta, pll, natural[rows], cov)
            slopes = np.zeros(len(theta), bool)
            slopes[natural[reported.slope & (natural >= 0)]] = True
            null = fit_firth(problem, np.where(slopes, 0.0, theta), 1e-10, 200,
                             slopes).penalised_log_likelihood
            p_value = st.chi2.sf(chi2, 1)
        result = FirthTests(float(level), chi2, p_value, lower, upper, null)
        if X is None:
            self.firth_tests_ = result
        return result

    def conf_int(self, method: str | None = None, level: float = 0.95, cov_type=None,
                 **kwargs):
        """DataFrame (lower, upper) per reported parameter at ``level``: a Firth fit's
        profile penalised-likelihood intervals (``method="profile"``, logistf's, the
        default) or Wald ones (``method="wald"``, with ``cov_type`` "nonrobust" or
        "fisher"; None: the model's). Other fits:
        :meth:`logitkit.confint.ConfIntMixin.conf_int` (Wald by default)."""
        if not self._is_firth():
            given = {} if method is None else {"method": method}
            return super().conf_int(level=level, cov_type=cov_type, **given, **kwargs)
        method = "profile" if method is None else method
        if kwargs:
            raise TypeError(f"conf_int() of a Firth fit got unexpected arguments {sorted(kwargs)}")
        table = self._firth_table(method, level, self._cov_type(cov_type), tests=False)
        return table[["ci_lower", "ci_upper"]].rename(
            columns={"ci_lower": "lower", "ci_upper": "upper"})

    def _firth_table(self, method, level, cov_type, tests: bool = True) -> pd.DataFrame:
        if method not in ("profile", "wald"):
            raise ValueError(f"method must be 'profile' or 'wald', got {plain(method)!r}")
        reported = self._reported()
        estimates = reported.matrix @ self.result_.params
        cov = self._reported_covariance(reported, cov_type)[0]
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
        aliased = self._aliased_rows(reported)
        estimates[aliased] = np.nan
        if method == "profile":
            found = self.firth_tests(level, tests=tests)
            chi2, p, lower, upper = found.chi2, found.p_value, found.lower, found.upper
            if chi2 is None:
                chi2 = p = np.full(len(lower), np.nan)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                chi2 = (estimates / se) ** 2
            p = st.chi2.sf(chi2, 1)
            z = st.norm.ppf(0.5 + level / 2)
            lower, upper = estimates - z * se, estimates + z * se
        table = pd.DataFrame({"coef": estimates, "std_err": se, "chi2": chi2, "p_value": p,
                              "ci_lower": lower, "ci_upper": upper}, index=reported.index)
        table["method"] = method
        with np.errstate(over="ignore"):
            for column, values in (("odds_ratio", estimates), ("odds_ratio_ci_lower", lower),
                                   ("odds_ratio_ci_upper", upper)):
                table[column] = np.where(reported.odds_ratio, np.exp(values), np.nan)
        if aliased.any():
            table["note"] = np.where(aliased, "aliased", "")
        return table

    def summary(self, alpha: float = 0.05, cov_type: str | None = None, base_class=None,
                *, method=None, **kwargs):
        """The usual summary; for a Firth fit logistf's: penalised LR chi2 and p-values and
        profile penalised-likelihood intervals (``method="profile"``, the default) or
        Wald ones (``method="wald"``), (1 - alpha) intervals."""
        if not self._is_firth():
            if method is not None:
                raise ValueError("method applies to fits with penalty='firth'")
            return super().summary(alpha, cov_type, base_class, **kwargs)
        if kwargs:
            raise TypeError(f"summary() of a Firth fit got unexpected arguments {sorted(kwargs)}")
        check_is_fitted(self)
        if base_class is not None and base_class != self.classes_[0]:
            raise ValueError("a Firth fit's summary reports contrasts against classes_[0]")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha (the interval's error rate) must be in (0, 1), got {alpha}")
        method = "profile" if method is None else method
        cov_type = self._cov_type(cov_type)
        table = self._firth_table(method, 1 - alpha, cov_type)
        header, notes = self._firth_header(method, 1 - alpha, cov_type, table)
        lo, hi = alpha / 2, 1 - alpha / 2
        columns = (("coef", "coef"), ("std_err", "std err"), ("chi2", "chi2"),
                   ("p_value", "P>chi2"), ("ci_lower", f"[{lo:.3g}"), ("ci_upper", f"{hi:.3g}]"))
        return Summary(self._title(), tuple(header), table, tuple(notes), level=1 - alpha,
                       columns=columns)

    def _firth_header(self, method, level, cov_type, table):
        r = self.result_
        pll = self.firth_.penalised_log_likelihood
        reported = self._reported()
        df = self.df_model_
        n_obs = int(r.n_obs) if float(r.n_obs).is_integer() else float(r.n_obs)
        header = [
            ("dep_variable", "Dep. variable", self.target_name_ or "y"),
            ("model", "Model", f"{self._model_name()} (Firth)"),
            ("link", "Link", self._link_name()),
            ("solver", "Solver", r.solver),
            ("converged", "Converged", r.converged),
            ("n_iter", "Iterations", r.n_iter),
            ("cov_type", "Covariance type", cov_type),
            ("n_obs", "No. observations", n_obs),
            ("df_model", "Df model", df),
            ("penalised_log_likelihood", "Penalised log-lik.", pll),
            ("log_likelihood", "Log-likelihood", r.log_likelihood),
        ]
        if method == "profile":
            tests = self.firth_tests(level)
            lr = max(0.0, 2 * (pll - tests.null_penalised_log_likelihood))
            header += [("lr_chi2", f"Penalised LR chi2({df})", lr),
                       ("lr_pvalue", "Prob > chi2", st.chi2.sf(lr, df) if df else np.nan)]
        slopes = reported.slope & ~self._aliased_rows(reported)
        cov = self._reported_covariance(reported, cov_type)[0][np.ix_(slopes, slopes)]
        b = table["coef"].to_numpy()[slopes]
        wald = float(b @ np.linalg.solve(cov, b)) if df else np.nan
        header += [("wald_chi2", f"Wald chi2({df})", wald),
                   ("wald_pvalue", "Prob > Wald chi2", st.chi2.sf(wald, df) if df else np.nan)]
        se = ("logistf's (the inverse information of the augmented data)"
              if self.firth_.augmented is not None and cov_type == "nonrobust"
              else "the inverse Fisher information")
        notes = [f"Firth's penalised likelihood (log L + 1/2 log det I). Standard errors: {se}."]
        notes.append("chi2 and P>chi2: penalised likelihood-ratio tests of each parameter = 0 "
                     "(refits with the full model's penalty); intervals: profile penalised "
                     "likelihood, as logistf's pl=TRUE." if method == "profile" else
                     "chi2 and P>chi2: Wald tests (coef/std err)^2; Wald intervals.")
        if not np.all(np.isfinite(table[["ci_lower", "ci_upper"]].to_numpy()[
                ~self._aliased_rows(reported)])):
            notes.append("Infinite interval ends: the profile penalised likelihood does not "
                         "fall to the critical value on that side.")
        return header, notes
