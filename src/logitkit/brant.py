"""The Brant (1990) test of the proportional-odds (parallel regression) assumption, as
R's brant package computes it.

For each cut j = 1..J-1 of an ordinal fit with J classes, the binary model of z_j =
[Y > classes_[j-1]] with an intercept, the same columns, link and offset is fitted by
maximum likelihood (Fisher scoring, to full precision). The J-1 slope vectors b_j are
estimates of the same b under the model; their joint covariance has blocks
I_j^-1 (diagonal) and I_j^-1 X' diag(w f_j f_l (pi_l - pi_j pi_l) / (V_j V_l)) X I_l^-1
(j < l), with pi_j = P(z_j = 1) fitted, f_j the link's density, V_j = pi_j (1 - pi_j)
and I_j = X' diag(w f_j^2 / V_j) X (for the logit link: X' W_jl X with W_jl = pi_l -
pi_j pi_l, brant's formula). The Wald statistic of b_1 = b_2 = ... = b_(J-1) is
chi2 with (J-2) k degrees of freedom for k slopes (omnibus), J-2 per coefficient.
Weights count as repeated rows. Two passes over X per Fisher step and one for the
covariance, in row blocks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.stats as st

from logitkit.families import LINKS
from logitkit.row_fits import HostRows

_MAX_ITER = 100
# links with 1 - F(x) = F(-x): the ordinal fit gives each binary model's start
_SYMMETRIC = ("logit", "probit")


def _gram(Xf, v) -> np.ndarray:
    """(p, p) [1, Xf]' diag(v) [1, Xf] without forming the intercept column."""
    k = Xf.shape[1]
    G = np.empty((k + 1, k + 1))
    G[0, 0] = v.sum()
    G[0, 1:] = G[1:, 0] = v @ Xf
    G[1:, 1:] = (Xf * v[:, None]).T @ Xf
    return G


class _Cut:
    """The binary model of one cut: z = [code > cut] on [1, X[:, free]] (+ offset)."""

    def __init__(self, rows: HostRows, free: np.ndarray, link, cut: int):
        self.rows, self.free, self.link, self.cut = rows, free, link, cut
        self.all_free = bool(free.all())

    def columns(self, r) -> np.ndarray:
        """The block's estimated columns (b, k)."""
        Xb = self.rows.block(r)
        return Xb if self.all_free else Xb[:, self.free]

    def parts(self, r, beta, Xf):
        """(z, w, pi, 1 - pi, f, log P(z)) of block r at beta = (intercept, slopes)."""
        rows = self.rows
        eta = Xf @ beta[1:] + beta[0]
        offset = rows.offset_block(r)
        if offset is not None:
            eta = eta + offset
        log_cdf, log_sf = self.link.log_cdf(eta), self.link.log_sf(eta)
        z = rows.codes[r] > self.cut
        log_pdf = log_cdf + log_sf if self.link.name == "logit" else self.link.log_pdf(eta)
        return (z, rows.weights[r], np.exp(log_cdf), np.exp(log_sf), np.exp(log_pdf),
                np.where(z, log_cdf, log_sf))

    def scoring_terms(self, beta):
        """(log-likelihood, score (p,), expected information (p, p)) at beta."""
        p = len(beta)
        loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
        for r in self.rows.blocks():
            Xf = self.columns(r)
            z, w, pi, rest, f, log_p = self.parts(r, beta, Xf)
            V = pi * rest
            loglik += float(np.sum(np.where(w > 0, w * log_p, 0.0)))
            s = w * np.where(z, rest, -pi) * f / V
            score[0] += s.sum()
            score[1:] += s @ Xf
            info += _gram(Xf, w * f * f / V)
        return loglik, score, info

    def fit(self, start=None) -> np.ndarray:
        """The maximum-likelihood (intercept, slopes) by Fisher scoring with step halving,
        from ``start`` (else the intercept-only model's intercept)."""
        if start is None:
            w = self.rows.weights
            share = float(np.sum(w * (self.rows.codes > self.cut)) / np.sum(w))
            start = np.zeros(1 + int(self.free.sum()))
            start[0] = float(self.link.ppf(np.array([share]))[0])
        beta = np.asarray(start, dtype=float)
        loglik, score, info = self.scoring_terms(beta)
        for _ in range(_MAX_ITER):
            try:
                with warnings.catch_warnings():  # near-singular: diverging (separation)
                    warnings.simplefilter("error", la.LinAlgWarning)
                    step = la.solve(info, score, assume_a="pos")
            except (la.LinAlgError, la.LinAlgWarning):
                break
            t = 1.0
            while True:
                trial = beta + t * step
                new = self.scoring_terms(trial)
                if new[0] >= loglik - 1e-12 * abs(loglik) or t < 1e-10:
                    break
                t /= 2
            beta, (loglik, score, info) = trial, new
            if np.max(np.abs(t * step)) <= 1e-13 * (1.0 + np.max(np.abs(beta))):
                return beta
        raise ValueError(
            f"the binary model of Y above its level {self.cut + 1} (of the cut after the "
            f"{self.cut + 1}th class) does not converge: its classes are (quasi-)separated "
            "or its design is singular, so the Brant test is not defined for these rows "
            "(merge sparse classes or drop the separating columns)")


def brant(estimator, rows: HostRows, free: np.ndarray, names: list,
          groups: dict | None = None) -> pd.DataFrame:
    """The Brant test table: index "Omnibus" then each name of ``groups`` (name -> (k,)
    int positions among the free slopes; None: one per free column, named ``names``),
    columns chi2, df, p_value; ``attrs["coefficients"]``: the binary fits' (J-1, k+1)
    intercepts and slopes."""
    J = len(estimator.classes_)
    if J < 3:
        raise ValueError("the Brant test compares the cuts of an ordinal model: it needs "
                         f"at least 3 classes, y has {J}")
    link = LINKS[estimator.link]
    cuts = [_Cut(rows, free, link, j) for j in range(J - 1)]
    starts = [None] * (J - 1)
    if estimator.link in _SYMMETRIC:  # P(Y > j) = F(eta - theta_j): start there
        slopes = np.asarray(estimator.coef_, float)[free]
        starts = [np.r_[-theta, slopes] for theta in estimator.thresholds_]
    betas = np.array([cut.fit(start) for cut, start in zip(cuts, starts, strict=True)])
    k = int(free.sum())
    cov = _joint_covariance(cuts, betas)
    slopes = betas[:, 1:].ravel()  # cut-major: b_1, b_2, ...
    D = np.kron(np.hstack([np.ones((J - 2, 1)), -np.eye(J - 2)]), np.eye(k))
    if groups is None:
        groups = {name: np.array([i]) for i, name in enumerate(names)}
    table = {"Omnibus": _wald(D, slopes, cov)}
    for name, positions in groups.items():
        columns = (np.arange(J - 1)[:, None] * k + np.asarray(positions)[None, :]).ravel()
        Ds = D[:, columns]
        Ds = Ds[np.any(Ds != 0, axis=1)]
        table[name] = _wald(Ds, slopes[columns], cov[np.ix_(columns, columns)])
    frame = pd.DataFrame.from_dict(table, orient="index", columns=["chi2", "df", "p_value"])
    frame["df"] = frame["df"].astype(int)
    frame.index.name = "test"
    labels = [f"{lo}|{hi}" for lo, hi in zip(estimator.classes_[:-1],
                                               estimator.classes_[1:], strict=True)]
    frame.attrs["coefficients"] = pd.DataFrame(
        betas, index=pd.Index(labels, name="cut"), columns=["Intercept", *names])
    return frame


def empty_cells(rows: HostRows, factors: list, n_classes: int) -> int:
    """Cells of the joint table of y and the categorical columns (``factors``: per
    column, the (L-1,) design positions of its non-reference levels) without rows of
    positive weight: R brant's count of "combinations in table(dv,ivs) [that] do not
    occur"."""
    if not factors:
        return 0
    sizes = [n_classes] + [len(f) + 1 for f in factors]
    seen = np.zeros(int(np.prod(sizes)), bool)
    for r in rows.blocks():
        Xb = rows.block(r)
        keep = rows.weights[r] > 0
        cell = rows.codes[r].astype(np.intp)
        for positions, size in zip(factors, sizes[1:], strict=True):
            dummies = Xb[:, positions]
            level = np.where(dummies.any(axis=1), np.argmax(dummies, axis=1) + 1, 0)
            cell = cell * size + level
        seen[cell[keep]] = True
    return int(np.count_nonzero(~seen))


def _wald(D, b, cov):
    """(chi2, df, p) of D b = 0."""
    d = D @ b
    statistic = float(d @ np.linalg.solve(D @ cov @ D.T, d))
    df = D.shape[0]
    return statistic, df, float(st.chi2.sf(statistic, df))


def _joint_covariance(cuts, betas) -> np.ndarray:
    """((J-1) k, (J-1) k) covariance of the stacked slopes (intercepts dropped)."""
    m, p = betas.shape
    info = np.zeros((m, p, p))
    cross = {(a, b): np.zeros((p, p)) for a in range(m) for b in range(a + 1, m)}
    for r in cuts[0].rows.blocks():
        Xf = cuts[0].columns(r)
        parts = [cut.parts(r, beta, Xf) for cut, beta in zip(cuts, betas, strict=True)]
        for a, (_, w, pi, rest, f, _) in enumerate(parts):
            info[a] += _gram(Xf, w * f * f / (pi * rest))
        for a, b in cross:
            _, w, pi_a, _, f_a, _ = parts[a]
            _, _, _, rest_b, f_b, _ = parts[b]
            # Cov(z_a, z_b) = pi_b (1 - pi_a) for a < b, over V_a V_b
            cross[a, b] += _gram(Xf, w * f_a * f_b / (pi_a * rest_b))
    inverse = [la.cho_solve(la.cho_factor(block), np.eye(p)) for block in info]
    k = p - 1
    cov = np.zeros((m * k, m * k))
    for a in range(m):
        cov[a * k:(a + 1) * k, a * k:(a + 1) * k] = inverse[a][1:, 1:]
    for (a, b), C in cross.items():
        block = (inverse[a] @ C @ inverse[b])[1:, 1:]
        cov[a * k:(a + 1) * k, b * k:(b + 1) * k] = block
        cov[b * k:(b + 1) * k, a * k:(a + 1) * k] = block.T
    return cov
