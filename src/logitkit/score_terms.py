"""The rows' score products of an objective: the meat of the sandwich covariances
(HC0-HC3, cluster-robust) and the score sums a Dask partition adds to.

A mixin of :class:`logitkit.objective.Objective`, whose row blocks, parameter layout,
family derivatives and X' (.) products it uses.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from logitkit.backends import device, to_numpy
from logitkit.block_sums import (
    HatFactor,
    HessianSum,
    RowGram,
    ScoreProducts,
    ScoreSums,
    finish_scores,
    negated_outer,
)
from logitkit.design import dense
from logitkit.sparse import SparseDesign


class ScoreTerms:
    """score_products, score_sums and scores_in_pass of an Objective."""

    def score_products(self, theta, groups=None, bread=None) -> ScoreProducts:
        """Outer products of per-row scores at natural ``theta`` (sums, not means).

        rows = sum_i w_i s_i s_i' with s_i the score of one copy of row i (frequency
        weights count as repeats); clusters = sum_g S_g S_g' with S_g the weighted score
        sum of group g, or None without ``groups`` ((n,) int codes 0..G-1). ``rows`` is
        accumulated like the Hessian (Gram products in X's dtype, no n x p score matrix):
        it is minus the Hessian sum of the eta-space matrices -v_i v_i',
        v_i = [w_i dl_i/deta, w_i dl_i/daux] / sqrt(w_i).

        bread: the (p, p) inverse information, for objectives with
        :attr:`has_hat_values`; then hc2, hc3 = sum_i w_i s_i s_i' / (1 - h_i)^k (k = 1, 2)
        with h_i = v_i x_i' bread x_i the hat value of one copy (v_i the loss's second
        derivative in eta per unit weight, x_i the row with its intercept 1), each row's
        in the same block as its score.
        """
        return finish_scores([self.score_sums(theta, groups, bread)])

    def score_sums(self, theta, groups=None, bread=None) -> ScoreSums:
        """One pass of :meth:`score_products` over these rows, unfinished: the
        :class:`~logitkit.block_sums.ScoreSums` that the rows of another part of the same
        data (a Dask partition) add to, ``groups`` (n,) int codes of clusters that other
        parts may share."""
        hats = bread is not None and self.has_hat_values
        kept = self._kept_scores
        if kept is not None and groups is None and not hats and np.array_equal(kept[0], theta):
            return kept[1]  # (formed with the Hessian of the fit's last pass, no new read)
        xp = self.xp
        self.reads.rows += self.n
        W, aux_np = self.unpack(theta)
        W, aux = self._here(W), xp.asarray(aux_np, dtype=xp.float64, device=device(self.X))
        if hats:  # one linear predictor, no aux: plain weighted Gram products
            hat_factor = HatFactor(bread, self.d, self.fit_intercept, self.X)
            sums = [RowGram(self) for _ in range(3)]
        else:
            sums = [HessianSum(self)]
        present = local = group_sums = None
        if groups is not None:
            present, local = np.unique(to_numpy(groups), return_inverse=True)
            group_sums = np.zeros((len(present), self.n_params))
        for rows in self._blocks(wide=True):
            Xb, der = self._block_derivatives(rows, W, aux, 2 if hats else 1)
            if not hats:
                self._add_row_scores(sums[0], rows, Xb, der)
            else:
                w = xp.astype(self.w[rows], xp.float64, copy=False)
                root = xp.where(w > 0, 1.0 / xp.sqrt(xp.where(w > 0, w, 1.0)), 0.0)
                # 1 - h_i per copy; rows of weight 0 (no copies) get 1. A row with h_i = 1
                # (fitted exactly) makes HC2 and HC3 infinite, as in R
                v = xp.where(w > 0, der.hess_eta_diag[:, 0] / xp.where(w > 0, w, 1.0), 0.0)
                rest = xp.where(w > 0, 1.0 - v * hat_factor.quadratic_form(Xb), 1.0)
                r = der.grad_eta[:, 0] * root
                with np.errstate(divide="ignore", invalid="ignore"):
                    for total, scaled in zip(sums, (r, r / xp.sqrt(rest), r / rest),
                                             strict=True):
                        total.add(Xb, scaled)
            if group_sums is not None:
                self._add_group_scores(group_sums, local[rows], Xb, der)
        if hats:
            return ScoreSums(sums[0].matrix(), sums[1].matrix(), sums[2].matrix(), present,
                             group_sums)
        return ScoreSums(-sums[0].matrix(), None, None, present, group_sums)

    def _add_row_scores(self, total, rows, Xb, der):
        """Add the block ``rows`` (X block Xb, family derivatives ``der`` to order >= 1) to
        ``total``, the :class:`HessianSum` of the eta-space matrices -v_i v_i' whose
        negative is score_sums' ``rows`` (no hat values)."""
        xp = self.xp
        w = xp.astype(self.w[rows], xp.float64, copy=False)
        root = xp.where(w > 0, 1.0 / xp.sqrt(xp.where(w > 0, w, 1.0)), 0.0)[:, None]
        outer = negated_outer(der.grad_eta * root, der.grad_aux_rows * root)
        total.add_block(Xb, outer, self._crossed(Xb, outer, True, gradient=False))

    @contextmanager
    def scores_in_pass(self, wanted: bool = True):
        """Within this block, a Hessian pass (order 2) also sums the score products that
        :meth:`score_sums` would form at its theta without groups or hat values, when
        ``wanted`` and :attr:`wants_scores` (the estimator's inference reads them): Newton's
        last pass at the optimum, where the inference's own pass would read X again."""
        self._score_pass = bool(wanted and self.wants_scores)
        try:
            yield
        finally:
            self._score_pass = False

    def _add_group_scores(self, group_sums, groups, Xb, der):
        """Add the weighted score sums of a block's rows to their groups' rows of
        ``group_sums`` (G, p); ``groups`` (b,) their group codes. A sparse block's slope
        parts come from sparse products (no dense rows)."""
        if not isinstance(Xb, SparseDesign):
            np.add.at(group_sums, groups, to_numpy(self._row_scores(Xb, der)))
            return
        present, local = np.unique(groups, return_inverse=True)
        G = np.asarray(der.grad_eta, dtype=np.float64)
        slopes = Xb.group_sums(G, local, len(present))  # (g, m, d)
        sums = np.zeros((len(present), self.n_params))
        W = sums[:, : self.m * self.d1].reshape(len(present), self.m, self.d1)
        W[:, :, : self.d] = slopes
        if self.fit_intercept:
            np.add.at(W[:, :, self.d], local, G)
        np.add.at(sums[:, self.m * self.d1:], local, to_numpy(der.grad_aux_rows))
        group_sums[present] += sums

    def _row_scores(self, Xb, der):
        """(b, p) float64 weighted scores of a block's rows, in the natural layout."""
        xp = self.xp
        X64 = xp.astype(dense(Xb), xp.float64, copy=False)
        columns = []
        for k in range(self.m):
            g = der.grad_eta[:, k][:, None]
            columns += [g * X64, g] if self.fit_intercept else [g * X64]
        return xp.concat(columns + [der.grad_aux_rows], axis=1)
