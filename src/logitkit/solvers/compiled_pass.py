"""Fused, compiled value-and-gradient passes for binary logit fits (numba).

A NumPy pass over X spends much of its time outside reading X: BLAS's matrix-vector
products run far below memory speed on few columns, and each block's per-row ufuncs
(exp, log1p and the rest of :meth:`~logitkit.families.Binomial.block_derivatives`) make
several temporaries. Here each chunk of rows is read twice while it is in the core's
cache: the rows' eta = x . beta + c, then, after the rows' terms, X' r. The terms (the
loss in the stable form max(z, 0) - y z + log1p(exp(-|z|)), the least row loss among
rows of positive weight for the separation check, r = w (p - y)) run over the chunk in
one branch-free loop that the compiler vectorises, with
:mod:`~logitkit.solvers.compiled_math`'s exp and log1p (libm's scalar ones took 20-25 ns
a row, these 7-8). Products and sums in float64 whatever X's dtype (with eta in float32,
as BLAS computes it, scipy's L-BFGS-B ended its line search ABNORMAL at max |gradient|
1.4e-6 on the float32 problem of tests/test_solver_paths.py, tol 1e-8). The loss is
summed per chunk and the chunks pairwise (NumPy's sum): added one after another over
60,000 rows, the value's rounding noise was 20 times NumPy's pass's and scipy's
L-BFGS-B spent 49 extra evaluations in line searches.

- :func:`row_terms`, X in C order: chunks of ROW_CHUNK rows a row at a time, or, on
  rows of FOUR_ROWS_FROM columns or more, chunks of FOUR_ROWS_CHUNK rows four at a time.
- :func:`column_terms`, X in column order (a DataFrame's float64 block, a Dask
  DataFrame's partition): chunks of COLUMN_CHUNK_BYTES, eta and X' r four columns at a
  time (each column's part of a chunk is contiguous). Its kernel also takes level codes
  beside the columns: a categorical design's pass
  (:mod:`~logitkit.solvers.compiled_categorical`).

One thread, y int8, unit weights, in one process alternately, best of 11, ms a gradient
pass against the passes before (chunks of float64 X up to 200 columns with NumPy's exp
and log1p between two compiled loops; a row loop for wider and float32 X with libm's):
3M x 10 float64 55.7 against 111.2; 1M x 50 67.7 against 91.9; 500k x 100 53.1 against
66.4; 20k x 2000 29.4 against 29.8; float32 1M x 100 71.8 against 101.9; 300k x 50 in
column order 17.4 against 23.7.

Used by :meth:`Objective.loss_terms` for gradient passes (order 1) and value passes of
X in C order of at most MAX_VALUE_COLUMNS columns, of the binomial family without an
offset on a NumPy X (float64 or float32) of at most MAX_COLUMNS columns, when numba is
available
(:func:`logitkit.solvers.compiled_loop.available`: installed, and not switched off by
``LOGITKIT_NUMBA=0``). Compiled once under compiled_loop's lock, cached on disk.
"""

from __future__ import annotations

import numpy as np

from logitkit.solvers import compiled_loop

# the widest X whose passes run compiled (NumPy / compiled 1.5 to 1.8 from 50 to 4000
# float64 columns, 1.49 at 10000, with the loss terms of libm's scalar exp and log1p)
MAX_COLUMNS = 10_000
# the widest X in C order whose value pass runs compiled: wider, BLAS's X @ b reads X
# once and the NumPy pass costs as much (one thread, X of 160 MB, NumPy / compiled:
# float64 10 columns 3.02, 50 1.78, 200 1.79, 400 1.23, 1000 0.92, 2000 0.95; float32 10
# 2.54, 100 1.55, 1000 1.24; benchmarks/pass_width.py --order 0)
MAX_VALUE_COLUMNS = 400
# row_terms takes rows four at a time from this many columns (the four rows share each
# read of beta and each update of the gradient), else one at a time; one thread, X of
# 160 MB, ms a gradient pass, four / one: 10 columns 40.8 / 45.6 and 54.0 / 46.1; 16
# 39.0 / 35.3; 100 39.9 / 26.1; 400 23.2 / 22.8; 1000 21.9 / 25.1; 2000 19.5 / 23.9
FOUR_ROWS_FROM = 1000
FOUR_ROWS_CHUNK = 16
ROW_CHUNK = 64
# bytes of X per chunk of :func:`column_terms`
COLUMN_CHUNK_BYTES = 2**17
_KERNELS = None
# compiled_math, bound by _kernels (numba is optional)
cm = None


def path(objective, order: int) -> str | None:
    """Which compiled pass ``objective``'s pass of this ``order`` takes here: "rows"
    (:func:`row_terms`), "columns" (:func:`column_terms`, gradients of X in column
    order), "categorical" (:func:`~logitkit.solvers.compiled_categorical.design_terms`),
    or None (the NumPy pass)."""
    from logitkit.families import Binomial
    from logitkit.solvers import compiled_categorical

    X = objective.X
    if not (order <= 1 and type(objective.family) is Binomial and objective.offset is None
            and compiled_loop.available()):
        return None
    if compiled_categorical.takes(X):
        return "categorical"
    if not (isinstance(X, np.ndarray) and X.ndim == 2
            and X.dtype in (np.float64, np.float32) and X.shape[1] <= MAX_COLUMNS):
        return None
    if not X.flags.c_contiguous:
        return "columns" if X.flags.f_contiguous and order == 1 else None
    return "rows" if order == 1 or X.shape[1] <= MAX_VALUE_COLUMNS else None


def supports(objective, order: int) -> bool:
    """Whether ``objective``'s pass of this ``order`` runs compiled here."""
    return path(objective, order) is not None


def row_terms(X, y, w, beta, intercept: float, order: int, grad: np.ndarray):
    """(loss sum, least loss of a row of positive weight; inf if none) over X (n, d)
    float64 or float32 in C order, y (n,), w (n,) at slopes ``beta`` (d,) float64 and
    ``intercept``; for order 1 adds X' r to ``grad[:d]`` and sum r to ``grad[d]`` (grad
    (d + 1,) float64)."""
    by_four = X.shape[1] >= FOUR_ROWS_FROM
    chunk = FOUR_ROWS_CHUNK if by_four else ROW_CHUNK
    weights, step = weights_by_chunk(w, chunk)
    parts, least = _kernels()[0](X, np.ascontiguousarray(y), weights, step, beta,
                                 float(intercept), order >= 1, grad, chunk, by_four)
    return float(np.sum(parts)), least


def column_terms(X, y, w, beta, intercept: float, grad: np.ndarray):
    """:func:`row_terms` (order 1) for X (n, d) in column order (Fortran; a pandas
    DataFrame's one float64 block is such a view)."""
    no_levels = np.zeros(0)
    parts, least = columns_kernel(X.T, np.zeros((0, X.shape[0]), np.int8),
                                  np.zeros(0, np.intp), no_levels, y, w, beta, intercept,
                                  True, grad[None, :], no_levels)
    return float(np.sum(parts)), least


def columns_kernel(Xt, codes, offsets, by_level, y, w, beta, intercept: float,
                   gradient: bool, grad, level_sums):
    """(chunk loss sums, least row loss) of the column pass :func:`_columns` over Xt (d,
    n) and ``codes`` (n_categorical, n), in chunks of COLUMN_CHUNK_BYTES of Xt."""
    rows = max(64, COLUMN_CHUNK_BYTES // (Xt.dtype.itemsize * max(1, Xt.shape[0])))
    weights, step = weights_by_chunk(w, rows)
    return _kernels()[1](Xt, codes, offsets, by_level, np.ascontiguousarray(y), weights,
                         step, np.ascontiguousarray(beta)[None, :],
                         np.array([float(intercept)]), gradient, grad, level_sums, rows)


def weights_by_chunk(w, chunk: int):
    """(weights, step) for the compiled kernels, which read a chunk's weights as
    weights[start * step:][:rows]: ``w`` itself (step 1), or, for one weight broadcast
    to every row (an unweighted fit's stride-0 ones), a chunk's length of it (step 0),
    so that the kernels' loops read contiguous weights and vectorise (a stride-0 array
    kept the column pass over 300k x 50 at 27 ms against 18)."""
    if w.ndim == 1 and w.shape[0] > 1 and w.strides[0] == 0:
        return np.full(chunk, w[0], dtype=np.float64), 0
    return np.ascontiguousarray(w), 1


def _kernels():
    """(rows, columns), compiled on first use under compiled_loop's lock."""
    global _KERNELS
    with compiled_loop._LOCK:
        if _KERNELS is None:
            import numba

            from logitkit.solvers import compiled_math

            globals()["cm"] = compiled_math
            # a row's dot product and the column sums may add in any order (SIMD lanes);
            # a division need not check for zero (it would be a branch in each lane)
            jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc"},
                             error_model="numpy")
            globals()["four_dots"] = jit(four_dots)
            for name in ("_chunk_terms", "_four_rows_eta", "_four_rows_gradient",
                         "column_logits", "column_gradient"):
                globals()[name] = jit(globals()[name])
            _KERNELS = jit(_rows), jit(_columns)
    return _KERNELS


def four_dots(X, i, b):
    """(x_i . b, x_{i+1} . b, x_{i+2} . b, x_{i+3} . b) for rows of X, b's entries read
    once for the four (the compiled row loops here and in compiled_softmax)."""
    x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
    e0 = e1 = e2 = e3 = 0.0
    for j in range(b.shape[0]):
        bj = b[j]
        e0 += x0[j] * bj
        e1 += x1[j] * bj
        e2 += x2[j] * bj
        e3 += x3[j] * bj
    return e0, e1, e2, e3


def _chunk_terms(z, y, w, r):
    """(loss sum, bits of the least row loss among rows of positive weight, sum of r)
    over a chunk's eta ``z`` (b,) with labels y (b,) and weights w (b,), r (b,) = w (p -
    y) written. One loop without branches, so that it vectorises: the least row loss is
    the least of the losses' bits (which order as the non-negative losses do), and r is
    computed for value passes too (a branch on it kept a 3M x 10 pass at 88 ms against
    56)."""
    loss = 0.0
    least = cm.INF_BITS
    total = 0.0
    for k in range(z.shape[0]):
        zk, yk, wk = z[k], np.float64(y[k]), np.float64(w[k])
        t = cm.exp(-abs(zk))
        u = 1.0 + t
        inv = 1.0 / u
        row = cm.log1p_of(t, u, inv) + (max(zk, 0.0) - yk * zk)
        loss += wk * row
        least = min(least, cm.float_bits(row + 0.0) if wk > 0.0 else cm.INF_BITS)
        rk = ((inv if zk >= 0.0 else t * inv) - yk) * wk
        total += rk
        r[k] = rk
    return loss, least, total


def _four_rows_eta(X, start, stop, beta, c, z):
    """z[:stop - start] = X[start:stop] beta + c, four rows at a time; returns the first
    row left."""
    i = start
    while i + 4 <= stop:
        e0, e1, e2, e3 = four_dots(X, i, beta)
        k = i - start
        z[k], z[k + 1], z[k + 2], z[k + 3] = e0 + c, e1 + c, e2 + c, e3 + c
        i += 4
    return i


def _four_rows_gradient(X, start, stop, r, g):
    """g += X[start:stop]' r four rows at a time; returns the first row left."""
    i = start
    while i + 4 <= stop:
        k = i - start
        r0, r1, r2, r3 = r[k], r[k + 1], r[k + 2], r[k + 3]
        x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for j in range(g.shape[0]):
            g[j] += (r0 * x0[j] + r1 * x1[j]) + (r2 * x2[j] + r3 * x3[j])
        i += 4
    return i


def _rows(X, y, w, step, beta, c, gradient, grad, chunk, by_four):
    """(chunk loss sums, least row loss) over X (n, d) in C order, ``chunk`` rows at a
    time: their eta, their terms (:func:`_chunk_terms`), then with ``gradient`` X' r
    into grad[:d] and sum r into grad[d], the chunk's rows ``by_four`` or one at a
    time. The chunk's weights: w[start * step:][:rows] (:func:`weights_by_chunk`)."""
    n, d = X.shape
    parts = np.zeros(-(-n // chunk))
    least = cm.INF_BITS
    g = np.zeros(d)
    z = np.empty(chunk)
    r = np.empty(chunk)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rest = _four_rows_eta(X, start, stop, beta, c, z) if by_four else start
        for i in range(rest, stop):
            e = 0.0
            for j in range(d):
                e += X[i, j] * beta[j]
            z[i - start] = e + c
        rows = stop - start
        loss, low, total = _chunk_terms(z[:rows], y[start:stop],
                                        w[start * step:start * step + rows], r)
        parts[start // chunk] = loss
        least = min(least, low)
        if gradient:
            grad[d] += total
            rest = _four_rows_gradient(X, start, stop, r, g) if by_four else start
            for i in range(rest, stop):
                ri = r[i - start]
                for j in range(d):
                    g[j] += ri * X[i, j]
    if gradient:
        for j in range(d):
            grad[j] += g[j]
    return parts, cm.bits_float(least)


def _columns(Xt, codes, offsets, by_level, y, w, step, beta, c, gradient, grad, level_sums,
             chunk):
    """(chunk loss sums, least row loss) over the n rows of X in column order (Xt = X'
    (d, n) in C order) and of level codes (n_categorical, n) (none for a plain X: a
    categorical design's, :mod:`~logitkit.solvers.compiled_categorical`), ``chunk`` rows at
    a time: eta over the chunk (:func:`column_logits` with one row of coefficients, plus
    each categorical column k's coefficient ``by_level[offsets[k] + level]``), the rows'
    terms, then with ``gradient`` X' r (:func:`column_gradient`: grad (1, d + 1)) and r's
    sums by level into ``level_sums`` (laid out as ``by_level``), still in cache."""
    n = Xt.shape[1]
    parts = np.zeros(-(-n // chunk))
    least = cm.INF_BITS
    z = np.empty((1, chunk))
    r = np.empty((1, chunk))
    for start in range(0, n, chunk):
        b = min(start + chunk, n) - start
        column_logits(Xt, start, b, beta, c, z)
        z0, r0 = z[0], r[0]
        for k in range(codes.shape[0]):
            levels, at = codes[k, start:start + b], offsets[k]
            for i in range(b):
                z0[i] += by_level[at + levels[i]]
        loss, low, _ = _chunk_terms(z0[:b], y[start:start + b],
                                    w[start * step:start * step + b], r0)
        parts[start // chunk] = loss
        least = min(least, low)
        if gradient:
            column_gradient(Xt, start, b, r, grad)
            for k in range(codes.shape[0]):
                levels, at = codes[k, start:start + b], offsets[k]
                for i in range(b):
                    level_sums[at + levels[i]] += r0[i]
    return parts, cm.bits_float(least)


def column_logits(Xt, start, rows, W, c, E):
    """E[k, :rows] = c_k + sum_j W[k, j] Xt[j, start:start + rows], four columns of X at
    a time (each update of E shares four products; one thread, 300k x 50, K=5: the
    multinomial pass 37 ms against 43-47 ms a column at a time); the column passes'
    logits here (m = 1) and in compiled_softmax."""
    d, m = Xt.shape[0], W.shape[0]
    four = d - d % 4
    for k in range(m):
        E[k, :rows] = c[k]
    for j in range(0, four, 4):
        x0, x1 = Xt[j, start:start + rows], Xt[j + 1, start:start + rows]
        x2, x3 = Xt[j + 2, start:start + rows], Xt[j + 3, start:start + rows]
        for k in range(m):
            w0, w1, w2, w3 = W[k, j], W[k, j + 1], W[k, j + 2], W[k, j + 3]
            Ek = E[k]
            for i in range(rows):
                Ek[i] += x0[i] * w0 + x1[i] * w1 + x2[i] * w2 + x3[i] * w3
    for j in range(four, d):
        x = Xt[j, start:start + rows]
        for k in range(m):
            wkj = W[k, j]
            Ek = E[k]
            for i in range(rows):
                Ek[i] += x[i] * wkj


def column_gradient(Xt, start, rows, R, grad):
    """grad[:, :d] += R[:, :rows] Xt[:, start:start + rows]', grad[:, d] += R's row sums,
    four columns of X at a time (each read of R serves four sums)."""
    d, m = Xt.shape[0], R.shape[0]
    four = d - d % 4
    for j in range(0, four, 4):
        x0, x1 = Xt[j, start:start + rows], Xt[j + 1, start:start + rows]
        x2, x3 = Xt[j + 2, start:start + rows], Xt[j + 3, start:start + rows]
        for k in range(m):
            Rk = R[k]
            t0 = t1 = t2 = t3 = 0.0
            for i in range(rows):
                r = Rk[i]
                t0 += r * x0[i]
                t1 += r * x1[i]
                t2 += r * x2[i]
                t3 += r * x3[i]
            grad[k, j] += t0
            grad[k, j + 1] += t1
            grad[k, j + 2] += t2
            grad[k, j + 3] += t3
    for j in range(four, d):
        x = Xt[j, start:start + rows]
        for k in range(m):
            Rk = R[k]
            total = 0.0
            for i in range(rows):
                total += Rk[i] * x[i]
            grad[k, j] += total
    for k in range(m):
        total = 0.0
        for i in range(rows):
            total += R[k, i]
        grad[k, d] += total
