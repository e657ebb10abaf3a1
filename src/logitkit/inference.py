"""Covariance of the estimates and Wald inference, from matrices kept at fit time.

At the optimum the fit keeps the observed information (the Hessian of the total
weighted loss, exact and analytic) and the outer products of the scores. Covariances
of every type follow from those p x p matrices without touching the data again.
Frequency weights count as repeated rows throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.stats as st

from logitkit.objective import Objective

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")


@dataclass(frozen=True)
class InferenceData:
    """p x p matrices in the natural parametrisation (see :mod:`logitkit.objective`),
    restricted to the estimated parameters when some were fixed (aliased columns)."""

    information: np.ndarray
    meat: np.ndarray
    cluster_meat: np.ndarray | None
    n_clusters: int | None
    n_obs: float


def collect(objective: Objective, theta, clusters=None, mean_hessian=None,
            free=None) -> InferenceData:
    """Information and score products at ``theta`` of an unpenalised objective.

    clusters: (n,) group labels; mean_hessian: the objective's Hessian at ``theta`` if the
    solver already computed it (saves a pass over X); free: (p,) bool, the estimated
    parameters (the matrices keep only their rows and columns), None for all.
    """
    codes = None
    if clusters is not None:
        _, codes = np.unique(np.asarray(clusters), return_inverse=True)
    if mean_hessian is not None:
        information = mean_hessian * objective.total_weight
    else:
        _, _, information = objective.loss_terms(theta, 2)
    meat, cluster_meat = objective.score_products(theta, codes)
    if free is not None and not np.all(free):
        keep = np.ix_(free, free)
        information, meat = information[keep], meat[keep]
        cluster_meat = None if cluster_meat is None else cluster_meat[keep]
    return InferenceData(
        information=information,
        meat=meat,
        cluster_meat=cluster_meat,
        n_clusters=None if codes is None else int(codes.max()) + 1,
        n_obs=objective.total_weight,
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


def inverse_information(information: np.ndarray) -> tuple[np.ndarray, bool]:
    """(inverse, singular): Cholesky on the equilibrated matrix, pseudo-inverse if singular."""
    scale = 1.0 / np.sqrt(np.where(np.diag(information) > 0, np.diag(information), 1.0))
    scaled = information * scale[:, None] * scale[None, :]
    try:
        inverse = la.cho_solve(la.cho_factor(scaled), np.eye(len(scale)))
        singular = False
    except la.LinAlgError:
        inverse = np.linalg.pinv(scaled, hermitian=True)
        singular = True
    return inverse * scale[:, None] * scale[None, :], singular


def covariance(data: InferenceData, cov_type: str = "nonrobust") -> tuple[np.ndarray, bool]:
    """(p x p covariance, information_was_singular) for one of :data:`COV_TYPES`.

    HC1 scales HC0 by n/(n-p) (R sandwich's "HC1"; Stata's vce(robust) uses n/(n-1));
    cluster uses G/(G-1) (n-1)/(n-p), as Stata and statsmodels.
    """
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
    bread, singular = inverse_information(data.information)
    n, p = data.n_obs, len(bread)
    if cov_type == "nonrobust":
        return bread, singular
    if cov_type == "cluster":
        if data.cluster_meat is None:
            raise ValueError('cov_type="cluster" needs the cluster labels: fit(..., clusters=...)')
        g = data.n_clusters
        factor = g / (g - 1) * (n - 1) / (n - p)
        return factor * bread @ data.cluster_meat @ bread, singular
    factor = n / (n - p) if cov_type == "HC1" else 1.0
    return factor * bread @ data.meat @ bread, singular


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
