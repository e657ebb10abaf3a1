"""Covariance of the estimates and Wald inference, from matrices kept at fit time.

At the optimum the fit keeps the observed information (the Hessian of the total
weighted loss, exact and analytic), the outer products of the scores and, for binary
fits, the same products reweighted by the rows' hat values (HC2, HC3). Covariances of
every type follow from those p x p matrices without touching the data again, also after
a model file is loaded. Frequency weights count as repeated rows throughout: n is the
total weight, and a row of weight w counts as w copies with one hat value each.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.stats as st

from logitkit.objective import Objective

#: The covariance types and their formulas (see :func:`covariance`): B the inverse
#: information, s_i the score of observation i, S_g the score sum of cluster g, h_i the
#: hat value of observation i, n observations (total weight), p parameters, G clusters.
COV_FORMULAS = {
    "nonrobust": "B",
    "HC0": "B [sum_i s_i s_i'] B",
    "HC1": "n/(n-p) B [sum_i s_i s_i'] B (R sandwich::vcovHC)",
    "HC2": "B [sum_i s_i s_i'/(1-h_i)] B (R sandwich::vcovHC)",
    "HC3": "B [sum_i s_i s_i'/(1-h_i)^2] B (R sandwich::vcovHC)",
    "stata-robust": "n/(n-1) B [sum_i s_i s_i'] B (Stata's vce(robust))",
    "cluster": "G/(G-1) (n-1)/(n-p) B [sum_g S_g S_g'] B (statsmodels; R vcovCL type HC1)",
    "stata-cluster": "G/(G-1) B [sum_g S_g S_g'] B (Stata's vce(cluster); R vcovCL's default)",
}
COV_TYPES = tuple(COV_FORMULAS)
CLUSTERED = ("cluster", "stata-cluster")  # need fit(..., clusters=...)
HAT_VALUE_TYPES = ("HC2", "HC3")  # need GLM hat values: binary fits
# a Cholesky pivot, squared, at most this fraction of its diagonal entry: the matrix is
# singular (an exactly singular one can leave a pivot of rounding size instead of failing:
# a constant column beside the intercept, 2.6e-9 against a diagonal of 0.033, numpy 2.4.6
# and scipy 1.17.1; past a condition number of 1e12 no digit of its inverse is left)
SINGULAR_PIVOT = 1e-12
_SYMBOLS = {"B": "B the inverse information", "s_i": "s_i the score of observation i",
            "S_g": "S_g the score sum of cluster g", "h_i": "h_i its GLM hat value"}


def describe(cov_type: str) -> str:
    """One sentence stating the formula of ``cov_type`` and its symbols (summary notes)."""
    formula = COV_FORMULAS[cov_type]
    symbols = ", ".join(text for symbol, text in _SYMBOLS.items() if symbol in formula)
    return f"Covariance {cov_type} = {formula}; {symbols}."


@dataclass(frozen=True)
class InferenceData:
    """p x p matrices in the natural parametrisation (see :mod:`logitkit.objective`),
    restricted to the estimated parameters when some were fixed (aliased columns).

    information: observed information (Hessian of the weighted loss sum); meat: sum of
    the copies' score outer products; cluster_meat: sum_g S_g S_g' or None; n_clusters:
    clusters with positive weight; n_obs: total weight; hc2_meat, hc3_meat: the score
    products divided by (1 - h_i) and (1 - h_i)^2, or None (multinomial and ordinal fits,
    files written before they existed).
    """

    information: np.ndarray
    meat: np.ndarray
    cluster_meat: np.ndarray | None
    n_clusters: int | None
    n_obs: float
    hc2_meat: np.ndarray | None = None
    hc3_meat: np.ndarray | None = None


def collect(objective: Objective, theta, clusters=None, mean_hessian=None,
            free=None) -> InferenceData:
    """Information and score products at ``theta`` of an unpenalised objective.

    clusters: (n,) group labels; mean_hessian: the objective's Hessian at ``theta`` if the
    solver already computed it (saves a pass over X); free: (p,) bool, the estimated
    parameters (the matrices keep only their rows and columns), None for all. One pass
    over X gives every meat: the hat values of binary fits need the inverse information
    (of the estimated parameters), known before it.
    """
    codes, n_clusters = None, None
    if clusters is not None:
        codes, n_clusters = objective.group_codes(clusters)
    if mean_hessian is not None:
        information = mean_hessian * objective.total_weight
    else:
        _, _, information = objective.loss_terms(theta, 2)
    keep = np.ix_(*[np.ones(len(information), bool) if free is None else free] * 2)
    bread = None
    if objective.has_hat_values:  # zero rows and columns for the parameters held at 0
        bread = np.zeros_like(information)
        bread[keep] = inverse_information(information[keep])[0]
    meats = objective.score_products(theta, codes, bread)
    return InferenceData(
        information=information[keep],
        meat=meats.rows[keep],
        cluster_meat=None if meats.clusters is None else meats.clusters[keep],
        n_clusters=n_clusters,
        n_obs=objective.total_weight,
        hc2_meat=None if meats.hc2 is None else meats.hc2[keep],
        hc3_meat=None if meats.hc3 is None else meats.hc3[keep],
    )


def reparametrize(data: InferenceData, T: np.ndarray, keep: np.ndarray) -> InferenceData:
    """The matrices for the coordinates phi = T theta ((p, p) T, invertible), restricted to
    ``keep`` ((p,) bool; the others held fixed): information and score products alike
    become T^-T A T^-1."""
    inverse = np.linalg.inv(T)
    changes = {}
    for field in fields(data):
        value = getattr(data, field.name)
        if isinstance(value, np.ndarray) and value.shape == T.shape:
            changes[field.name] = (inverse.T @ value @ inverse)[np.ix_(keep, keep)]
    return replace(data, **changes)


def cholesky(matrix: np.ndarray):
    """scipy's ``cho_factor`` of a symmetric (p, p) ``matrix``; LinAlgError where it fails
    or where a pivot, squared, is at most SINGULAR_PIVOT times its diagonal entry."""
    factor = la.cho_factor(matrix)
    if np.any(np.diag(factor[0]) ** 2 <= SINGULAR_PIVOT * np.diag(matrix)):
        raise la.LinAlgError("the matrix is singular")
    return factor


def inverse_information(information: np.ndarray) -> tuple[np.ndarray, bool]:
    """(inverse, singular): Cholesky on the equilibrated matrix, pseudo-inverse if singular
    (:func:`cholesky`)."""
    scale = 1.0 / np.sqrt(np.where(np.diag(information) > 0, np.diag(information), 1.0))
    scaled = information * scale[:, None] * scale[None, :]
    try:
        inverse = la.cho_solve(cholesky(scaled), np.eye(len(scale)))
        singular = False
    except la.LinAlgError:
        inverse = np.linalg.pinv(scaled, hermitian=True)
        singular = True
    return inverse * scale[:, None] * scale[None, :], singular


def available_cov_types(data: InferenceData) -> tuple[str, ...]:
    """The entries of :data:`COV_TYPES` that ``data`` can give."""
    return tuple(t for t in COV_TYPES
                 if not (t in CLUSTERED and data.cluster_meat is None)
                 and not (t in HAT_VALUE_TYPES and data.hc2_meat is None))


def covariance(data: InferenceData, cov_type: str = "nonrobust") -> tuple[np.ndarray, bool]:
    """(p x p covariance, information_was_singular) for one of :data:`COV_TYPES`.

    With B the inverse information, s_i the score of one observation (a row of weight
    w counts as w copies), M = sum_i s_i s_i', n the total weight, p the parameters:

    - "nonrobust": B;
    - "HC0": B M B; "HC1": n/(n-p) HC0 (R sandwich's vcovHC);
    - "HC2", "HC3": B [sum_i s_i s_i' / (1-h_i)^k] B with k = 1, 2 and h_i the GLM hat
      value of one copy of row i, v_i x_i' B x_i (v_i = p_i (1-p_i)): R sandwich's
      vcovHC for a binomial glm; binary fits only;
    - "stata-robust": n/(n-1) HC0 (Stata's vce(robust) for logit, ologit, mlogit, glm);
    - "cluster": G/(G-1) (n-1)/(n-p) B [sum_g S_g S_g'] B with S_g the score sum of
      cluster g and G the clusters (statsmodels' default; R sandwich's vcovCL with
      type="HC1", its default for lm only);
    - "stata-cluster": G/(G-1) B [sum_g S_g S_g'] B (Stata's vce(cluster); R sandwich's
      vcovCL default for a glm, type="HC0").
    """
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
    if cov_type not in available_cov_types(data):
        raise ValueError(_unavailable(data, cov_type))
    bread, singular = inverse_information(data.information)
    n, p = data.n_obs, len(bread)
    if cov_type == "nonrobust":
        return bread, singular
    meat = {"HC2": data.hc2_meat, "HC3": data.hc3_meat}.get(
        cov_type, data.cluster_meat if cov_type in CLUSTERED else data.meat)
    factor = 1.0
    if cov_type in ("HC1", "cluster"):
        if n <= p:
            raise ValueError(f'cov_type="{cov_type}" scales by n/(n-p) or (n-1)/(n-p), '
                             f"undefined with n={n:g} observations and p={p} parameters")
        factor = n / (n - p) if cov_type == "HC1" else (n - 1) / (n - p)
    elif cov_type == "stata-robust":
        if n <= 1:
            raise ValueError('cov_type="stata-robust" needs more than one observation')
        factor = n / (n - 1)
    if cov_type in CLUSTERED:
        g = data.n_clusters
        if g < 2:
            raise ValueError(f'cov_type="{cov_type}" needs at least 2 clusters, got {g}')
        factor *= g / (g - 1)
    return factor * bread @ meat @ bread, singular


def _unavailable(data: InferenceData, cov_type: str) -> str:
    available = ", ".join(f'"{t}"' for t in available_cov_types(data))
    if cov_type in CLUSTERED:
        reason = f'cov_type="{cov_type}" needs the cluster labels: fit(..., clusters=...)'
    else:
        reason = (f'cov_type="{cov_type}" needs GLM hat values, which logitkit computes for '
                  "binary fits (R sandwich defines HC2 and HC3 through them; multinomial "
                  "and ordinal models have none, and model files from logitkit versions "
                  "without HC2 and HC3 do not hold them)")
    return f"{reason}; available for this fit: {available}"


def wald_table(estimates: np.ndarray, cov: np.ndarray, index: pd.Index, level: float,
               odds_ratio_rows: np.ndarray) -> pd.DataFrame:
    """One row per parameter: coef, std_err, z, p_value, confidence interval at ``level``
    (e.g. 0.95), and the exponentiated estimate and interval where ``odds_ratio_rows``."""
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimates / se
    crit = st.norm.ppf(0.5 + level / 2)
    lower, upper = estimates - crit * se, estimates + crit * se
    table = pd.DataFrame(
        {
            "coef": estimates,
            "std_err": se,
            "z": z,
            "p_value": 2 * st.norm.sf(np.abs(z)),
            "ci_lower": lower,
            "ci_upper": upper,
        },
        index=index,
    )
    with np.errstate(over="ignore"):
        for column, values in (("odds_ratio", estimates), ("odds_ratio_ci_lower", lower),
                               ("odds_ratio_ci_upper", upper)):
            table[column] = np.where(odds_ratio_rows, np.exp(values), np.nan)
    return table
