"""Residuals of each kind and influence measures of binary fits, as R's glm defines them.

Binary fits (R's ``residuals.glm``; y in {0, 1} codes classes_[1], mu = F(eta), f =
F'(eta), w the row's weight taken as R's prior weight):

- response: y - mu;  working: (y - mu) / f;
- pearson: sqrt(w) (y - mu) / sqrt(mu (1 - mu));
- deviance: sign(y - mu) sqrt(-2 w log P(y)).

Multinomial and ordinal fits have no single residual per row: "response" and
"pearson" are given per class ((n, K), the class indicator y_k against p_k, Pearson
scaled by sqrt(w / (p_k (1 - p_k)))), "deviance" per row, unsigned (sqrt(-2 w log
P(y)), whose squares sum to the deviance); "working" is refused. "probability" (ordinal
and binary fits): Li and Shepherd's (2012) probability-scale residual P(Y < y) - P(Y >
y) under the fitted distribution (binary: y - mu).

Influence (binary, :func:`binary_influence`): W = w f^2 / (mu (1 - mu)) the working
weights, A = (X'WX)^-1 over the estimated columns (and the intercept); hat h = W x'A x,
Cook's distance (r_P / (1 - h))^2 h / p (R's ``cooks.distance.glm``, dispersion 1), and
dfbetas either as R's ``dfbetas`` computes them for a glm (``lm.influence``: deviance
residuals r_D, dfbeta = sqrt(W) A x r_D / (1 - h), scaled by sigma_(i) sqrt(A_jj) with
sigma_(i)^2 = (sum r_D^2 - r_D,i^2 / (1 - h)) / (n - p - 1)) or as the one-step change of
the estimates scaled by their standard errors (Pregibon 1981; SAS's DFBETAS,
statsmodels' ``GLMInfluence.dfbetas``): A x w (y - mu) f / (mu (1 - mu)) / (1 - h) /
sqrt(A_jj). Two passes over X in row blocks; nothing of size n x n.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

from logitkit.inference import cholesky
from logitkit.row_fits import HostRows, binary_link, binary_parts, class_probabilities

KINDS = ("pearson", "deviance", "response", "working", "probability")
DFBETAS = ("R", "one-step")
_EPS = np.finfo(float).eps


def _binary_block(estimator, rows: HostRows, r):
    """(y, w, eta, mu, 1 - mu, f, y - mu, log P(y)) of one block of a binary fit."""
    link = binary_link(estimator)
    eta, mu, rest, f = binary_parts(estimator, rows.block(r), rows.offset_block(r))
    y = rows.codes[r] == 1
    w = rows.weights[r]
    diff = np.where(y, rest, -mu)  # y - mu without cancellation
    log_p = np.where(y, link.log_cdf(eta), link.log_sf(eta))
    return y, w, eta, mu, rest, f, diff, log_p


def _deviance_terms(w, log_p):
    """(b,) -2 w log P(y), 0 for rows of weight 0."""
    return np.where(w > 0, -2.0 * w * log_p, 0.0)


def binary_residuals(estimator, rows: HostRows, kind: str) -> np.ndarray:
    """(n,) residuals of ``kind`` of a binary fit."""
    out = np.empty(rows.n)
    for r in rows.blocks():
        y, w, eta, mu, rest, f, diff, log_p = _binary_block(estimator, rows, r)
        if kind in ("response", "probability"):  # P(Y < y) - P(Y > y) = y - mu
            out[r] = diff
        elif kind == "working":
            out[r] = diff / f
        elif kind == "pearson":
            out[r] = np.sqrt(w) * diff / np.sqrt(mu * rest)
        else:
            out[r] = np.where(y, 1.0, -1.0) * np.sqrt(_deviance_terms(w, log_p))
    return out


def class_residuals(estimator, rows: HostRows, kind: str) -> np.ndarray:
    """Residuals of a multinomial or ordinal fit: (n, K) per class for "response" and
    "pearson", (n,) per row for "deviance"."""
    K = len(estimator.classes_)
    per_row = kind in ("deviance", "probability")
    out = np.empty(rows.n) if per_row else np.empty((rows.n, K))
    for r in rows.blocks():
        proba = class_probabilities(estimator, rows.block(r), rows.offset_block(r))
        codes, w = rows.codes[r], rows.weights[r]
        if kind == "probability":  # ordinal: P(Y < y) - P(Y > y)
            cumulative = np.cumsum(proba, axis=1)
            below = np.where(codes > 0, cumulative[np.arange(len(codes)), codes - 1], 0.0)
            above = 1.0 - cumulative[np.arange(len(codes)), codes]
            out[r] = below - above
            continue
        if kind == "deviance":
            with np.errstate(divide="ignore"):
                log_p = np.log(proba[np.arange(len(codes)), codes])
            out[r] = np.sqrt(_deviance_terms(w, log_p))
            continue
        diff = (codes[:, None] == np.arange(K)) - proba
        out[r] = diff if kind == "response" else \
            np.sqrt(w)[:, None] * diff / np.sqrt(proba * (1.0 - proba))
    return out


def _with_intercept(Xb, free, intercept: bool):
    Z = Xb[:, free]
    return np.column_stack([np.ones(len(Z)), Z]) if intercept else Z


def binary_influence(estimator, rows: HostRows, free: np.ndarray, intercept: bool,
                     dfbetas: str = "R") -> dict:
    """Influence measures of a binary fit over the columns ``free`` ((d,) bool, the
    estimated ones), parameters ordered [Intercept,] slopes: a dict of (n,) "hat",
    "cooks_distance", "pearson", "deviance", and (n, p) "dfbetas"."""
    p = int(free.sum()) + int(intercept)
    information = np.zeros((p, p))
    deviances = np.empty(rows.n)
    for r in rows.blocks():
        Z = _with_intercept(rows.block(r), free, intercept)
        _, w, _, mu, rest, f, _, log_p = _binary_block(estimator, rows, r)
        W = w * f * f / (mu * rest)
        information += (Z * W[:, None]).T @ Z
        deviances[r] = _deviance_terms(w, log_p)
    try:
        A = la.cho_solve(cholesky(information), np.eye(p))
    except la.LinAlgError:
        raise ValueError("the information matrix X'WX of these rows is singular: the "
                         "influence measures are not defined (drop aliased or constant "
                         "columns, or pass rows whose design has full rank)") from None
    n_obs = int(np.count_nonzero(rows.weights > 0))
    dev_res = np.sqrt(deviances)
    # R zeroes residuals that are rounding (a row with h = 1 then changes nothing)
    tiny = 100 * _EPS * np.median(dev_res[rows.weights > 0]) if n_obs else 0.0
    total = float(np.sum(deviances[dev_res >= tiny]))
    out = {name: np.empty(rows.n) for name in ("hat", "cooks_distance", "pearson",
                                               "deviance")}
    out["dfbetas"] = np.empty((rows.n, p))
    scale = np.sqrt(np.diag(A))
    for r in rows.blocks():
        Z = _with_intercept(rows.block(r), free, intercept)
        y, w, _, mu, rest, f, diff, _ = _binary_block(estimator, rows, r)
        V = mu * rest
        W = w * f * f / V
        ZA = Z @ A
        hat = W * np.einsum("ij,ij->i", ZA, Z)
        hat = np.where(hat > 1 - 10 * _EPS, 1.0, hat)
        pearson = np.sqrt(w) * diff / np.sqrt(V)
        deviance = np.where(y, 1.0, -1.0) * dev_res[r]
        deviance = np.where(np.abs(deviance) < tiny, 0.0, deviance)
        rest_h = 1.0 - hat
        with np.errstate(divide="ignore", invalid="ignore"):
            cook = (pearson / rest_h) ** 2 * hat / p
            if dfbetas == "R":
                change = np.where(hat == 1, 0.0, np.sqrt(W) * deviance / rest_h)
                left = total - np.where(hat < 1, deviance**2 / rest_h, 0.0)
                sigma = np.sqrt(left / (n_obs - p - 1))
                out["dfbetas"][r] = ZA * (change / sigma)[:, None] / scale
            else:
                change = w * diff * f / V / rest_h
                out["dfbetas"][r] = ZA * change[:, None] / scale
        out["hat"][r], out["pearson"][r], out["deviance"][r] = hat, pearson, deviance
        out["cooks_distance"][r] = np.where(np.isinf(cook), np.nan, cook)
    return out
