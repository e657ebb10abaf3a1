"""Hosmer-Lemeshow goodness-of-fit tests: binary as Stata's ``estat gof, group(g)``,
multinomial and ordinal as R's generalhoslem ``logitgof``.

Binary (Stata's lfit.ado, ``HosLem``/``Quantile``): rows sorted by the fitted
probability p; rows with equal p are one unit (ties stay together); with W_u the
cumulative weight through unit u and N the total, q_u = g W_u / N and unit u closes
group floor(q_u) (round(q_u) when q_u is within g * 1e-8 of an integer and the next
unit is past it); a unit belongs to the first group closed at or after it, so a tie
spanning a boundary leaves a group empty, and empty groups are dropped (Stata: "There
are only m distinct quantiles because of ties"). Statistic: sum over groups of
(O - E)^2 / (E (1 - E / n_g)), O, E and n_g the weighted counts of classes_[1], its
expected count and the group's weight (groups with E = 0 or E = n_g add 0); df = groups - 2.

Multinomial (Fagerland, Hosmer and Bofin 2008): groups by R's type-7 quantiles of
1 - P(classes_[0]) at 0, 1/g, ..., 1 (repeated breaks dropped), intervals closed on the
right, the first closed on both sides; statistic sum over groups and classes of
(O - E)^2 / E; df = (groups - 2)(K - 1).
Ordinal (Fagerland and Hosmer 2013): rows sorted (stably) by the score sum_k k P(k), k
= 1..K, split into g groups by ``cut(1:n, breaks=g)``; statistic as multinomial; df =
(groups - 2)(K - 1) + K - 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as st


@dataclass(frozen=True)
class GoodnessOfFit:
    """A Hosmer-Lemeshow test: statistic ~ chi2(df) under the model; ``table`` one row
    per group (observed and expected weighted counts per class, the group's total)."""

    statistic: float
    df: int
    p_value: float
    groups: int
    table: pd.DataFrame
    method: str

    def __repr__(self) -> str:
        return (f"{self.method}: chi2({self.df}) = {self.statistic:.4f}, "
                f"p = {self.p_value:.4f} ({self.groups} groups)")


def stata_groups(p: np.ndarray, w: np.ndarray, g: int) -> np.ndarray:
    """(n,) group labels 1..g of Stata's ``estat gof, group(g)`` for fitted
    probabilities p and (frequency) weights w; labels of empty groups do not occur."""
    order = np.argsort(p, kind="stable")
    ps, cum = p[order], np.cumsum(w[order])
    total = cum[-1]
    last = np.r_[ps[1:] != ps[:-1], True]  # the last row of each tie block (unit)
    W = cum[last]
    q = g * W / total
    eps = g * 1e-8
    nearest = np.round(q)
    after = np.r_[q[1:], np.inf]
    reached = (np.abs(q - nearest) < eps) & (after - nearest >= eps)
    k = np.where(reached | (np.arange(len(q)) == len(q) - 1), nearest, np.floor(q))
    previous = np.r_[0.0, k[:-1]]
    closing = np.flatnonzero(k > previous)  # units where the closed count grows
    # each unit joins the group closed by the first closing unit at or after it
    after_u = np.minimum(np.searchsorted(closing, np.arange(len(q))), len(closing) - 1)
    labels = k[closing[after_u]]
    unit = np.cumsum(np.r_[True, ps[1:] != ps[:-1]]) - 1
    out = np.empty(len(p))
    out[order] = labels[unit]
    return out.astype(np.intp)


def binary_test(p: np.ndarray, y: np.ndarray, w: np.ndarray, g: int) -> GoodnessOfFit:
    """Stata's ``estat gof, group(g)`` for fitted P(classes_[1]) p, y (n,) bool, weights w."""
    keep = w > 0
    p, y, w = p[keep], y[keep], w[keep]
    labels = stata_groups(p, w, g)
    present, index = np.unique(labels, return_inverse=True)
    total = np.bincount(index, weights=w)
    observed = np.bincount(index, weights=w * y)
    expected = np.bincount(index, weights=w * p)
    upper = np.full(len(present), -np.inf)
    np.maximum.at(upper, index, p)
    inside = (expected > 0) & (expected < total)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(inside, (observed - expected) ** 2
                         / (expected * (1 - expected / total)), 0.0)
    m = len(present)
    table = pd.DataFrame({"max_prob": upper, "obs_1": observed, "exp_1": expected,
                          "obs_0": total - observed, "exp_0": total - expected,
                          "total": total}, index=pd.Index(present, name="group"))
    return _result(float(terms.sum()), m - 2, m, table, "Hosmer-Lemeshow (binary)")


def _result(statistic, df, groups, table, method) -> GoodnessOfFit:
    if df < 1:
        raise ValueError(f"only {groups} group(s) could be formed (ties in the fitted "
                         "probabilities, or too few rows): the test needs at least 3")
    return GoodnessOfFit(statistic, int(df), float(st.chi2.sf(statistic, df)), groups,
                         table, method)


def _r_quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's ``quantile(x, probs)`` (type 7)."""
    xs = np.sort(x)
    index = (len(xs) - 1) * probs  # 0-based
    lo = np.floor(index).astype(np.intp)
    hi = np.ceil(index).astype(np.intp)
    q = xs[lo].copy()
    h = index - lo
    move = (index > lo) & (xs[hi] != q)
    q[move] = (1 - h[move]) * q[move] + h[move] * xs[hi[move]]
    return q


def _r_cut(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """0-based interval of each x for R's ``cut(x, breaks, include.lowest=TRUE)``
    (intervals (b_j, b_j+1], the first closed on the left)."""
    label = np.searchsorted(breaks, x, side="left") - 1
    return np.where(x == breaks[0], 0, label)


def _r_seq_length(start: float, stop: float, length: int) -> np.ndarray:
    """R's ``seq.int(start, stop, length.out=length)``: from each end towards the middle."""
    by = (stop - start) / (length - 1)
    i = np.arange(length)
    out = np.where(i < length // 2, start + i * by, stop - (length - 1 - i) * by)
    out[0], out[-1] = start, stop
    return out


def _table(groups, codes, proba, K, classes):
    present, index = np.unique(groups, return_inverse=True)
    m = len(present)
    observed = np.zeros((m, K))
    np.add.at(observed, (index, codes), 1.0)
    expected = np.zeros((m, K))
    np.add.at(expected, index, proba)
    return observed, expected, m


def class_test(proba: np.ndarray, codes: np.ndarray, g: int, ordinal: bool,
               classes) -> GoodnessOfFit:
    """generalhoslem's ``logitgof(obs, exp, g, ord)`` for (n, K) fitted probabilities and
    (n,) class codes (unweighted rows)."""
    n, K = proba.shape
    if ordinal:
        score = proba @ np.arange(1, K + 1)
        order = np.argsort(score, kind="stable")
        rank = np.empty(n)
        rank[order] = np.arange(1, n + 1)
        breaks = _r_seq_length(1.0, float(n), g + 1)
        dx = n - 1.0
        breaks[0], breaks[-1] = 1.0 - dx / 1000, n + dx / 1000
        groups = _r_cut(rank, breaks)
    else:
        risk = 1.0 - proba[:, 0]
        probs = np.minimum(np.arange(g + 1) * (1.0 / g), 1.0)
        groups = _r_cut(risk, np.unique(_r_quantile7(risk, probs)))
    observed, expected, m = _table(groups, codes, proba, K, classes)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    df = (m - 2) * (K - 1) + (K - 2 if ordinal else 0)
    columns = pd.MultiIndex.from_tuples(
        [(part, c) for part in ("observed", "expected") for c in classes] + [("total", "")])
    table = pd.DataFrame(np.hstack([observed, expected, observed.sum(axis=1)[:, None]]),
                         columns=columns, index=pd.Index(np.arange(1, m + 1), name="group"))
    kind = "ordinal" if ordinal else "multinomial"
    return _result(statistic, df, m, table, f"Hosmer-Lemeshow ({kind})")
