"""The objective: weighted mean loss of a family over X, plus the L2 (ridge) penalty.

Natural flat parameters (length p = m * d1 + q):
    W.ravel()  W has shape (m, d1): row k holds the slopes of eta column k and, when
               fit_intercept, its intercept in the last column (d1 = d + 1, else d1 = d)
    aux        (q,) the family's auxiliary parameters (ordinal cut points), raw

The linear predictor is eta = X @ W[:, :d].T + W[:, d] (+ ``offset``, a known (n, m)
term, when given). Every X.T @ (...) happens
here, over row blocks, so memory beyond X is O(block x d) (DESIGN.md rule 4); the
intercept column is never materialised. X stays in its own dtype (float32 is computed
in float32); sums over blocks accumulate in float64 (DESIGN.md rule 3). Values are
means over the total weight, so a weight of 2 equals a repeated row.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext

import numpy as np

from logitkit.aliasing import find_aliased
from logitkit.backends import (
    device,
    get_namespace,
    like,
    on_accelerator,
    to_numpy,
    weighted_counts,
)
from logitkit.block_sums import HessianSum, ScoreSums
from logitkit.design import column_subset, is_design
from logitkit.families import Family
from logitkit.families.base import Scratch
from logitkit.minibatch_terms import MinibatchTerms
from logitkit.penalties import L2Penalty
from logitkit.score_terms import ScoreTerms
from logitkit.solvers import compiled_categorical, compiled_pass, compiled_softmax

# rows per block: keeps a block of X (and its weighted copies) around 8 MB
_BLOCK_BYTES = 8 * 2**20
# on an accelerator: a quarter of X, between these bounds
_ACCELERATOR_BLOCK_BYTES = (256 * 2**20, 2 * 2**30)


# a Hessian from a row sample takes 500 rows per parameter, between these bounds
HESSIAN_SAMPLE_ROWS = (20_000, 50_000)
# a Hessian sample that a solver finds unrepresentative gives way to one of this many
# times its rows (all rows once fewer than every 2nd would be left)
HESSIAN_DENSER = 8


def hessian_sample_step(n_rows: int, n_params: int) -> int:
    """k of the every-k-th-row sample a Hessian of ``n_params`` parameters takes: the
    smallest step that keeps it within 500 rows per parameter (HESSIAN_SAMPLE_ROWS), so
    from half that to that many rows (no cliff at twice the rows); 1: every row."""
    rows = int(np.clip(500 * n_params, *HESSIAN_SAMPLE_ROWS))
    return -(-n_rows // rows)


def column_sums(A):
    """(k,) float64 sums of the columns of A (b, k) where it lives: NumPy reduces over a
    long first axis slowly when k is small (20,000 x 2: 268 us; ones @ A: 9 us)."""
    if isinstance(A, np.ndarray) and A.shape[1] <= 16:
        return np.ones(A.shape[0]) @ A
    return get_namespace(A).sum(A, axis=0)


class RowReads:
    """Rows of X read by the passes of an objective and of those made from it (row
    samples for Hessians, another family on the same rows); ``passes`` = rows / n."""

    def __init__(self, n: int):
        self.n, self.rows = n, 0

    @property
    def passes(self) -> float:
        return self.rows / max(self.n, 1)


class Objective(ScoreTerms, MinibatchTerms):
    # index of the first row in the whole data (a Dask partition's offset): row samples
    # of every k-th row (:meth:`RowCurvature.class_blocks`) take the same global rows
    row_offset = 0
    offset = None  # (n, m) known term of eta, set in __init__
    # X's finiteness check, while pending (set by the estimator; see settle_finite): a
    # callable that raises the clear error when X holds NaN or infinity, else returns
    finite_check = None

    def __init__(
        self,
        family: Family,
        X,
        y,
        weights,
        n_classes: int,
        fit_intercept: bool,
        alpha: float = 0.0,
        reads: RowReads | None = None,
        penalty_factor=None,
        offset=None,
    ):
        self.family = family
        # (n, m) float64 known term of eta (logitkit.offsets.eta_offset), where X lives
        self.offset = None if offset is None else like(offset, X)
        self.X, self.y, self.w = X, y, weights
        self.xp = get_namespace(X)
        self.n, self.d = X.shape
        self.reads = RowReads(self.n) if reads is None else reads
        self.n_classes = n_classes
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.m = family.n_eta(n_classes)
        self.q = family.n_aux(n_classes)
        self.d1 = self.d + int(fit_intercept)
        self.n_params = self.m * self.d1 + self.q
        self.total_weight = float(to_numpy(self.xp.sum(weights)))
        # alpha: the ridge's (alpha * (1 - l1_ratio) of an elastic net); penalty_factor:
        # (d,) its per-column factors, None for ones (see logitkit.penalties)
        self.penalty = L2Penalty(alpha, family.slope_gram(n_classes), self.d, penalty_factor)
        # a block's temporaries stay within 1/16 of X and 8 MB (DESIGN.md rule 4): passes
        # for values and gradients hold about one float64 row per row, passes for
        # Hessians and scores about m + 2 of them. On an accelerator, where each operation
        # costs a kernel launch, a block is a quarter of X (256 MiB to 2 GiB) instead, so
        # a row sample for a Hessian is one or two blocks.
        x_bytes = X.shape[0] * self.row_width * X.dtype.itemsize
        budget = min(_BLOCK_BYTES, x_bytes // 16)
        if on_accelerator(X):
            low, high = _ACCELERATOR_BLOCK_BYTES
            budget = min(high, max(low, x_bytes // 4))
        # a sparse design's row blocks are views of its arrays: a value or gradient pass
        # then holds only the family's (b, m) arrays (100k x 50k CSR, 50 entries a row:
        # 21 blocks a pass cost 22.9 ms against 7.4 ms for the bare products)
        width = self.m + 2 if getattr(X, "row_views", False) else self.row_width
        self.block_rows = max(256, budget // max(1, 8 * width))
        self.wide_block_rows = max(256, budget // max(1, 8 * self.row_width) // (self.m + 2))
        self._scratch = Scratch()
        # (theta, smallest row loss) of the latest passes whose family reported it
        self._least_losses: list = []
        self._last_gradient = None  # (theta, mean gradient) of the last evaluate
        # whether the estimator's inference will read score_sums(theta) without
        # clusters (set by the estimator), and (theta, ScoreSums) of the pass that
        # formed them with the Hessian (see scores_in_pass)
        self.wants_scores = False
        self._score_pass = False
        self._kept_scores = None

    @property
    def row_width(self) -> int:
        """The numbers a row of X holds, for sizing blocks: d, or a sparse row's entries."""
        return self.X.row_width if is_design(self.X) else self.d

    def subset(self, rows, contiguous: bool = False, weight_factor=None,
               order: str = "C") -> Objective:
        """The same objective over X[rows], y[rows], w[rows] (a view for a slice), in
        blocks of the same size: the memory budget is X's, and a row sample's own sixteenth
        made a Hessian's blocks small (float32 300k x 100: 520 rows). ``contiguous``: a
        NumPy X's rows as a copy instead of a view, in C order, or with ``order="K"`` (for
        a slice of rows: one copy) in X's own order; ``weight_factor``: the rows' weights
        multiplied by it ((len(rows),); a sample's inverse inclusion rates)."""
        X = self.X[rows]
        if contiguous and isinstance(X, np.ndarray):
            own = order == "K" and self.X.flags.f_contiguous and not self.X.flags.c_contiguous
            X = np.asfortranarray(X) if own else np.ascontiguousarray(X)
        w = self.w[rows] if weight_factor is None else self.w[rows] * weight_factor
        sub = Objective(self.family, X, self.y[rows], w,
                        self.n_classes, self.fit_intercept, self.alpha, self.reads,
                        self.penalty.factor, self._offset_rows(rows))
        sub.block_rows, sub.wide_block_rows = self.block_rows, self.wide_block_rows
        sub.finite_check = self.finite_check
        return sub

    def columns(self, cols, step: int = 1) -> Objective:
        """The objective over every ``step``-th row and the columns ``cols`` ((k,) int)
        only, as if the other slopes were 0 (the curvature of a working set): X's rows
        and columns taken by :func:`~logitkit.design.column_subset`, a copy of (n / step)
        x k entries."""
        return self.with_design(column_subset(self.X[::step], cols), cols, step)

    def with_design(self, X, cols, step: int) -> Objective:
        """The objective over X (every ``step``-th row of this one's, its columns
        ``cols``), in blocks of this objective's byte budget."""
        rows = slice(0, None, step)
        factor = None if self.penalty.factor is None else self.penalty.factor[cols]
        sub = Objective(self.family, X, self.y[rows], self.w[rows], self.n_classes,
                        self.fit_intercept, self.alpha, self.reads, factor,
                        self._offset_rows(rows))
        # blocks of X's byte budget, not of the narrow copy's own sixteenth (20k x 200,
        # 60 columns: 50 Hessian blocks of 400 rows a pass, most of its time overhead)
        budget = self.block_rows * 8 * self.row_width
        sub.block_rows = max(256, budget // (8 * sub.row_width))
        sub.wide_block_rows = max(256, sub.block_rows // (sub.m + 2))
        sub.finite_check = self.finite_check
        return sub

    def _offset_rows(self, rows):
        """The offset of ``rows`` (None without one)."""
        return None if self.offset is None else self.offset[rows]

    def with_family(self, family) -> Objective:
        """This objective (same rows, penalty and blocks) under another family, e.g. the
        same link with the expected information (a shallow copy)."""
        other = copy.copy(self)
        other.family = family
        return other

    # -- whole-data summaries (logitkit.dask's objective computes them over partitions) --
    def sample_rows(self, step: int):
        """(X[::step], w[::step]): every ``step``-th row and its weight (views). While X's
        check is pending, a sample holding NaN or infinity runs it (the clear error)."""
        Xs = self.X[::step]
        if self.finite_check is not None and not np.isfinite(Xs).all():
            self.require_finite()
        return Xs, self.w[::step]

    def class_weight_sums(self) -> np.ndarray:
        """(K,) total weight of each class."""
        return weighted_counts(self.y, self.w, self.n_classes)

    def aliased_columns(self, constant: bool) -> np.ndarray:
        """(d,) bool: the columns of X aliased on the ones before them (and on a constant
        when ``constant``), see :mod:`logitkit.aliasing`."""
        return find_aliased(self.X, self.w, constant)

    def group_codes(self, clusters):
        """((n,) int codes 0..G-1 of the cluster labels, G' the clusters with positive
        weight)."""
        _, codes = np.unique(np.asarray(clusters), return_inverse=True)
        # a cluster whose rows all have weight 0 is absent from the repeated rows
        return codes, len(np.unique(codes[to_numpy(self.w) > 0]))

    def row_maximum(self, function) -> float:
        """The largest ``function(self, rows)`` (a float) over the row blocks; 0 without
        rows."""
        return max((function(self, rows) for rows in self._blocks()), default=0.0)

    # -- parameter layout -------------------------------------------------------------
    def unpack(self, theta):
        """(W (m, d1), aux (q,)) from a flat natural vector."""
        theta = np.asarray(theta, dtype=float)
        return theta[: self.m * self.d1].reshape(self.m, self.d1), theta[self.m * self.d1 :]

    def pack(self, W, aux):
        return np.concatenate([np.asarray(W, float).ravel(), np.asarray(aux, float)])

    # -- evaluation -------------------------------------------------------------------
    def _blocks(self, wide: bool = False):
        size = self.wide_block_rows if wide else self.block_rows
        for start in range(0, self.n, size):
            yield slice(start, min(start + size, self.n))

    def _here(self, W):
        """W as a float64 array where X lives (one transfer per pass, not per block)."""
        if isinstance(self.X, np.ndarray):
            return W
        return self.xp.asarray(W, dtype=self.xp.float64, device=device(self.X))

    def _block_derivatives(self, rows, W, aux, order, scratch=None):
        """(X block, family derivatives) for one block at coefficients W (m, d1); with a
        ``scratch``, derivatives that may live in its arrays until the next block."""
        Xb = self.X[rows]
        eta = self._eta(Xb, W, rows)
        if scratch is not None:
            return Xb, self.family.block_derivatives(eta, aux, self.y[rows], self.w[rows],
                                                     order, scratch)
        return Xb, self.family.derivatives(eta, aux, self.y[rows], self.w[rows], order)

    def _eta(self, Xb, W, rows=None):
        """(b, m) float64 linear predictor of the rows Xb at coefficients W (m, d1): a host
        array, or a float64 array on Xb's device (no host transfer then); with ``rows``
        (Xb's rows of X), their offset added."""
        eta = self._product(Xb, W)
        return eta if rows is None or self.offset is None else eta + self.offset[rows]

    def _product(self, Xb, W):
        """:meth:`_eta` without the offset."""
        xp = self.xp
        if isinstance(W, np.ndarray) and not W[:, : self.d].any():
            # all slopes zero (the null model Newton starts from): no product with X
            eta = xp.zeros((Xb.shape[0], self.m), dtype=xp.float64, device=device(Xb))
            if self.fit_intercept:
                eta = eta + xp.asarray(W[:, self.d], dtype=xp.float64, device=device(Xb))
            return eta
        host = isinstance(Xb, np.ndarray)  # NumPy: no namespace wrappers (minibatch steps)
        if host:
            B = np.ascontiguousarray(W[:, : self.d]).astype(Xb.dtype, copy=False)
            intercept = W[:, self.d] if self.fit_intercept else None
        else:
            W = xp.asarray(W, dtype=xp.float64, device=device(Xb))
            B = xp.astype(W[:, : self.d], Xb.dtype, copy=False)
            intercept = W[:, self.d] if self.fit_intercept else None
        # one column: a matrix-vector product, several times faster than (n, d) @ (d, 1)
        eta = (Xb @ B[0])[:, None] if self.m == 1 else Xb @ B.T
        eta = (eta.astype(np.float64, copy=False) if host
               else xp.astype(eta, xp.float64, copy=False))
        return eta if intercept is None else eta + intercept

    def _cross(self, Xb, V):
        """V' X_b as a float64 (k, d) array where X lives, for V (n, k) float64."""
        xp = self.xp
        V = xp.astype(V, Xb.dtype, copy=False)
        # OpenBLAS is slow on X' V for tall, thin blocks: use V' X, and a vector for k = 1
        product = (V[:, 0] @ Xb)[None, :] if V.shape[1] == 1 else V.T @ Xb
        return xp.astype(product, xp.float64)

    def _zeros(self, *shape):
        """A float64 accumulator where X lives (sums stay there until a pass ends)."""
        return self.xp.zeros(shape, dtype=self.xp.float64, device=device(self.X))

    def _crossed(self, Xb, der, hessian: bool, gradient: bool = True):
        """(k, d) float64 V' X_b, where X lives, for every column V whose product with the
        block of X a pass needs: the gradient (m, unless not ``gradient``), then for
        Hessians the intercept rows (m * m, with intercepts) and the slope x aux block
        (m * q). A few columns go into one product (one call instead of several); many are
        multiplied group by group (copying them together would cost more than the calls)."""
        xp, n, m = self.xp, Xb.shape[0], self.m
        columns = [der.grad_eta] if gradient else []
        if hessian and self.fit_intercept:
            columns.append(xp.reshape(der.hess_eta, (n, m * m)))
        if hessian and self.q:
            columns.append(xp.reshape(der.hess_eta_aux, (n, m * self.q)))
        if not columns:
            return self._zeros(0, self.d)
        if len(columns) == 1:
            return self._cross(Xb, columns[0])
        if sum(c.shape[1] for c in columns) <= 16:
            return self._cross(Xb, xp.concat(columns, axis=1))
        return xp.concat([self._cross(Xb, c) for c in columns], axis=0)

    def loss_terms(self, theta, order: int, host_hessian: bool = True, kept=None):
        """Unpenalised weighted loss sum and its derivatives over all rows.

        Returns (loss, grad (p,), hess (p, p)) with None beyond ``order``; sums, not means.
        Blocks add into float64 accumulators where X lives; the host sees the totals only
        (``host_hessian=False``: the Hessian stays where X lives, float64). ``kept``: an
        (n, m) array a compiled multinomial pass fills with the rows' w p
        (:meth:`RowCurvature.run_compiled`).
        """
        with self._checking_pass():
            return self._loss_terms(theta, order, host_hessian, kept)

    def _checking_pass(self):
        """The floating-point context of a pass: while X's check is pending, no warnings
        for invalid values (NaN or infinity in X makes them; the pass's results are
        checked, see :meth:`settle_finite`)."""
        return np.errstate(invalid="ignore") if self.finite_check is not None else nullcontext()

    def _loss_terms(self, theta, order: int, host_hessian: bool, kept=None):
        xp = self.xp
        self.reads.rows += self.n
        W, aux_np = self.unpack(theta)
        fused = compiled_pass.path(self, order)
        if fused is not None:  # binary fits: compiled loops
            return self._fused_terms(theta, W, order, fused)
        if compiled_softmax.applies(self, order):
            return self._softmax_terms(theta, W, order, kept)
        uniform = self._uniform_curvature(W)
        W, aux = self._here(W), xp.asarray(aux_np, dtype=xp.float64, device=device(self.X))
        m, d, q = self.m, self.d, self.q
        loss = self._zeros()
        grad_B, grad_c, grad_aux = self._zeros(m, d), self._zeros(m), self._zeros(q)
        hess = HessianSum(self, uniform) if order >= 2 else None
        scores = HessianSum(self) if hess is not None and self._score_pass else None
        least = np.inf
        # while X's check is pending, a gradient pass also sums X's columns (the block is
        # in cache; the gradient's own products unchanged): NaN and infinity show there
        # whatever the coefficients
        sums = np.zeros(d) if self.finite_check is not None and order >= 1 else None
        for rows in self._blocks(wide=order >= 2):
            Xb, der = self._block_derivatives(rows, W, aux, order, self._scratch)
            loss += der.loss
            least = None if least is None or der.least_loss is None else min(
                least, der.least_loss)
            if order == 0:
                continue
            # every X' (.) product of the block in one call: gradient columns first
            crossed = self._crossed(Xb, der, hess is not None)
            if sums is not None:
                sums += column_sums(Xb)
            grad_B += crossed[:m]
            if self.fit_intercept:
                grad_c += column_sums(der.grad_eta)
            if q:
                grad_aux += der.grad_aux
            if hess is not None:
                hess.add_block(Xb, der, crossed[m:])
            if scores is not None:
                self._add_row_scores(scores, rows, Xb, der)
        if scores is not None:
            self._kept_scores = (np.array(theta, dtype=float),
                                 ScoreSums(-scores.matrix(), None, None, None, None))
        if least is not None:
            self._least_losses = [*self._least_losses[-2:], (np.array(theta, float), least)]
        if order == 0:
            self.settle_finite(False, to_numpy(loss))
            return float(to_numpy(loss)), None, None
        grad_W = xp.concat([grad_B, grad_c[:, None]], axis=1) if self.fit_intercept else grad_B
        grad = to_numpy(xp.concat([xp.reshape(grad_W, (-1,)), grad_aux]))
        self.settle_finite(sums is not None, to_numpy(loss), grad, sums)
        return float(to_numpy(loss)), grad, None if hess is None else hess.matrix(host_hessian)

    def _uniform_curvature(self, W) -> bool:
        """Whether every row's eta-space Hessian at coefficients W (m, d1) is its weight
        times one matrix (:class:`HessianSum`'s ``uniform``): several eta columns, all
        slopes zero (the null model Newton starts from), no offset, and a family whose
        curvature is free of the labels (the softmax's)."""
        return (self.m > 1 and self.offset is None
                and not self.family.curvature_uses_labels and not W[:, : self.d].any())

    def settle_finite(self, detecting: bool, *results) -> None:
        """After a pass while X's check is pending (:attr:`finite_check`): non-finite
        ``results`` (arrays, None for none) run the check, which raises naming the first
        NaN or infinity of X; finite ones of a ``detecting`` pass (one that multiplied
        every entry of X into them, where NaN and infinity propagate) settle it, so that
        a fit whose first pass shows X finite never reads X just to check it."""
        if self.finite_check is None:
            return
        if not all(np.isfinite(r).all() for r in results if r is not None):
            self.require_finite()
        elif detecting:
            self.finite_check = None

    def require_finite(self) -> None:
        """Run X's pending check now (it raises when X holds NaN or infinity); no pass
        needed to settle it afterwards."""
        check, self.finite_check = self.finite_check, None
        if check is not None:
            check()

    def _fused_terms(self, theta, W, order: int, fused: str):
        """:meth:`loss_terms` (order <= 1) of the binomial family in the compiled loops of
        :mod:`~logitkit.solvers.compiled_pass`: ``fused`` "rows" (X in C order),
        "columns" (X in column order) or "categorical" (a categorical design,
        :mod:`~logitkit.solvers.compiled_categorical`), each chunk of rows read once;
        products in float64
        (exact where the NumPy pass rounds a float32 X's eta to float32)."""
        d = self.d
        beta = np.ascontiguousarray(W[0, :d], dtype=np.float64)
        intercept = float(W[0, d]) if self.fit_intercept else 0.0
        grad = np.zeros(d + 1)
        if fused == "rows":
            loss, least = compiled_pass.row_terms(self.X, self.y, self.w, beta, intercept,
                                                  order, grad)
        elif fused == "categorical":
            loss, least = compiled_categorical.design_terms(self.X, self.y, self.w, beta,
                                                            intercept, order, grad)
        else:
            loss, least = compiled_pass.column_terms(self.X, self.y, self.w, beta,
                                                     intercept, grad)
        return self._compiled_result(theta, loss, least, grad[None, :], order)

    def _softmax_terms(self, theta, W, order: int, kept=None):
        """:meth:`loss_terms` (order <= 1) of the multinomial family in the compiled loop
        of :mod:`~logitkit.solvers.compiled_softmax`: the same sums, each row read once."""
        d = self.d
        intercepts = W[:, d] if self.fit_intercept else np.zeros(self.m)
        loss, least, grad = compiled_softmax.softmax_terms(
            self.X, self.y, self.w, W[:, :d], intercepts, not self.family.full, order, kept)
        return self._compiled_result(theta, loss, least, grad, order)

    def _compiled_result(self, theta, loss: float, least: float, grad, order: int):
        """:meth:`loss_terms`' result from a compiled pass's sums: ``grad`` (m, d + 1),
        the intercepts' column last (None for order 0)."""
        self._least_losses = [*self._least_losses[-2:], (np.array(theta, float), least)]
        # (the compiled loops multiply every entry of X into eta: a detecting pass)
        self.settle_finite(True, np.asarray(loss), grad if order >= 1 else None)
        if order == 0:
            return loss, None, None
        grad = grad if self.fit_intercept else grad[:, : self.d]
        return loss, np.concatenate([grad.reshape(-1), np.zeros(self.q)]), None

    def largest_observed_proba(self, theta) -> float | None:
        """The largest fitted probability of a row's own class (rows of positive weight)
        at natural ``theta``, if one of the last three passes was at ``theta`` and its
        family reported it (a by-product of the pass); else None."""
        for seen, least in reversed(self._least_losses):
            if np.array_equal(seen, theta):
                return float(np.exp(-least))
        return None

    @property
    def has_hat_values(self) -> bool:
        """Whether rows have GLM hat values: one linear predictor and no auxiliary
        parameters (binary fits), as R's hatvalues() of a glm."""
        return self.m == 1 and self.q == 0

    def evaluate(self, theta, order: int, host_hessian: bool = True):
        """Objective (mean loss + penalty) and derivatives up to ``order`` at natural theta
        (``host_hessian=False``: the Hessian as a float64 array where X lives)."""
        return self._evaluated(theta, order, self.loss_terms(theta, order, host_hessian))

    def _evaluated(self, theta, order: int, terms):
        """:meth:`evaluate`'s result from :meth:`loss_terms`' ``terms`` at ``theta``."""
        value, grad, hess = self.penalised(theta, order, *terms)
        if order >= 1:
            self._last_gradient = (np.array(theta, dtype=float), grad.copy())
        return value, grad, hess

    def gradient_at(self, theta):
        """(p,) the mean gradient of :meth:`evaluate` at natural ``theta`` if its last
        evaluation was there (a copy), else None: post-fit checks reuse the fit's last
        pass."""
        if self._last_gradient is not None and np.array_equal(self._last_gradient[0], theta):
            return self._last_gradient[1].copy()
        return None

    def evaluate_with(self, theta, other, host_hessian: bool = True):
        """:meth:`evaluate` to order 1 at natural ``theta``, and ``other.evaluate(theta, 2)``
        deferred: (value, grad, later), ``later()`` giving ``other``'s (value, grad, hess).
        ``other`` is this objective or a row sample of it (:meth:`subset`). Here other's
        pass runs when ``later`` is called (not at all if it never is); a Dask objective
        computes both in one graph."""
        value, grad, _ = self.evaluate(theta, 1, host_hessian)
        theta = np.array(theta, dtype=float)
        return value, grad, lambda: other.evaluate(theta, 2, host_hessian)

    def penalised(self, theta, order: int, loss, grad, hess):
        """:meth:`evaluate`'s result from :meth:`loss_terms`' sums at ``theta``."""
        W, _ = self.unpack(theta)
        value = loss / self.total_weight + self.penalty.value(W)
        if order >= 1:
            grad = grad / self.total_weight
            grad[: self.m * self.d1] += self.penalty.gradient(W).ravel()
        if order >= 2:
            hess = hess / self.total_weight
            self.penalty.add_hessian(hess, self.d1)
        return value, grad, hess

    def curvature(self, theta):
        """(value, grad (p,), :class:`RowCurvature`) at natural ``theta`` in one pass: the
        objective and gradient of :meth:`evaluate`, and the rows' eta-space Hessians kept
        for Hessian-vector products (each one more pass; memory (2m + mq) floats a row)."""
        with self._checking_pass():
            return self._curvature(theta)

    def _curvature(self, theta):
        from logitkit.curvature import RowCurvature

        xp = self.xp
        W, aux_np = self.unpack(theta)
        W, aux = self._here(W), xp.asarray(aux_np, dtype=xp.float64, device=device(self.X))
        rows_curvature = RowCurvature(self, W, aux)
        # multinomial fits in the compiled passes (factors: (m + 1) floats a row)
        mode = rows_curvature.mode_for(8 * (self.m + 1))
        path = compiled_softmax.curvature_path(self, mode)
        if path is not None:
            kept = rows_curvature.run_compiled(path, mode)
            value, grad, _ = self._evaluated(theta, 1, self.loss_terms(theta, 1, kept=kept))
            return value, grad, rows_curvature
        self.reads.rows += self.n
        loss = self._zeros()
        grad_B, grad_c, grad_aux = self._zeros(self.m, self.d), self._zeros(self.m), \
            self._zeros(self.q)
        sums = np.zeros(self.d) if self.finite_check is not None else None  # (loss_terms')
        for rows in rows_curvature.blocks():
            Xb = self.X[rows]
            der = self.family.curvature(self._eta(Xb, W, rows), aux, self.y[rows],
                                        self.w[rows])
            loss += der.loss
            grad_B += self._cross(Xb, der.grad_eta)
            if sums is not None:
                sums += column_sums(Xb)
            if self.fit_intercept:
                grad_c += column_sums(der.grad_eta)
            if self.q:
                grad_aux += der.grad_aux
            rows_curvature.keep(rows, der)
        grad_W = xp.concat([grad_B, grad_c[:, None]], axis=1) if self.fit_intercept else grad_B
        grad = to_numpy(xp.concat([xp.reshape(grad_W, (-1,)), grad_aux])) / self.total_weight
        W_np, _ = self.unpack(theta)
        grad[: self.m * self.d1] += self.penalty.gradient(W_np).ravel()
        value = float(to_numpy(loss)) / self.total_weight + self.penalty.value(W_np)
        self.settle_finite(sums is not None, np.asarray(value), grad, sums)
        return value, grad, rows_curvature

    def hessian_vector_product(self, theta, v) -> np.ndarray:
        """(p,) H v, H the mean Hessian of :meth:`evaluate` at natural ``theta``: two passes
        (use :meth:`curvature`'s operator for several vectors at one point)."""
        return self.curvature(theta)[2].times(v)
