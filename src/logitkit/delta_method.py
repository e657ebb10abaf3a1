"""Delta-method tables: estimates, their covariance, z tests and Wald intervals.

Shared by marginal effects (:mod:`logitkit.margins`) and predictions with intervals
(:mod:`logitkit.prediction_intervals`): the covariance of the natural parameters of a
fit for a chosen ``cov_type``, embedded in the full natural layout (the slopes of
aliased columns, held at 0, have no variance), and the table of a statistic g(theta)
with covariance J V J'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats as st


def natural_covariance(est, cov_type: str) -> tuple[np.ndarray | None, str | None]:
    """((p, p) covariance of the natural parameters, None) or (None, the reason there is
    none: a penalised fit, inference=False)."""
    if est.inference_ is None:
        return None, est._no_inference()[1]
    free = est._free()
    estimated, _ = est._natural_covariance(cov_type)
    V = np.zeros((len(free), len(free)))
    V[np.ix_(free, free)] = estimated
    return V, None


def check_level(level) -> float:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level (the confidence level) must be in (0, 1), e.g. 0.95, got "
                         f"{level!r}")
    return float(level)


def z_table(estimates: np.ndarray, se: np.ndarray, index, level: float,
            name: str = "effect") -> pd.DataFrame:
    """One row per statistic: ``name``, std_err, z, p_value, ci_lower, ci_upper (normal)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimates / se
    crit = st.norm.ppf(0.5 + level / 2)
    return pd.DataFrame({name: estimates, "std_err": se, "z": z,
                         "p_value": 2 * st.norm.sf(np.abs(z)),
                         "ci_lower": estimates - crit * se,
                         "ci_upper": estimates + crit * se}, index=index)
