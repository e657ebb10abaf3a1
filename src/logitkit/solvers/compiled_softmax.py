"""Fused, compiled passes for multinomial logit fits (numba).

The NumPy pass of a multinomial fit with few classes spends most of its time outside
reading X: ``X @ W'`` and ``R' X`` with K columns run far below BLAS's speed, and the
softmax's per-row ufuncs make several (b, K) temporaries. Here each block of rows is
read twice while in cache: the rows' K linear predictors (four rows at a time, sharing
the reads of W), then, after the block's softmax, X' R (four rows at a time, sharing the
reads of the gradient's rows). The softmax (log-normaliser, loss, residuals
r_k = w (p_k - [y = k])) runs a class at a time over the block's rows, in branch-free
loops the compiler vectorises with :mod:`~logitkit.solvers.compiled_math`'s exp and log
(:func:`_block_softmax`). One thread, a value-and-gradient pass, y int8, unit weights,
against the same loops with libm's scalar exp and log (alternately in one process, best
of 11): K=5 300k x 50 in C order 36.4 against 47.3 ms, K=3 500k x 50 47.0 against 68.6,
K=10 100k x 50 keeping the Hessian's factors 25.3 against 34.0, K=5 300k x 50 in column
order 30.7 against 41.1, K=50 50k x 20 19.0 against 27.9; the loss to the same bits there.
(With libm's functions, the softmax a class at a time had already taken K=5 300k rows'
from 36-38 to 18-20 ms against a row at a time.) Sums in float64 whatever X's dtype;
the loss summed per chunk of rows and the chunks pairwise (as
:func:`~logitkit.solvers.compiled_pass.row_terms`).

Truncated Newton's passes (:class:`~logitkit.curvature.RowCurvature`'s ``compiled``,
chosen by :func:`curvature_path`): where the rows' factors are kept, the value pass
writes each row's w p as it goes and a Hessian-vector product reads them
(:func:`kept_hessian_times`; one thread, K=10 100k x 50, factors in float32: the pass
that keeps them 24 ms against NumPy's 38, a product 12 ms against 22). With many
classes (BLAS_COLUMNS eta columns or more) and a float64 X, the products with X run in
BLAS over a block of rows at a time and only the softmax in the loop, and a product
recomputes the probabilities from X and the coefficients (:func:`hessian_times`: there
they are too many to keep): K=50 50k x 20, a value-and-gradient pass 19 ms (26 with
libm's exp, 31-32 with the softmax a row at a time; the row loop's took 40) and a
product 33 ms against NumPy's 56.

X in column order (a DataFrame's block, a Dask DataFrame's partition) is read in blocks
of COLUMN_BLOCK_ROWS rows, a column at a time, twice while the block is in cache: the
logits, then X' R, each four columns at a time (one thread, 125k x 50, with libm's
exp: K=3 11 ms, K=5 15-16 ms, K=10 25 ms against NumPy's 30-36, 39-50 and 46-58 ms on
the same X, and the row loop's 15-16, 18-19 and 27-38 ms on X in C order; the loss
equals the row loop's to the last bit).
Truncated Newton's compiled products take X in C order only.

Used by :meth:`Objective.loss_terms` for values and gradients (order <= 1) of the
multinomial family, either form (``full``: K linear predictors; else K - 1 and the base
class's logit 0), without an offset, on a NumPy X in C or column order, when numba is
available (:func:`logitkit.solvers.compiled_loop.available`). Compiled once under
compiled_loop's lock, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np

from logitkit.solvers import compiled_loop
from logitkit.solvers.compiled_pass import (
    column_gradient,
    column_logits,
    four_dots,
    weights_by_chunk,
)

# rows whose losses are summed together before the chunks' sums are added pairwise
ROWS_PER_CHUNK = 16
# at most this many classes in the row loop: each row keeps its K predictors and
# residuals in small arrays
MAX_CLASSES = 64
# from this many eta columns on, the products with a float64 X run in BLAS over
# BLAS_ROWS rows at a time and only the softmax row by row (one thread, K=50 50k x 20:
# a Hessian-vector product 32 ms against the row loop's 64 and NumPy's 56; with 9
# columns the row loop wins, 35 against 51 ms)
BLAS_COLUMNS = 16
BLAS_ROWS = 128
# X in column order (a DataFrame's block, a Dask DataFrame's partition) is read in blocks
# of this many rows, each block's columns twice while in cache (logits, then gradient)
COLUMN_BLOCK_ROWS = 512
# the row loop's softmax runs over blocks of this many rows, a class at a time
ROW_BLOCK_ROWS = 256
_KERNELS = None
# compiled_math, bound by _kernels (numba is optional)
cm = None


def applies(objective, order: int) -> bool:
    """Whether ``objective``'s pass of this ``order`` runs compiled here."""
    from logitkit.families import Multinomial

    X = objective.X
    return (order <= 1 and type(objective.family) is Multinomial
            and objective.offset is None and isinstance(X, np.ndarray) and X.ndim == 2
            and X.dtype in (np.float64, np.float32)
            and (X.flags.c_contiguous and (objective.n_classes <= MAX_CLASSES
                                           or _blas(X, objective.m))
                 or X.flags.f_contiguous and objective.n_classes <= MAX_CLASSES)
            and compiled_loop.available())


def _blas(X, m: int) -> bool:
    return m >= BLAS_COLUMNS and X.dtype == np.float64


def curvature_path(objective, mode: str) -> str | None:
    """How truncated Newton's passes over ``objective`` run here when its rows' factors
    are in ``mode`` (:meth:`~logitkit.curvature.RowCurvature.mode_for`): "blas" (many
    classes, recomputed: :func:`hessian_times`), "rows" (kept by the value pass:
    :func:`kept_hessian_times`), or None (NumPy)."""
    if not applies(objective, 1) or not objective.X.flags.c_contiguous:
        return None
    if _blas(objective.X, objective.m):
        return "blas" if mode == "recompute" else None
    return None if mode == "recompute" else "rows"


def softmax_terms(X, y, w, W, intercepts, base: bool, order: int, kept=None):
    """(loss sum, least row loss among rows of positive weight, gradient (m, d + 1) or
    None) over X (n, d), class codes y (n,), weights w (n,), at slopes W (m, d) and
    ``intercepts`` (m,); ``base``: the base class 0 has logit 0 and column k of W is class
    k + 1's (m = K - 1), else m = K. The gradient's last column is the intercepts'.
    ``kept``: None, or an (n, m) float32 or float64 array (the row loop only, order 1)
    that receives each row's w p, the factor of its eta-space Hessian."""
    m, d = W.shape
    c = np.asarray(intercepts, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    y = np.ascontiguousarray(y)
    grad = np.zeros((m, d + 1))
    if not X.flags.c_contiguous:  # (column order: no kept factors)
        w, step = weights_by_chunk(w, COLUMN_BLOCK_ROWS)
        parts, least = _kernels()["_column_rows"](X.T, y, w, step, W, c, base, order >= 1,
                                                  grad, ROWS_PER_CHUNK, COLUMN_BLOCK_ROWS)
    elif _blas(X, m):
        w, step = weights_by_chunk(w, BLAS_ROWS)
        parts, least = _kernels()["_blas_rows"](X, y, w, step, W, c, base, order >= 1, grad,
                                                ROWS_PER_CHUNK, BLAS_ROWS)
    else:
        kept = np.empty((0, m)) if kept is None else kept
        w, step = weights_by_chunk(w, ROW_BLOCK_ROWS)
        parts, least = _kernels()["_rows"](X, y, w, step, W, c, base, order >= 1, grad,
                                           ROWS_PER_CHUNK, kept, ROW_BLOCK_ROWS)
    return float(np.sum(parts)), least, grad if order >= 1 else None


def hessian_times(X, w, W, intercepts, V, v_intercepts, base: bool):
    """(m, d + 1) sum_i x_i' h_i E_i (x_i with a last 1 for the intercepts): the
    unpenalised Hessian of the loss sum at slopes W (m, d) and ``intercepts`` (m,) times
    the direction of slopes V (m, d) and ``v_intercepts`` (m,), where E_i = V x_i + v_c
    and h_i = diag(w_i p_i) - w_i p_i p_i' over the m eta columns (``base`` as in
    :func:`softmax_terms`). Recomputes each row's probabilities: nothing kept between
    passes. X (n, d) float64 in C order, m >= BLAS_COLUMNS."""
    m, d = W.shape
    out_t = np.zeros((d + 1, m))
    _kernels()["_hessian_blas_rows"](
        X, w, np.ascontiguousarray(W.T, dtype=np.float64),
        np.asarray(intercepts, dtype=np.float64), np.ascontiguousarray(V.T, dtype=np.float64),
        np.asarray(v_intercepts, dtype=np.float64), base, out_t, BLAS_ROWS)
    return out_t.T


def kept_hessian_times(X, a, coupling, V, v_intercepts):
    """(m, d + 1) sum_i x_i' h_i E_i as :func:`hessian_times`, from the factors the value
    pass kept: h_i = diag(a_i) - coupling_i a_i a_i' (a (n, m) = w p, coupling (n,) =
    1 / w, float32 or float64); X (n, d) float64 or float32 in C order."""
    m, d = V.shape
    out = np.zeros((m, d + 1))
    _kernels()["_kept_hessian_rows"](X, a, coupling, np.ascontiguousarray(V, dtype=np.float64),
                                     np.asarray(v_intercepts, dtype=np.float64), out)
    return out


def _kernels():
    """The compiled kernels by name, on first use under compiled_loop's lock (their
    helpers compiled first and bound in this module)."""
    global _KERNELS
    with compiled_loop._LOCK:
        if _KERNELS is None:
            import numba

            from logitkit.solvers import compiled_math

            globals()["cm"] = compiled_math
            # a row's dot products and the gradient's sums may add in any order (SIMD); a
            # division need not check for zero (it would be a branch in each lane)
            jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc"},
                             error_model="numpy")
            for name in ("four_dots", "_exponentiate", "_block_softmax", "_products",
                         "_accumulate", "column_logits", "column_gradient"):
                globals()[name] = jit(globals()[name])
            _KERNELS = {name: jit(globals()[name]) for name in
                        ("_rows", "_column_rows", "_blas_rows", "_hessian_blas_rows",
                         "_kept_hessian_rows")}
    return _KERNELS


def _exponentiate(eta, base):
    """eta (m,) -> exp(eta - top) in place, top the largest logit (0 included with
    ``base``); returns (top, total), total the sum of the exps (exp(-top) included)."""
    top = 0.0 if base else -math.inf
    for k in range(eta.shape[0]):
        if eta[k] > top:
            top = eta[k]
    total = cm.exp(-top) if base else 0.0
    for k in range(eta.shape[0]):
        eta[k] = cm.exp(eta[k] - top)
        total += eta[k]
    return top, total


def _products(X, start, rows, W, c, R):
    """R[:rows] = X[start:start + rows] W' + c, four rows at a time sharing W's reads."""
    m, d = W.shape
    if rows == 4:
        for k in range(m):
            e0, e1, e2, e3 = four_dots(X, start, W[k])
            R[0, k], R[1, k], R[2, k], R[3, k] = e0 + c[k], e1 + c[k], e2 + c[k], e3 + c[k]
        return
    for r in range(rows):
        x = X[start + r]
        for k in range(m):
            e = c[k]
            Wk = W[k]
            for j in range(d):
                e += x[j] * Wk[j]
            R[r, k] = e


def _accumulate(X, start, rows, R, out):
    """out[:, :d] += R[:rows]' X[start:start + rows], out[:, d] += R's column sums."""
    m, d = R.shape[1], X.shape[1]
    if rows == 4:
        x0, x1, x2, x3 = X[start], X[start + 1], X[start + 2], X[start + 3]
        for k in range(m):
            r0, r1, r2, r3 = R[0, k], R[1, k], R[2, k], R[3, k]
            ok = out[k]
            for j in range(d):
                ok[j] += (r0 * x0[j] + r1 * x1[j]) + (r2 * x2[j] + r3 * x3[j])
            ok[d] += (r0 + r1) + (r2 + r3)
        return
    for r in range(rows):
        x = X[start + r]
        for k in range(m):
            rk = R[r, k]
            ok = out[k]
            for j in range(d):
                ok[j] += rk * x[j]
            ok[d] += rk


def _rows(X, y, w, step, W, c, base, gradient, grad, chunk, kept, block):
    """(chunk loss sums, least row loss): per row eta_k = x . W_k + c_k, the row's loss
    w (log Z - eta_y) over [0 (with ``base``), eta], and with ``gradient`` the residuals
    r_k = w p_k - w [y = k] added times x into grad[k, :d] and into grad[k, d] (w p into
    ``kept``). Per block of ``block`` rows: the logits four rows at a time into E
    (m, block), the softmax a class at a time (:func:`_block_softmax`), the gradient
    four rows at a time. The block's weights: w[start * step:][:rows]
    (:func:`~logitkit.solvers.compiled_pass.weights_by_chunk`)."""
    n, m = X.shape[0], W.shape[0]
    first = 1 if base else 0  # the class of W's row 0
    parts = np.zeros(-(-n // chunk))
    least = math.inf
    R = np.empty((4, m))
    E = np.empty((m, block))
    scratch = np.empty((3, block))
    for start in range(0, n, block):
        rows = min(block, n - start)
        for s in range(0, rows, 4):
            four = min(4, rows - s)
            _products(X, start + s, four, W, c, R)
            for r in range(four):
                for k in range(m):
                    E[k, s + r] = R[r, k]
        least = _block_softmax(E, rows, y[start:start + rows],
                               w[start * step:start * step + rows], start, first, base,
                               gradient, parts, chunk, least, scratch, kept)
        if gradient:
            for s in range(0, rows, 4):
                four = min(4, rows - s)
                for r in range(four):
                    for k in range(m):
                        R[r, k] = E[k, s + r]
                _accumulate(X, start + s, four, R, grad)
    return parts, least


def _column_rows(Xt, y, w, step, W, c, base, gradient, grad, chunk, block):
    """:func:`_rows` for X in column order (Xt = X' (d, n) in C order): per block of
    ``block`` rows, the logits into E (m, block) (compiled_pass's
    :func:`~logitkit.solvers.compiled_pass.column_logits`), the rows' losses and residuals
    a class at a time (:func:`_block_softmax`), then the gradient
    (:func:`~logitkit.solvers.compiled_pass.column_gradient`): the block's columns read
    twice, from cache."""
    d, n = Xt.shape
    m = W.shape[0]
    first = 1 if base else 0
    parts = np.zeros(-(-n // chunk))
    least = math.inf
    E = np.empty((m, block))
    rows_scratch = np.empty((3, block))
    unkept = np.empty((0, 0))
    for start in range(0, n, block):
        rows = min(block, n - start)
        column_logits(Xt, start, rows, W, c, E)
        least = _block_softmax(E, rows, y[start:start + rows],
                               w[start * step:start * step + rows], start, first, base,
                               gradient, parts, chunk, least, rows_scratch, unkept)
        if gradient:
            column_gradient(Xt, start, rows, E, grad)
    return parts, least


def _block_softmax(E, rows, y, w, start, first, base, gradient, parts, chunk, least,
                   scratch, kept):
    """Each row's loss w (log Z - eta_y) over [0 (with ``base``), eta] for the first
    ``rows`` columns of E (m, block), the logits of rows start.. of X with labels y and
    weights w (the block's), computed a class at a time in branch-free loops over the
    rows that the compiler vectorises, with compiled_math's exp and log; each row's loss
    into its chunk's part, in row order, and with ``gradient`` E becomes the residuals
    r_k = w p_k - w [y = k] (w p also into kept[start + i] when ``kept`` has rows).
    ``scratch`` (3, block): the rows' largest logits, sums of exps, observed logits (then
    weighted losses). Returns the least row loss among rows of positive weight (``least``
    before; the least of the losses' bits, which order as the non-negative losses do)."""
    m = E.shape[0]
    top, total, observed = scratch[0], scratch[1], scratch[2]
    for i in range(rows):
        code = np.int64(y[i]) - first  # W's row of the observed class (-1: base)
        observed[i] = E[code, i] if code >= 0 else 0.0
        top[i] = 0.0 if base else -math.inf
    for k in range(m):
        Ek = E[k]
        for i in range(rows):
            top[i] = max(top[i], Ek[i])
    for i in range(rows):
        total[i] = cm.exp(-top[i]) if base else 0.0
    for k in range(m):
        Ek = E[k]
        for i in range(rows):
            Ek[i] = cm.exp(Ek[i] - top[i])
            total[i] += Ek[i]
    low = cm.INF_BITS
    for i in range(rows):
        wi = np.float64(w[i])
        loss = top[i] + cm.log(total[i]) - observed[i]  # (total >= 1)
        observed[i] = wi * loss
        low = min(low, cm.float_bits(loss + 0.0) if wi > 0.0 else cm.INF_BITS)
        total[i] = wi / total[i]  # (the residuals' scale)
    for i in range(rows):
        parts[(start + i) // chunk] += observed[i]
    least = min(least, cm.bits_float(low))
    if gradient:
        for k in range(m):
            Ek = E[k]
            for i in range(rows):
                Ek[i] *= total[i]
        if kept.shape[0]:
            for i in range(rows):
                for k in range(m):
                    kept[start + i, k] = E[k, i]
        for i in range(rows):
            code = np.int64(y[i]) - first
            if code >= 0:
                E[code, i] -= np.float64(w[i])
    return least


def _kept_hessian_rows(X, a, coupling, V, v_c, out):
    """:func:`kept_hessian_times` into out (m, d + 1): per row E = V x + v_c and
    R = a * (E - coupling a . E), then X' R; four rows at a time."""
    n = X.shape[0]
    E = np.empty((4, V.shape[0]))
    for start in range(0, n, 4):
        rows = min(4, n - start)
        _products(X, start, rows, V, v_c, E)
        for r in range(rows):
            i = start + r
            inner = 0.0
            for k in range(E.shape[1]):
                inner += a[i, k] * E[r, k]
            inner *= coupling[i]
            for k in range(E.shape[1]):
                E[r, k] = a[i, k] * (E[r, k] - inner)
        _accumulate(X, start, rows, E, out)


def _blas_rows(X, y, w, step, W, c, base, gradient, grad, chunk, block):
    """:func:`_rows` for many classes: per ``block`` rows the logits E (m, block) from one
    product W X_b' (BLAS), the softmax a class at a time (:func:`_block_softmax`), the
    gradient from another product, R X_b."""
    n, d = X.shape
    m = W.shape[0]
    first = 1 if base else 0
    parts = np.zeros(-(-n // chunk))
    least = math.inf
    scratch = np.empty((3, block))
    unkept = np.empty((0, 0))
    for start in range(0, n, block):
        Xb = X[start:start + block]
        E = W @ Xb.T
        for k in range(m):
            E[k] += c[k]
        rows = Xb.shape[0]
        least = _block_softmax(E, rows, y[start:start + rows],
                               w[start * step:start * step + rows], start, first, base,
                               gradient, parts, chunk, least, scratch, unkept)
        if gradient:
            grad[:, :d] += E @ Xb
            for k in range(m):
                grad[k, d] += E[k].sum()
    return parts, least


def _hessian_blas_rows(X, w, W_t, c, V_t, v_c, base, out_t, block):
    """:func:`hessian_times` into out_t (d + 1, m): for ``block`` rows at a time their
    probabilities P and directions E from two products with X, each row's
    R_i = w_i p_i * (E_i - p_i . E_i), then X' R."""
    d = X.shape[1]
    for start in range(0, X.shape[0], block):
        Xb = X[start:start + block]
        P = Xb @ W_t
        E = Xb @ V_t
        for i in range(Xb.shape[0]):
            p, e = P[i], E[i]
            p += c
            e += v_c
            _, total = _exponentiate(p, base)
            inner = 0.0
            for k in range(p.shape[0]):
                inner += p[k] * e[k]
            inner /= total
            scale = np.float64(w[start + i]) / total
            for k in range(p.shape[0]):
                e[k] = scale * p[k] * (e[k] - inner)
        out_t[:d] += Xb.T @ E
        out_t[d] += E.sum(axis=0)
