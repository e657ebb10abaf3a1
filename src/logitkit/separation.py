"""Detection of (quasi-)complete separation with linear programs.

The maximum-likelihood estimate of a logistic model fails to exist exactly when there is a
nonzero *direction of recession*: a parameter direction along which no fitted margin gets worse
and at least one gets strictly better (Albert & Anderson 1984). Following Konis (R packages
``safeBinaryRegression`` / ``detectseparation``) this is decided by a linear program: maximise
the sum of the margins ``A @ z`` subject to ``A @ z >= 0`` and a box ``-1 <= z <= 1``; the data
are separated iff the optimum is positive. Columns of ``X`` are scaled to max-abs 1 first.

Three LPs are solved with HiGHS (the last two only when separation is found):

1. detection (Konis' LP above);
2. reporting: the separating direction with the smallest L1 norm (normalised by
   ``sum(A @ z) == 1``), so that the reported ``features`` are a *sparse* certificate and
   irrelevant columns are not named. Another certificate may use other columns;
3. completeness: maximise ``t`` subject to ``A @ z >= t``, ``t <= 1``.

Each LP has ``(K-1)*(d+1)`` variables and ``n*(K-1)`` (multinomial) or ``<= 2n`` (ordinal)
constraints, stored sparsely; callers only invoke this for moderate problem sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["SeparationReport", "detect_separation"]

_ZERO = 1e-8  # components below this (direction scaled to max-abs 1) count as zero
_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


@dataclass(frozen=True)
class SeparationReport:
    """Outcome of :func:`detect_separation`.

    ``direction`` holds the slopes of a separating direction in the units of the original
    ``X`` (shape ``(d,)`` for binomial/ordinal, ``((K-1)*d,)`` row-major for multinomial with
    class 0 as baseline), normalised so that its largest scaled component is 1; intercepts and
    cut points are not included. ``features`` are the columns with a nonzero slope in it.
    ``offsets`` holds the direction's intercepts (multinomial: one per non-base class;
    binomial: one, when fitted) or cut points (ordinal), on the same normalisation.
    """

    separated: bool
    complete: bool
    features: tuple[int, ...]
    direction: np.ndarray | None
    offsets: np.ndarray | None = None


def _margin_system(X, y, kind, K, fit_intercept):
    """Return ``(A, B, n_slope)``: margins are ``A @ z``, extra constraints ``B @ z <= 0``.

    Variable layout ``z``: binomial ``[b (d), c]``; multinomial ``[D_1..D_{K-1} (d each),
    c_1..c_{K-1}]``; ordinal ``[b (d), t_0..t_{K-2}]``. The first ``n_slope`` are slopes.
    """
    n, d = X.shape
    if kind == "binomial":
        s = np.where(y == 1, 1.0, -1.0)[:, None]
        cols = [X, np.ones((n, 1))] if fit_intercept else [X]
        return sp.csr_matrix(s * np.hstack(cols)), None, d

    if kind == "multinomial":
        n_slope = (K - 1) * d
        n_var = n_slope + (K - 1 if fit_intercept else 0)
        rows, cols, vals = [], [], []
        r = 0
        for k in range(K):
            # rows i with y_i != k get the margin for class y_i against class k
            idx = np.flatnonzero(y != k)
            for sign, cls in ((1.0, y[idx]), (-1.0, np.full(idx.size, k))):
                keep = cls != 0  # the baseline class has D_0 = 0, c_0 = 0
                ridx = r + np.arange(idx.size)[keep]
                base = (cls[keep] - 1) * d
                rows.append(np.repeat(ridx, d))
                cols.append((base[:, None] + np.arange(d)).ravel())
                vals.append(sign * X[idx[keep]].ravel())
                if fit_intercept:
                    rows.append(ridx)
                    cols.append(n_slope + cls[keep] - 1)
                    vals.append(np.full(ridx.size, sign))
            r += idx.size
        A = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(r, n_var),
        )
        return A, None, n_slope

    if kind == "ordinal":
        # class c: t_c - x'b >= 0 (c < K-1) and x'b - t_{c-1} >= 0 (c > 0)
        up, lo = np.flatnonzero(y < K - 1), np.flatnonzero(y > 0)
        T = sp.identity(K - 1, format="csr")
        A = sp.vstack(
            [
                sp.hstack([sp.csr_matrix(-X[up]), T[y[up]]]),
                sp.hstack([sp.csr_matrix(X[lo]), -T[y[lo] - 1]]),
            ],
            format="csr",
        )
        if K == 2:
            return A, None, d
        # ordering t_j - t_{j+1} <= 0
        order = sp.eye(K - 2, K - 1) - sp.eye(K - 2, K - 1, 1)
        return A, sp.hstack([sp.csr_matrix((K - 2, d)), order], format="csr"), d

    raise ValueError(f"unknown kind {kind!r}; expected 'binomial', 'multinomial' or 'ordinal'")


def _solve(c, A_ub, b_ub, bounds, A_eq=None, b_eq=None):
    res = linprog(
        c,
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=bounds,
        method="highs",
        options=_OPTIONS,
    )
    return res if res.status == 0 else None


def detect_separation(X, y, kind, n_classes, fit_intercept=True, sample_weight=None):
    """Detect (quasi-)complete separation; return a :class:`SeparationReport`.

    X: (n, d) float array; y: (n,) integer codes ``0..n_classes-1``; kind: ``"binomial"``
    (class 1 is the event), ``"multinomial"`` (baseline class 0) or ``"ordinal"``
    (proportional odds ``logit P(Y <= j) = theta_j - x'b``; ``fit_intercept`` is ignored
    because the cut points play its role). Rows whose ``sample_weight`` is 0 are dropped.
    Inputs are assumed validated by the caller.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(np.intp)
    if X.ndim == 1:
        X = X[:, None]
    if sample_weight is not None:
        keep = np.asarray(sample_weight, dtype=float) != 0
        X, y = X[keep], y[keep]
    K = 2 if kind == "binomial" else int(n_classes)
    d = X.shape[1]
    n_dir = (K - 1) * d if kind == "multinomial" else d
    not_sep = SeparationReport(False, False, (), None)
    if X.shape[0] == 0 or K < 2:
        return not_sep

    scale = np.max(np.abs(X), axis=0)
    scale[~(scale > 0)] = 1.0
    A, B, n_slope = _margin_system(X / scale, y, kind, K, fit_intercept)
    m, p = A.shape
    g = np.asarray(A.sum(axis=0)).ravel()  # sum of margins = g @ z
    n_b = 0 if B is None else B.shape[0]
    A_ub = -A if B is None else sp.vstack([-A, B], format="csr")
    b_ub = np.zeros(m + n_b)

    # 1. Konis' LP: maximise the total margin over the box.
    res = _solve(-g, A_ub, b_ub, [(-1.0, 1.0)] * p)
    if res is None or -res.fun <= 1e-7 * max(m, 1):
        return not_sep
    z = res.x

    # 2. Sparse certificate: min ||z||_1 with margins >= 0 and total margin 1 (z = u - v).
    # Slopes cost slightly more than intercepts/cut points, so ties name no feature.
    w = np.ones(p)
    w[:n_slope] += 1e-6
    res2 = _solve(
        np.concatenate([w, w]),
        sp.hstack([A_ub, -A_ub], format="csr"),
        b_ub,
        [(0.0, None)] * (2 * p),
        A_eq=np.concatenate([g, -g])[None, :],
        b_eq=[1.0],
    )
    if res2 is not None:
        z = res2.x[:p] - res2.x[p:]

    # 3. Complete separation: every margin strictly positive for some direction in the box.
    A3 = sp.hstack([A_ub, sp.csr_matrix(np.r_[np.ones(m), np.zeros(n_b)][:, None])], format="csr")
    c3 = np.zeros(p + 1)
    c3[-1] = -1.0
    res3 = _solve(c3, A3, b_ub, [(-1.0, 1.0)] * p + [(0.0, 1.0)])
    complete = res3 is not None and -res3.fun > 1e-7

    slopes = z[:n_slope].reshape(n_dir // d if d else 1, d)
    offsets = z[n_slope:].copy()
    top = np.max(np.abs(slopes)) if slopes.size else 0.0
    if top > 0:
        slopes, offsets = slopes / top, offsets / top
    slopes[np.abs(slopes) < _ZERO] = 0.0
    offsets[np.abs(offsets) < _ZERO * max(1.0, np.max(np.abs(offsets), initial=0.0))] = 0.0
    features = tuple(int(j) for j in np.flatnonzero(np.any(slopes != 0, axis=0)))
    direction = (slopes / scale).reshape(n_dir)
    return SeparationReport(True, complete, features, direction, offsets)
