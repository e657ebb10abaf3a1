"""Rows' eta-space curvature for Hessian-vector products (truncated Newton).

:meth:`logitkit.objective.Objective.curvature` fills a :class:`RowCurvature` in the pass
that computes the value and gradient; each Hessian-vector product is then one more pass
over X, and the preconditioner's blocks come from a row sample. The rows' curvature is
kept in float64 while it takes at most ``KEPT_SHARE`` of X's bytes, else in float32
while that fits, else recomputed in each pass from the block's X @ W (one more small
product and the family's Hessian factors per block, from one kept number a row where the
family gives one: the multinomial's log-normaliser), so that extra memory stays a
fraction of X whatever the number of classes.
"""

from __future__ import annotations

import numpy as np

from logitkit import objective as _objective
from logitkit.backends import clip_min, device, gram, to_numpy
from logitkit.design import dense, is_design
from logitkit.objective import Objective
from logitkit.solvers import compiled_softmax

# preconditioner blocks over at most this many columns (with the intercept) come from one
# product with the pairwise products of columns, (d1 + 1) d1 / 2 of them, when there are
# at least as many blocks as columns; else from a Gram product per block (one thread, 5,000
# sampled rows: K=50 with 20 columns, pairs 0.08 s vs Gram products 0.22 s; K=10 with 50,
# 0.08 vs 0.04 s; K=3 with 50, 0.07-0.13 vs 0.02 s)
_PAIR_PRODUCT_COLUMNS = 64
# the kept rows' curvature takes at most this fraction of X's bytes
KEPT_SHARE = 0.125
# the temporaries of a block take at most this fraction of X's bytes (and 8 MB)
BLOCK_SHARE = 1 / 16


class RowCurvature:
    """The objective's mean Hessian (penalty included) at one point, as an operator.

    Uses each row block's eta-space Hessians h_i = diag(a_i) - u_i u_i' ((b, m) each,
    where X lives, as the family returned them; no u when h_i is diagonal, or u given as
    sqrt(c_i) a_i by a (b,) coupling c) and their aux parts (b, m, q), so that a product
    H v costs one pass over X: per block E = X_b V' + c (V (m, d1) the W part of v),
    R_i = h_i E_i + A_i v_aux, then X_b' R. ``mode`` says where the factors come from:
    "float64" or "float32" (kept by the pass that filled the operator) or "recompute"
    (from X_b W' in each pass). ``compiled`` says where the products run: None (NumPy),
    or for multinomial fits :mod:`~logitkit.solvers.compiled_softmax`'s "blas" (many
    classes, recomputed) or "rows" (kept factors) kernels. Filled by
    :meth:`Objective.curvature` at coefficients W (m, d1) and aux (q,) (where X lives).
    """

    def __init__(self, objective: Objective, W, aux):
        ob = objective
        self.objective, self.W, self.aux_params = ob, W, aux
        # per block: (rows, a, u or None, A or None); recomputed: (rows, row shift or None)
        self.kept = []
        self.aux = ob._zeros(ob.q, ob.q)
        self.mode = None  # decided by the first block's factors
        self.compiled, self._factor_arrays = None, None
        x_bytes = ob.n * ob.row_width * ob.X.dtype.itemsize
        self.budget = KEPT_SHARE * x_bytes
        # a block's temporaries (its X part, E and R, the family's (b, m) arrays) within
        # BLOCK_SHARE of X and 8 MB, in blocks of at least 256 rows (or the objective's)
        x_part = 0 if getattr(ob.X, "row_views", False) else ob.row_width  # (sparse: views)
        per_row = 8 * (x_part + 6 * ob.m + ob.m * ob.q)
        temporaries = min(_objective._BLOCK_BYTES, int(BLOCK_SHARE * x_bytes))
        self.block_rows = max(min(256, ob.block_rows), temporaries // per_row)

    def blocks(self):
        """Row slices of the passes over the rows."""
        ob = self.objective
        for start in range(0, ob.n, self.block_rows):
            yield slice(start, min(start + self.block_rows, ob.n))

    def mode_for(self, row_bytes: float) -> str:
        """The mode for factors of ``row_bytes`` a row in float64: kept within the budget
        (in float32 if only so), else recomputed."""
        kept = row_bytes * self.objective.n
        return ("float64" if kept <= self.budget else
                "float32" if kept <= 2 * self.budget else "recompute")

    def run_compiled(self, path: str, mode: str):
        """Run the products in :mod:`~logitkit.solvers.compiled_softmax`'s ``path``
        (:func:`~logitkit.solvers.compiled_softmax.curvature_path` of the multinomial
        factors' ``mode``). Returns the (n, m) array the value pass fills with the rows'
        w p ("rows"; their coupling 1 / w is set here), or None ("blas": nothing kept)."""
        ob = self.objective
        self.compiled, self.mode = path, mode
        if path == "blas":
            self.kept = [(rows, None) for rows in self.blocks()]
            return None
        dtype = np.float32 if mode == "float32" else np.float64
        a = np.empty((ob.n, ob.m), dtype=dtype)
        w = np.asarray(ob.w, dtype=np.float64)
        coupling = np.divide(1.0, w, out=np.zeros(ob.n), where=w > 0).astype(dtype)
        self._factor_arrays = a, coupling
        self.kept = [(rows, a[rows], coupling[rows], None) for rows in self.blocks()]
        return a

    def keep(self, rows, der):
        """Keep one block's eta-space Hessian (a family's :meth:`~Family.curvature`):
        (rows, a, U, A) with U the low-rank factor, or (as the family gave it) the (b,)
        coupling c with U = sqrt(c) a; in float32, or only the rows, when the mode says so."""
        if self.objective.q:
            self.aux += der.hess_aux
        factors = self._factors(der)
        if self.mode is None:
            per_row = sum(f.nbytes for f in factors if f is not None) / max(1, len(factors[0]))
            self.mode = self.mode_for(per_row)
        if self.mode == "recompute":  # the rows, and the family's (b,) row shift if any
            self.kept.append((rows, der.hess_eta_shift))
            return
        if self.mode == "float32" and isinstance(factors[0], np.ndarray):
            factors = tuple(None if f is None else f.astype(np.float32) for f in factors)
        self.kept.append((rows, *factors))

    def _factors(self, der):
        """(a, U or coupling, A or None) of a family's curvature for one block."""
        lowrank = der.hess_eta_lowrank
        if der.hess_eta_coupling is not None:
            lowrank = der.hess_eta_coupling
        return der.hess_eta_diag, lowrank, der.hess_eta_aux if self.objective.q else None

    def _block(self, kept, local=None, V=None):
        """(X rows, a, U, A, E) of one block (``local``: a sample of its rows), with
        E = X_b V' + c for a direction V (m, d1) (None: no E); recomputed factors come
        from the same product as E."""
        ob, xp = self.objective, self.objective.xp
        rows = kept[0]
        Xb = ob.X[rows] if local is None else ob.X[rows][local]
        if self.mode != "recompute":
            a, U, A = (f if f is None or local is None else f[local] for f in kept[1:])
            return Xb, a, U, A, None if V is None else ob._eta(Xb, V)
        m = ob.m
        if V is None or m == 1:  # (_eta takes a single column's product as a vector's)
            eta, E = ob._eta(Xb, self.W), None if V is None else ob._eta(Xb, V)
        else:  # one product for both
            both = ob._eta(Xb, xp.concat([self.W, V], axis=0))
            eta, E = both[:, :m], both[:, m:]
        y, w, shift, offset = ob.y[rows], ob.w[rows], kept[1], ob._offset_rows(rows)
        if local is not None:
            y, w = y[local], w[local]
            shift = None if shift is None else shift[local]
            offset = None if offset is None else offset[local]
        if offset is not None:
            eta = eta + offset
        der = ob.family.hessian_factors(eta, self.aux_params, y, w, shift)
        a, U, A = self._factors(der)
        return Xb, a, U, A, E

    def _rows(self, a, U, E):
        """h_i E_i (b, m) for a block's factors and eta-space directions E (b, m)."""
        if U is not None and U.ndim == 1:  # h_i = diag(a_i) - c_i a_i a_i'
            if isinstance(a, np.ndarray):
                E -= (np.einsum("ij,ij->i", a, E) * U)[:, None]
                E *= a
                return E
            return a * (E - (self.objective.xp.sum(a * E, axis=1) * U)[:, None])
        R = a * E
        if U is not None:
            if isinstance(U, np.ndarray):
                R -= U * np.einsum("ij,ij->i", U, E)[:, None]
            else:
                R = R - U * self.objective.xp.sum(U * E, axis=1)[:, None]
        return R

    def times(self, v) -> np.ndarray:
        """(p,) H v for a natural direction v (p,): one pass over X."""
        ob, xp = self.objective, self.objective.xp
        ob.reads.rows += ob.n
        V_np, va_np = ob.unpack(v)
        if self.compiled is not None:
            return self._penalised(self._compiled_times(V_np), V_np)
        V = ob._here(V_np)
        va = xp.asarray(va_np, dtype=xp.float64, device=device(ob.X))
        out_B, out_c, out_aux = ob._zeros(ob.m, ob.d), ob._zeros(ob.m), ob._zeros(ob.q)
        for kept in self.kept:
            Xb, a, U, A, E = self._block(kept, V=V)
            if A is not None:  # (b, m, q)
                out_aux += xp.sum(A * E[:, :, None], axis=(0, 1))
            R = self._rows(a, U, E)  # (may overwrite E)
            if A is not None:
                R = R + xp.sum(A * va[None, None, :], axis=2)
            out_B += ob._cross(Xb, R)
            if ob.fit_intercept:
                out_c += _objective.column_sums(R)
        if ob.q:
            out_aux += self.aux @ va
        out_W = xp.concat([out_B, out_c[:, None]], axis=1) if ob.fit_intercept else out_B
        return self._penalised(to_numpy(xp.concat([xp.reshape(out_W, (-1,)), out_aux])), V_np)

    def _penalised(self, product, V) -> np.ndarray:
        """(p,) the mean Hessian's product from the loss sum's ``product`` (p,) with the
        direction whose W part is V (m, d1)."""
        ob = self.objective
        result = product / ob.total_weight
        result[: ob.m * ob.d1] += ob.penalty.gradient(V).ravel()
        return result

    def _compiled_times(self, V) -> np.ndarray:
        """(m * d1,) the loss sum's Hessian times V (m, d1) in the compiled pass."""
        ob, d = self.objective, self.objective.d
        W, zeros = to_numpy(self.W), np.zeros(ob.m)
        v_c = V[:, d] if ob.fit_intercept else zeros
        if self.compiled == "rows":
            out = compiled_softmax.kept_hessian_times(ob.X, *self._factor_arrays, V[:, :d], v_c)
        else:
            out = compiled_softmax.hessian_times(
                ob.X, ob.w, W[:, :d], W[:, d] if ob.fit_intercept else zeros, V[:, :d], v_c,
                not ob.family.full)
        return (out if ob.fit_intercept else out[:, :d]).reshape(-1)

    def _weights(self, a, U):
        """(b, nb) float64: each row's h_i[k, k] and, with several columns, last
        1' h_i 1 (the curvature of all columns moving together: the base class's)."""
        xp = self.objective.xp
        if U is not None and U.ndim == 1:
            U = xp.sqrt(U)[:, None] * a
        if U is None:
            C = a if a.shape[1] == 1 else xp.concat([a, xp.sum(a, axis=1)[:, None]], axis=1)
        else:
            coarse = xp.sum(a, axis=1) - xp.sum(U, axis=1) ** 2
            C = a - U * U if a.shape[1] == 1 else xp.concat([a - U * U, coarse[:, None]],
                                                             axis=1)
        return clip_min(xp.astype(C, xp.float64, copy=False), 0.0)

    def _samples(self, step: int):
        """(kept block, local rows): every ``step``-th row of X (counted from the
        objective's first row) by kept block; recomputed blocks are merged ``step`` at a
        time, so that a sample's block has about as many rows as a pass's."""
        ob, kept = self.objective, self.kept
        if self.mode == "recompute" and step > 1:
            kept = [(slice(group[0][0].start, group[-1][0].stop),
                     None if group[0][1] is None else ob.xp.concat([k[1] for k in group]))
                    for group in (kept[g:g + step] for g in range(0, len(kept), step))]
        for block in kept:
            yield block, slice((-(ob.row_offset + block[0].start)) % step, None, step)

    def class_blocks(self, step: int):
        """Dense curvature blocks of the mean Hessian from every ``step``-th row (scaled by
        ``step``): blocks (nb, d1, d1), one per eta column k over its slopes and intercept
        and, with several columns, a last one for all columns moving together (the base
        class's curvature, penalised by alpha sum(G)); cross (m, d1, q), column k's
        coupling with the aux parameters; aux (q, q) from all rows. Penalty included.
        With few columns and many blocks all blocks come from one product C' Q per row
        block, Q (b, d1 (d1 + 1) / 2) the products of pairs of columns (with the
        intercept's ones), in row chunks that keep Q within a block's temporaries."""
        ob, xp = self.objective, self.objective.xp
        m, d, q, d1 = ob.m, ob.d, ob.q, ob.d1
        nb = m + int(m > 1)
        upper = np.triu_indices(d1)
        designed = is_design(ob.X)  # (Gram products of the design's own kind)
        pairs = d1 <= _PAIR_PRODUCT_COLUMNS and nb >= d1 and not designed
        packed = ob._zeros(nb, len(upper[0])) if pairs else ob._zeros(nb, d1, d1)
        chunk = max(16, self.block_rows * (ob.d + 6 * ob.m) // (3 * len(upper[0])))
        cross = ob._zeros(m, q, d1)
        ob.reads.rows += -(-ob.n // step)
        for Xs, C, A in self._gathered_samples(step):
            if designed:
                self._add_design_blocks(packed, cross, Xs, C, A)
                continue
            if pairs:  # in row chunks whose Q stays within a block's temporaries
                left, right = (xp.asarray(i, device=device(Xs)) for i in upper)
                for j in range(0, Xs.shape[0], chunk):
                    Xj = Xs[j:j + chunk]
                    packed += C[j:j + chunk].T @ (Xj[:, left] * Xj[:, right])
            else:  # many columns: one Gram product per block
                for k in range(nb):
                    packed[k] += gram(xp.sqrt(C[:, k])[:, None] * Xs)
            if A is not None:
                for k in range(m):
                    cross[k] += A[:, k, :].T @ Xs
        if pairs:
            blocks = np.zeros((nb, d1, d1))
            blocks[:, upper[0], upper[1]] = to_numpy(packed)
            blocks[:, upper[1], upper[0]] = to_numpy(packed)
        else:
            blocks = to_numpy(packed).copy()
        blocks *= step / ob.total_weight
        cross = to_numpy(cross).transpose(0, 2, 1) * (step / ob.total_weight)
        self._add_penalty(blocks, np.arange(d))
        return blocks, cross, to_numpy(self.aux) / ob.total_weight

    def _add_design_blocks(self, blocks, cross, Xs, C, A) -> None:
        """Add a design's sampled rows Xs (b rows) to class_blocks' ``blocks`` (nb, d1, d1)
        and ``cross`` (m, q, d1), for the rows' curvature weights C (b, nb) and A: the
        design's weighted Gram products, with the intercept's row and column from V X
        and the weights' sums."""
        d = self.objective.d
        weights = np.ascontiguousarray(to_numpy(C).T)
        blocks[:, :d, :d] += Xs.weighted_grams(weights)
        if self.objective.fit_intercept:
            sums = weights @ Xs
            blocks[:, :d, d] += sums
            blocks[:, d, :d] += sums
            blocks[:, d, d] += weights.sum(axis=1)
        if A is not None:
            for k in range(A.shape[1]):
                cross[k, :, :d] += A[:, k, :].T @ Xs
                if self.objective.fit_intercept:
                    cross[k, :, d] += A[:, k, :].sum(axis=0)

    def _gathered_samples(self, step: int):
        """(rows of X as float64 with the intercept's ones, their curvature weights
        (:meth:`_weights`), A or None) of every ``step``-th row, the sampled rows of
        consecutive blocks gathered up to a pass block's rows: one set of small products
        per group, not per block (K=10 100k x 50, 5,000 rows sampled from 34 blocks:
        the preconditioner's blocks in 15-18 ms against 18-25 ms, one thread)."""
        ob, xp = self.objective, self.objective.xp
        group, held = [], 0
        for kept, local in self._samples(step):
            Xs, a, U, A, _ = self._block(kept, local)
            if is_design(ob.X):  # its rows' numbers in the group, never a dense copy
                Xs = np.arange(kept[0].start, kept[0].stop)[local]
            else:
                Xs = xp.astype(dense(Xs), xp.float64)
                if ob.fit_intercept:
                    Xs = xp.concat([Xs, xp.ones((Xs.shape[0], 1), dtype=xp.float64,
                                                device=device(Xs))], axis=1)
            group.append((Xs, self._weights(a, U), A))
            held += Xs.shape[0]
            if held >= self.block_rows:
                yield self._group(group)
                group, held = [], 0
        if group:
            yield self._group(group)

    def _group(self, group):
        """:func:`_stacked` of a group of samples; a design's rows taken by their numbers."""
        Xs, C, A = _stacked(self.objective.xp, group)
        return (self.objective.X[Xs] if is_design(self.objective.X) else Xs), C, A

    def class_diagonals(self, step: int = 1):
        """The diagonals (nb, d1) of :meth:`class_blocks`' blocks from every ``step``-th
        row (scaled by ``step``), and the aux block's diagonal (q,) from all rows."""
        ob, xp = self.objective, self.objective.xp
        nb, d = ob.m + int(ob.m > 1), ob.d
        out = ob._zeros(nb, d)
        sums = ob._zeros(nb)
        ob.reads.rows += -(-ob.n // step)
        for kept, local in self._samples(step):
            Xb, a, U, _, _ = self._block(kept, local)
            C = self._weights(a, U)
            out += ob._cross(Xb.square() if is_design(Xb) else Xb * Xb, C)
            sums += xp.sum(C, axis=0)
        diagonals = np.zeros((nb, ob.d1, 1))
        diagonals[:, :d, 0] = to_numpy(out)
        if ob.fit_intercept:
            diagonals[:, d, 0] = to_numpy(sums)
        diagonals *= step / ob.total_weight
        self._add_penalty(diagonals, np.arange(d), diagonal=True)
        return diagonals[:, :, 0], np.diag(to_numpy(self.aux)) / ob.total_weight

    def _add_penalty(self, blocks, slopes, diagonal=False):
        add_penalty(self.objective.penalty, blocks, slopes, diagonal)


def add_penalty(penalty, blocks, slopes, diagonal=False):
    """Add the ridge's curvature to :meth:`RowCurvature.class_blocks`' blocks (or, with
    ``diagonal``, to the diagonals (nb, d1, 1)): alpha f_j G[k, k] to column k's ``slopes``,
    alpha f_j sum(G) to the joint block's."""
    G, weights = penalty.gram, penalty.slope_weights()[slopes]
    shares = np.concatenate([np.diag(G), [G.sum()]])
    for k, share in enumerate(shares[: len(blocks)]):
        if diagonal:
            blocks[k, slopes, 0] += share * weights
        else:
            blocks[k, slopes, slopes] += share * weights


def _stacked(xp, group):
    """The row-wise concatenation of each member of a list of tuples of arrays (None
    stays None)."""
    return tuple(None if parts[0] is None else xp.concat(parts, axis=0)
                 for parts in zip(*group, strict=True))
