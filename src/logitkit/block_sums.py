"""Sums over row blocks of Gram-type products, in the natural parameter layout: the
Hessian (:class:`HessianSum`), weighted row Grams for score products (:class:`RowGram`),
hat-value quadratic forms (:class:`HatFactor`). Each accumulates in float64 where X lives;
:class:`logitkit.objective.Objective` feeds them its blocks."""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from logitkit.backends import clip_min, device, get_namespace, gram, to_numpy
from logitkit.design import is_design
from logitkit.families.base import EtaDerivatives

if TYPE_CHECKING:
    from logitkit.objective import Objective


# the Hessian's slopes block per pair of eta columns up to this many columns, beyond it
# the pairs' small Gram products cost more than the low-rank one (one thread, blocks of
# 3125 rows, pairs / general: m = 9, d = 20: 9.8 / 16.1 ms; m = 19, d = 20: 32 / 37 ms;
# m = 24, d = 20: 43 / 41 ms; m = 49, d = 20: 213 / 122 ms; m = 30, d = 50: 250 / 277 ms)
PAIR_GRAMS_MAX_ETA = 16


class HatFactor:
    """x_i' B x_i for the rows x_i = [X_b row, 1 if fit_intercept] of a block, B (p, p),
    in float64 where X lives: X_b @ B (NumPy's BLAS; scipy's trmm would halve the
    flops, but its second OpenBLAS thread pool slows the Gram products around it)."""

    def __init__(self, B, d: int, fit_intercept: bool, X):
        xp = get_namespace(X)
        self.d, self.fit_intercept = d, fit_intercept
        self.B = xp.asarray(B, dtype=xp.float64, device=device(X))

    def quadratic_form(self, Xb):
        """(b,) float64 x_i' B x_i of the block's rows."""
        xp, d, B = get_namespace(Xb), self.d, self.B
        if is_design(Xb):
            X64, quad = Xb, Xb.quadratic_form(B[:d, :d])
        else:
            X64 = xp.astype(Xb, xp.float64, copy=False)
            if isinstance(X64, np.ndarray) and X64.ndim == 2 and X64.strides[0] == X64.itemsize:
                # (column order: B X' and its products column by column; one thread, a
                # 20,000 x 50 block: 4.6 ms against 8.3 ms row by row)
                quad = np.einsum("ji,ji->i", B[:d, :d] @ X64.T, X64.T)
            else:
                quad = xp.vecdot(X64 @ B[:d, :d], X64, axis=1)
        if self.fit_intercept:
            quad = quad + 2.0 * (X64 @ B[:d, d]) + B[d, d]
        return quad


class RowGram:
    """sum_i r_i^2 x_i x_i' over row blocks for (b,) float64 r, x_i = [X row, 1 if
    fit_intercept]: the natural layout of one linear predictor without aux. Gram
    products in X's dtype, sums in float64 where X lives."""

    def __init__(self, objective: Objective):
        self.objective = ob = objective
        self.XX, self.Xc, self.cc = ob._zeros(ob.d, ob.d), ob._zeros(ob.d), ob._zeros()

    def add(self, Xb, r):
        ob = self.objective
        if is_design(Xb):
            self.XX += Xb.weighted_gram(r * r)
            if ob.fit_intercept:
                self.Xc += (r * r) @ Xb
        else:
            Z = ob.xp.astype(r, Xb.dtype)[:, None] * Xb
            self.XX += gram(Z)
            if ob.fit_intercept:
                self.Xc += ob._cross(Z, r[:, None])[0]
        if ob.fit_intercept:
            self.cc += ob.xp.sum(r * r)

    def matrix(self) -> np.ndarray:
        d = self.objective.d
        XX, Xc, cc = (to_numpy(a) for a in (self.XX, self.Xc, self.cc))
        if not self.objective.fit_intercept:
            return XX
        M = np.empty((d + 1, d + 1))
        M[:d, :d], M[:d, d], M[d, :d], M[d, d] = XX, Xc, Xc, cc
        return M


class ScoreProducts(NamedTuple):
    """(p, p) sums of :meth:`Objective.score_products`; None where not computed."""

    rows: np.ndarray
    clusters: np.ndarray | None
    hc2: np.ndarray | None
    hc3: np.ndarray | None


class ScoreSums(NamedTuple):
    """What one set of rows (all of X, or one partition of it) adds to the score products:
    rows, hc2, hc3 (p, p) float64 sums (None where not computed); groups (G_i,) the sorted
    cluster codes present in the rows and group_sums (G_i, p) their weighted score sums,
    or None without clusters. :func:`finish_scores` merges several."""

    rows: np.ndarray
    hc2: np.ndarray | None
    hc3: np.ndarray | None
    groups: np.ndarray | None
    group_sums: np.ndarray | None


def add_score_sums(a: ScoreSums, b: ScoreSums) -> ScoreSums:
    """The :class:`ScoreSums` of the rows of ``a`` and ``b``: the p x p sums added, the
    score sums of a cluster present in both added."""
    def total(x, y):
        return None if x is None else x + y

    groups = group_sums = None
    if a.groups is not None:
        groups = np.union1d(a.groups, b.groups)
        group_sums = np.zeros((len(groups), a.rows.shape[0]))
        for part in (a, b):
            group_sums[np.searchsorted(groups, part.groups)] += part.group_sums
    return ScoreSums(a.rows + b.rows, total(a.hc2, b.hc2), total(a.hc3, b.hc3), groups,
                     group_sums)


def finish_scores(parts) -> ScoreProducts:
    """The :class:`ScoreProducts` of the rows of several :class:`ScoreSums`, added in the
    order given (:func:`add_score_sums`): clusters = sum_g S_g S_g' over the merged
    cluster score sums (clusters may span parts)."""
    merged = reduce(add_score_sums, parts)
    clusters = None if merged.groups is None else merged.group_sums.T @ merged.group_sums
    return ScoreProducts(merged.rows, clusters, merged.hc2, merged.hc3)


def negated_outer(V, A) -> EtaDerivatives:
    """The eta-space matrices h_i = -v_i v_i' of rows v_i = [V_i, A_i] (V (n, m) for eta,
    A (n, q) for aux) in the layout of a family's Hessian, for :class:`HessianSum`."""
    xp = get_namespace(V)
    return EtaDerivatives(
        loss=None,
        hess_eta=-(V[:, :, None] * V[:, None, :]),
        hess_eta_lowrank=V,
        hess_eta_aux=-(V[:, :, None] * A[:, None, :]),
        hess_aux=-(A.T @ A) if A.shape[1] else xp.zeros((0, 0), dtype=A.dtype,
                                                         device=device(A)),
    )


class HessianSum:
    """Accumulates the natural Hessian over row blocks with Gram (syrk) products, in
    float64 where X lives.

    Per block, with h_i = diag(a_i) - u_i u_i' (the family's eta-space Hessian; no diag
    part if hess_eta_diag is None):
    slopes x slopes = X' diag(h[:, k, l]) X per pair of eta columns where u_i >= 0, else
    sum_k X' diag(a_k) X (block-diagonal) - A'A with A = [u_k * X]_k;
    slopes x intercepts = X' h[:, k, l]; intercepts x intercepts = sum_i h_i;
    slopes x aux = X' hess_eta_aux; aux x aux from the family.
    ``uniform``: every row's h_i is r_i h for one matrix h (r_i its trace; rows at one
    linear predictor, of a family whose curvature is free of the labels): slopes x slopes
    = h kron X' diag(r) X, one Gram product instead of m + 1.
    """

    def __init__(self, objective: Objective, uniform: bool = False):
        ob = objective
        self.objective, self.uniform = ob, uniform
        self.m, self.d, self.q, self.fit_intercept = ob.m, ob.d, ob.q, ob.fit_intercept
        m, d, q = self.m, self.d, self.q
        self.BB = ob._zeros(m * d, m * d)
        self.Bc = ob._zeros(m, m, d)  # [k, l] = X' h[:, k, l]
        self.cc = ob._zeros(m, m)
        self.Ba = ob._zeros(m, q, d)  # [k, j] = X' hess_eta_aux[:, k, j]
        self.ca = ob._zeros(m, q)
        self.aa = ob._zeros(q, q)

    def add_block(self, Xb, der, crossed):
        """Add one block; ``crossed`` is [hess_eta (m * m, with intercepts), hess_eta_aux
        (m * q)]' X_b as :meth:`Objective._crossed` laid them out."""
        xp, m, d, q = self.objective.xp, self.m, self.d, self.q
        if is_design(Xb):
            self._add_design_block(Xb, der)
        elif (self.uniform and der.hess_eta_diag is not None
              and der.hess_eta_lowrank is not None):
            self._add_uniform_block(Xb, der)
        else:
            self._add_gram_block(Xb, der)
        if self.fit_intercept:
            self.Bc += xp.reshape(crossed[: m * m], (m, m, d))
            self.cc += xp.sum(der.hess_eta, axis=0)
            crossed = crossed[m * m:]
        if q:
            self.Ba += xp.reshape(crossed, (m, q, d))
            if self.fit_intercept:
                self.ca += xp.sum(der.hess_eta_aux, axis=0)
            self.aa += der.hess_aux

    def _add_gram_block(self, Xb, der):
        """The slopes x slopes part of a block of X. With u_i >= 0 (the softmax's), a
        Gram product per pair of eta columns (k <= l): X' diag(h[:, k, l]) X, whose
        weights then have one sign (h_i is positive semi-definite, so h[:, k, k] >= 0;
        h[:, k, l] = -u_k u_l <= 0); half the flops of the general form (K=5, one
        thread, 3125 x 50 rows: 5.0-7.0 ms against 13.5 ms), up to PAIR_GRAMS_MAX_ETA
        eta columns. Else a Gram product per eta column for the diagonal part, one of
        [u_k * X]_k for the low-rank part."""
        xp, m, d = self.objective.xp, self.m, self.d
        diag, U = der.hess_eta_diag, der.hess_eta_lowrank
        if (diag is not None and U is not None and m <= PAIR_GRAMS_MAX_ETA
                and bool(xp.all(U >= 0))):
            for k in range(m):
                for j in range(k, m):
                    weight = clip_min(diag[:, k] - U[:, k] * U[:, k], 0.0) if j == k else (
                        U[:, k] * U[:, j])
                    block = gram(xp.astype(xp.sqrt(weight), Xb.dtype)[:, None] * Xb)
                    if j == k:
                        self.BB[k * d:(k + 1) * d, k * d:(k + 1) * d] += block
                    else:
                        self.BB[k * d:(k + 1) * d, j * d:(j + 1) * d] -= block
                        self.BB[j * d:(j + 1) * d, k * d:(k + 1) * d] -= block
            return
        for k in range(m if diag is not None else 0):
            root = xp.astype(xp.sqrt(clip_min(diag[:, k], 0.0)), Xb.dtype)
            self.BB[k * d:(k + 1) * d, k * d:(k + 1) * d] += gram(root[:, None] * Xb)
        if U is not None:
            U = xp.astype(U, Xb.dtype)
            self.BB -= gram(xp.concat([U[:, k][:, None] * Xb for k in range(m)], axis=1))

    def _add_uniform_block(self, Xb, der):
        """The slopes x slopes part of a block whose rows' eta-space Hessians are r_i h:
        h kron X' diag(r) X, with r_i the trace of h_i and h from the row of largest r_i
        (K=5, one thread, a block of 3125 x 50 rows: 1.0 ms against 5.0 ms for the Gram
        products per pair of eta columns)."""
        xp, m, d = self.objective.xp, self.m, self.d
        diag, U = der.hess_eta_diag, der.hess_eta_lowrank
        trace = clip_min(xp.sum(diag - U * U, axis=1), 0.0)
        if Xb.shape[0] == 0 or not bool(xp.any(trace > 0)):
            return
        top = int(xp.argmax(trace))
        eye = xp.eye(m, dtype=xp.float64, device=device(diag))
        h = (eye * diag[top] - U[top][:, None] * U[top][None, :]) / trace[top]
        G = gram(xp.astype(xp.sqrt(trace), Xb.dtype)[:, None] * Xb)
        self.BB += xp.reshape(h[:, None, :, None] * G[None, :, None, :], (m * d, m * d))

    def _add_design_block(self, Xb, der):
        """The slopes x slopes part of a structured design's block: X' diag(h[:, k, l]) X
        per pair of eta columns, from its weighted Gram products (upper pairs, mirrored)."""
        m, d = self.m, self.d
        diag, U = der.hess_eta_diag, der.hess_eta_lowrank
        pairs = [(k, j) for k in range(m) for j in range(k, m)]
        W = np.zeros((len(pairs), Xb.shape[0]))
        for i, (k, j) in enumerate(pairs):
            if diag is not None and j == k:
                W[i] = clip_min(diag[:, k], 0.0)
            if U is not None:
                W[i] -= U[:, k] * U[:, j]
        for (k, j), block in zip(pairs, Xb.weighted_grams(W), strict=True):
            self.BB[k * d:(k + 1) * d, j * d:(j + 1) * d] += block
            if j != k:
                self.BB[j * d:(j + 1) * d, k * d:(k + 1) * d] += block.T

    def matrix(self, host: bool = True):
        """The (p, p) Hessian in the natural layout (W rows of [slopes, intercept], aux): a
        NumPy array, or with ``host=False`` a float64 array where X lives (a solver on an
        accelerator keeps its p x p algebra there)."""
        m, d, q = self.m, self.d, self.q
        d1 = d + int(self.fit_intercept)
        parts = (self.BB, self.Bc, self.cc, self.Ba, self.ca, self.aa)
        if host:
            parts = tuple(to_numpy(a) for a in parts)
        BB, Bc, cc, Ba, ca, aa = parts
        xp = get_namespace(BB)
        where = device(BB)
        # the W block as (k, column of W_k, l, column of W_l), W x aux as (k, column, a)
        HW = xp.zeros((m, d1, m, d1), dtype=xp.float64, device=where)
        Wa = xp.zeros((m, d1, q), dtype=xp.float64, device=where)
        HW[:, :d, :, :d] = xp.reshape(BB, (m, d, m, d))
        Wa[:, :d, :] = xp.permute_dims(Ba, (0, 2, 1))  # [k, j, a] = X' hess_eta_aux[:, k, a]
        if self.fit_intercept:
            HW[:, :d, :, d] = xp.permute_dims(Bc, (0, 2, 1))  # [k, j, l] = X' h[:, k, l]
            HW[:, d, :, :d] = xp.permute_dims(Bc, (1, 0, 2))
            HW[:, d, :, d] = cc
            Wa[:, d, :] = ca
        p_W = m * d1
        H = xp.empty((p_W + q, p_W + q), dtype=xp.float64, device=where)
        H[:p_W, :p_W] = xp.reshape(HW, (p_W, p_W))
        H[:p_W, p_W:] = xp.reshape(Wa, (p_W, q))
        H[p_W:, :p_W] = xp.permute_dims(H[:p_W, p_W:], (1, 0))
        H[p_W:, p_W:] = aa
        return H
