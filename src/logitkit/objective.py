"""The objective: weighted mean loss of a family over X, plus the L2 penalty.

Natural flat parameters (length p = m * d1 + q):
    W.ravel()  W has shape (m, d1): row k holds the slopes of eta column k and, when
               fit_intercept, its intercept in the last column (d1 = d + 1, else d1 = d)
    aux        (q,) the family's auxiliary parameters (ordinal cut points), raw

The linear predictor is eta = X @ W[:, :d].T + W[:, d]. Every X.T @ (...) happens
here, over row blocks, so memory beyond X is O(block x d1) (DESIGN.md rule 4).
Values are means over the total weight, so a weight of 2 equals a repeated row.
"""

from __future__ import annotations

import numpy as np

from logitkit.backends import get_namespace, to_numpy
from logitkit.families import Family
from logitkit.penalties import L2Penalty

# rows per block: keeps a block of X (and its products) around 16 MB
_BLOCK_BYTES = 16 * 2**20


class Objective:
    def __init__(
        self,
        family: Family,
        X,
        y,
        weights,
        n_classes: int,
        fit_intercept: bool,
        alpha: float = 0.0,
    ):
        self.family = family
        self.X, self.y, self.w = X, y, weights
        self.xp = get_namespace(X)
        self.n, self.d = X.shape
        self.n_classes = n_classes
        self.fit_intercept = fit_intercept
        self.m = family.n_eta(n_classes)
        self.q = family.n_aux(n_classes)
        self.d1 = self.d + int(fit_intercept)
        self.n_params = self.m * self.d1 + self.q
        self.total_weight = float(to_numpy(self.xp.sum(weights)))
        self.penalty = L2Penalty(alpha, family.slope_gram(n_classes), self.d)
        row_bytes = max(1, self.d1 * X.dtype.itemsize * max(1, self.m))
        self.block_rows = max(256, _BLOCK_BYTES // row_bytes)

    # -- parameter layout -------------------------------------------------------------
    def unpack(self, theta):
        """(W (m, d1), aux (q,)) from a flat natural vector."""
        theta = np.asarray(theta, dtype=float)
        return theta[: self.m * self.d1].reshape(self.m, self.d1), theta[self.m * self.d1 :]

    def pack(self, W, aux):
        return np.concatenate([np.asarray(W, float).ravel(), np.asarray(aux, float)])

    def coef_slices(self):
        """Index arrays into the flat vector: slopes (m, d), intercepts (m,) or None, aux (q,)."""
        idx = np.arange(self.m * self.d1).reshape(self.m, self.d1)
        intercepts = idx[:, self.d] if self.fit_intercept else None
        return idx[:, : self.d], intercepts, np.arange(self.m * self.d1, self.n_params)

    # -- evaluation -------------------------------------------------------------------
    def linear_predictor(self, X, W):
        """eta (n, m) in float64 for rows X (n, d) and coefficients W (m, d1)."""
        xp = get_namespace(X)
        Wt = xp.asarray(W, dtype=xp.float64)
        eta = xp.astype(X, xp.float64, copy=False) @ Wt[:, : self.d].T
        if self.fit_intercept:
            eta = eta + Wt[:, self.d]
        return eta

    def _blocks(self):
        for start in range(0, self.n, self.block_rows):
            yield slice(start, min(start + self.block_rows, self.n))

    def loss_terms(self, theta, order: int):
        """Unpenalised weighted loss sum and its derivatives over all rows.

        Returns (loss, grad (p,), hess (p, p)) with None beyond ``order``; sums, not means.
        """
        xp = self.xp
        W, aux_np = self.unpack(theta)
        aux = xp.asarray(aux_np, dtype=xp.float64)
        m, d1, q = self.m, self.d1, self.q
        loss = 0.0
        grad_W = np.zeros((m, d1))
        grad_aux = np.zeros(q)
        hess = np.zeros((self.n_params, self.n_params)) if order >= 2 else None
        for rows in self._blocks():
            Xa = self._augment(self.X[rows])
            eta = Xa @ xp.asarray(W, dtype=xp.float64).T
            der = self.family.derivatives(eta, aux, self.y[rows], self.w[rows], order)
            loss += float(to_numpy(der.loss))
            if order == 0:
                continue
            grad_W += to_numpy(der.grad_eta.T @ Xa)
            grad_aux += to_numpy(der.grad_aux)
            if order >= 2:
                self._add_hessian_block(hess, Xa, der)
        if order == 0:
            return loss, None, None
        grad = np.concatenate([grad_W.ravel(), grad_aux])
        return loss, grad, hess

    def score_products(self, theta, groups=None):
        """Outer products of per-row scores at natural ``theta`` (sums, not means).

        Returns (rows, clusters): rows = sum_i w_i s_i s_i' with s_i the score of one
        copy of row i (frequency weights count as repeats); clusters = sum_g S_g S_g'
        with S_g the weighted score sum of group g, or None without ``groups``
        ((n,) int codes 0..G-1).
        """
        xp = self.xp
        W, aux_np = self.unpack(theta)
        aux = xp.asarray(aux_np, dtype=xp.float64)
        rows_product = np.zeros((self.n_params, self.n_params))
        group_sums = None if groups is None else np.zeros((int(groups.max()) + 1, self.n_params))
        for rows in self._blocks():
            Xa = self._augment(self.X[rows])
            w = self.w[rows]
            eta = Xa @ xp.asarray(W, dtype=xp.float64).T
            der = self.family.derivatives(eta, aux, self.y[rows], w, 1)
            scores = to_numpy(xp.concat(
                [der.grad_eta[:, k][:, None] * Xa for k in range(self.m)] + [der.grad_aux_rows],
                axis=1,
            ))
            w_np = to_numpy(w)
            positive = w_np > 0
            rows_product += (scores[positive] / w_np[positive, None]).T @ scores[positive]
            if group_sums is not None:
                np.add.at(group_sums, groups[rows], scores)
        clusters = None if group_sums is None else group_sums.T @ group_sums
        return rows_product, clusters

    def _augment(self, Xb):
        """The block with a column of ones appended when fitting intercepts, in float64."""
        xp = get_namespace(Xb)
        Xb = xp.astype(Xb, xp.float64, copy=False)
        if not self.fit_intercept:
            return Xb
        return xp.concat([Xb, xp.ones((Xb.shape[0], 1), dtype=xp.float64)], axis=1)

    def _add_hessian_block(self, hess, Xa, der):
        m, d1 = self.m, self.d1
        h = der.hess_eta
        for k in range(m):
            for j in range(k, m):
                block = to_numpy(Xa.T @ (Xa * h[:, k, j][:, None]))
                hess[k * d1 : (k + 1) * d1, j * d1 : (j + 1) * d1] += block
                if j != k:
                    hess[j * d1 : (j + 1) * d1, k * d1 : (k + 1) * d1] += block.T
        if self.q:
            md = m * d1
            for k in range(m):
                cross = to_numpy(Xa.T @ der.hess_eta_aux[:, k, :])
                hess[k * d1 : (k + 1) * d1, md:] += cross
                hess[md:, k * d1 : (k + 1) * d1] += cross.T
            hess[md:, md:] += to_numpy(der.hess_aux)

    def evaluate(self, theta, order: int):
        """Objective (mean loss + penalty) and derivatives up to ``order`` at natural theta."""
        loss, grad, hess = self.loss_terms(theta, order)
        W, _ = self.unpack(theta)
        value = loss / self.total_weight + self.penalty.value(W)
        if order >= 1:
            grad = grad / self.total_weight
            grad[: self.m * self.d1] += self.penalty.gradient(W).ravel()
        if order >= 2:
            hess = hess / self.total_weight
            md = self.m * self.d1
            hess[:md, :md] += self.penalty.hessian(self.d1)
        return value, grad, hess

    def predict_proba(self, X, theta):
        W, aux = self.unpack(theta)
        xp = get_namespace(X)
        return self.family.predict_proba(
            self.linear_predictor(X, W), xp.asarray(aux, dtype=xp.float64)
        )
