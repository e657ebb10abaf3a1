"""Predicted class probabilities with delta-method standard errors and intervals.

Binary fits: the interval is built on the link scale, eta +- z se(eta) with
se(eta)^2 = x' V x, and mapped through the link's CDF (for class 0 through 1 - F); the
probability's standard error is f(eta) se(eta). Multinomial and ordinal fits have no
single link scale per class: the interval of P_k is built on its logit, logit(P_k) +-
z se(P_k) / (P_k (1 - P_k)), with se(P_k) the delta-method standard error of P_k, and
mapped back by the logistic function, so it stays inside (0, 1). For a binary logit
both constructions are the same interval; for an ordinal logit the first and last
classes' logits are linear in the parameters, as the binary logit's is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats as st

from logitkit.class_probabilities import ClassProbabilities, dense, expit, logit
from logitkit.delta_method import check_level, natural_covariance

COLUMNS = ("proba", "std_err", "lower", "upper")
_BLOCK_VALUES = 2**17


def predict_interval(est, X, level=0.95, cov_type=None, offset=None) -> pd.DataFrame:
    """(n rows) x (class, [proba, std_err, lower, upper]) columns; see the module doc."""
    level = check_level(level)
    V, reason = natural_covariance(est, est._cov_type(cov_type))
    if V is None:
        raise ValueError(f"prediction intervals need standard errors: {reason}")
    cp = ClassProbabilities(est)
    Xd = est._design(X, reset=False)
    n = Xd.shape[0]
    offset = est._offset(Xd, offset, "predict_interval")
    crit = st.norm.ppf(0.5 + level / 2)
    out = np.empty((n, cp.K, len(COLUMNS)))
    size = max(64, _BLOCK_VALUES // (cp.K * cp.p))
    for start in range(0, n, size):
        rows = slice(start, min(start + size, n))
        off = None if offset is None else offset[rows]
        out[rows] = _block(cp, dense(Xd[rows]), off, V, crit)
    index = X.index if isinstance(X, pd.DataFrame) else None
    columns = pd.MultiIndex.from_product([list(est.classes_), list(COLUMNS)],
                                         names=[est.target_name_ or "class", None])
    return pd.DataFrame(out.reshape(n, -1), index=index, columns=columns)


def _block(cp: ClassProbabilities, Xb, off, V, crit) -> np.ndarray:
    """(b, K, 4) probability, standard error, lower, upper."""
    if cp.kind == "binary":
        return _binary_block(cp, Xb, off, V, crit)
    P, G = cp.proba_gradient(cp.theta, Xb, off)
    # x' V x per row as a product with V, then a row-wise dot (one BLAS call, not a
    # three-index einsum)
    se = np.sqrt(np.maximum(np.einsum("bkp,bkp->bk", G @ V, G), 0.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        centre = logit(P)
        half = crit * se / (P * (1.0 - P))
        lower, upper = expit(centre - half), expit(centre + half)
    return np.stack([P, se, lower, upper], axis=2)


def _binary_block(cp: ClassProbabilities, Xb, off, V, crit) -> np.ndarray:
    """The binary case from the link scale alone: se(eta)^2 = x' V x, P = F(eta) and
    se(P) = f(eta) se(eta) for both classes."""
    eta = cp.binary_link_scale(cp.theta, Xb, off)
    Xt = cp._tilde(Xb)
    se_eta = np.sqrt(np.maximum(np.einsum("bp,bp->b", Xt @ V[:cp.d1, :cp.d1], Xt), 0))
    with np.errstate(under="ignore", over="ignore"):
        P = np.exp(np.stack([cp.link.log_sf(eta), cp.link.log_cdf(eta)], axis=1))
        se = (cp._pdf(eta) * se_eta)[:, None].repeat(2, axis=1)
        down, up = eta - crit * se_eta, eta + crit * se_eta
        lower = np.exp(np.stack([cp.link.log_sf(up), cp.link.log_cdf(down)], axis=1))
        upper = np.exp(np.stack([cp.link.log_sf(down), cp.link.log_cdf(up)], axis=1))
    return np.stack([P, se, lower, upper], axis=2)
