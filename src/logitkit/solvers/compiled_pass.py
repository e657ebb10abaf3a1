"""Fused, compiled value-and-gradient passes for binary logit fits (numba).

On X with few columns a NumPy pass spends most of its time outside reading X: in the
per-row ufuncs of :meth:`~logitkit.families.Binomial.block_derivatives` and in BLAS's
matrix-vector products, which on 10 columns run at a third of a plain loop's speed (one
thread, 3M x 10: ``X @ b`` 51 ms, a compiled loop 18 ms). Here a chunk of rows (small
enough to stay in the core's cache) takes two compiled sweeps: eta_i = x_i . beta + c;
then the loss sum (the same stable form: max(z, 0) - y z + log1p(exp(-|z|))), the least
row loss among rows of positive weight (for the separation check), and the gradient sums
X' r and sum r with r_i = w_i (p_i - y_i). In between, NumPy computes exp(-|z|) and its
log1p: its vectorised exp took 1.5 ns a row where numba's call of the scalar one took 4.9
(no SVML), and a single compiled sweep with scalar exp and log1p gained only 6% over
the NumPy pass. Sums add in row order within a chunk, so the paths agree to rounding.

On wide X (gradients above MAX_COLUMNS[1] columns) and float32 X, a NumPy gradient pass
reads X from memory twice (``X @ b``, then ``r @ X``); :func:`row_terms` reads each row
once: 16 rows at a time, their eta,
then their loss terms (scalar exp and log1p, cheap next to a wide row), then X' r while
the rows are in the first-level cache (one thread, 160 MB of X: NumPy / rows 1.5 at 100
float64 columns, 1.8 at 1000), in float64 whatever X's dtype.

Used by :meth:`Objective.loss_terms` for values and gradients (order <= 1) of the binomial
family without an offset on a NumPy X in C order (:func:`path` says which pass: chunks for
float64 X of at most :data:`MAX_COLUMNS` columns, rows for gradients of wider float64 X
and of float32 X up to :data:`MAX_ROW_COLUMNS` columns), when numba is available
(:func:`logitkit.solvers.compiled_loop.available`: installed, and not switched off by
``LOGITKIT_NUMBA=0``). Compiled once under compiled_loop's lock, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np

from logitkit.solvers import compiled_loop

# the widest float64 X whose pass takes the chunk loops (block_terms), by order (values;
# values and gradients): wider, BLAS's products or the row loop cost less (one thread,
# 3M rows, pass time NumPy / chunks: values 1.08 at 16 columns, 0.84 at 32; gradients,
# 160 MB of X, NumPy / chunks, NumPy / rows: 2.00, 1.39 at 10 columns; 1.44, 1.28 at 20;
# 1.26, 1.20 at 32 (benchmarks/pass_width.py). Gradients, 300 MB of X, ms a pass, chunks
# / rows in three runs of the tenth issue-12 session: 50 columns 54.9 / 55.3, 50.1 /
# 51.5, 57.1 / 58.7; 64: 49.2 / 59.7, 46.4 / 55.5, 49.1 / 58.4; 100: 45.4 / 53.4, 43.6 /
# 51.8, 44.8 / 54.6; 200: 41.5 / 43.8, 39.3 / 42.7, 42.7 / 47.6; 300: 39.4 / 35.8, 41.5 /
# 39.1; 400: 40.7 / 37.5, 37.8 / 33.9, 36.0 / 33.8)
MAX_COLUMNS = (16, 200)
# the widest X whose gradient pass takes the row loop (row_terms), float64 above
# MAX_COLUMNS[1] or float32: NumPy / rows 1.5 to 1.8 from 50 to 4000 float64 columns, 1.49
# at 10000; float32 (products in float64) 1.07 to 1.32 at 10 to 50 columns, 1.09 at 100,
# 1.42 to 1.47 at 1000-4000.
# Value passes stay on NumPy there: BLAS reads X once for them, and the row loop's scalar
# exp and log1p made them slower (NumPy / rows 0.64 to 1.17)
MAX_ROW_COLUMNS = 10_000
_KERNELS = None
# rows per compiled call: the block of X stays in the core's cache between the sweeps
CHUNK_BYTES = 2**19
# rows per chunk of :func:`row_terms` (16 x 100 float64 columns: 12.5 KiB)
ROWS_PER_CHUNK = 16
# bytes of X per chunk of :func:`column_terms` (a column's part of a chunk is contiguous)
COLUMN_CHUNK_BYTES = 2**17


def path(objective, order: int) -> str | None:
    """Which compiled pass ``objective``'s pass of this ``order`` takes here: "chunks"
    (:func:`block_terms`), "rows" (:func:`row_terms`), "columns" (:func:`column_terms`,
    gradients of X in column order), or None (the NumPy pass)."""
    from logitkit.families import Binomial

    X = objective.X
    if not (order <= 1 and type(objective.family) is Binomial and objective.offset is None
            and isinstance(X, np.ndarray) and X.ndim == 2
            and X.dtype in (np.float64, np.float32) and compiled_loop.available()):
        return None
    d = X.shape[1]
    if not X.flags.c_contiguous:
        columns = X.flags.f_contiguous and order == 1 and d <= MAX_ROW_COLUMNS
        return "columns" if columns else None
    if X.dtype == np.float64 and d <= MAX_COLUMNS[order]:
        return "chunks"
    return "rows" if order == 1 and d <= MAX_ROW_COLUMNS else None


def supports(objective, order: int) -> bool:
    """Whether ``objective``'s pass of this ``order`` runs compiled here."""
    return path(objective, order) is not None


def block_terms(Xb, y, w, beta, intercept: float, order: int, grad: np.ndarray, scratch):
    """(loss sum, least loss of a row of positive weight; inf if none) over the block
    Xb (b, d) float64 C order, y (b,), w (b,) at slopes ``beta`` (d,) and ``intercept``;
    for order 1 adds X' r to ``grad[:d]`` and sum r to ``grad[d]`` (grad (d + 1,) float64).
    ``scratch``: a :class:`~logitkit.families.base.Scratch` for three (b,) work arrays."""
    eta_of, sums = _kernels()[:2]
    z, t, log1p_t = scratch.arrays(3, Xb.shape[0])
    eta_of(Xb, beta, float(intercept), z)
    # t = exp(-|z|) in NumPy's vectorised exp (numba calls the scalar one), then log1p(t)
    np.abs(z, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=log1p_t)
    return sums(Xb, y, w, z, t, log1p_t, order >= 1, grad)


def row_terms(X, y, w, beta, intercept: float, order: int, grad: np.ndarray):
    """:func:`block_terms` over all rows of X (n, d) in one compiled call that reads each
    row from memory once (:func:`_rows`); X float64 or float32 in C order, ``beta`` (d,)
    float64. The chunks' loss sums are added pairwise (NumPy's sum): added one after
    another over 60,000 rows, the value's rounding noise was 20 times NumPy's pass's
    (2.7e-15 against 1.3e-16 near the optimum of a 60,000 x 2000 fit), and scipy's
    L-BFGS-B spent 49 extra evaluations in line searches there."""
    parts, least = _kernels()[2](X, y, w, beta, float(intercept), order >= 1, grad,
                                 ROWS_PER_CHUNK)
    return float(np.sum(parts)), least


def column_terms(X, y, w, beta, intercept: float, grad: np.ndarray):
    """:func:`row_terms` (order 1) for X (n, d) in column order (Fortran; a pandas
    DataFrame's one float64 block is such a view): chunks of COLUMN_CHUNK_BYTES of rows,
    each read from memory once: eta column by column, the rows' loss terms and r, then
    X' r column by column while the chunk is in the core's cache (:func:`_columns`)."""
    rows = max(64, COLUMN_CHUNK_BYTES // (X.dtype.itemsize * max(1, X.shape[1])))
    parts, least = _kernels()[3](X, y, w, beta, float(intercept), grad, rows)
    return float(np.sum(parts)), least


def _kernels():
    """(eta, sums, rows, columns), compiled on first use under compiled_loop's lock."""
    global _KERNELS
    with compiled_loop._LOCK:
        if _KERNELS is None:
            import numba

            # a row's dot product and the column sums may add in any order (SIMD lanes)
            jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
            globals()["four_dots"] = jit(four_dots)
            _KERNELS = jit(_eta), jit(_sums), jit(_rows), jit(_columns)
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


def _eta(X, beta, c, z):
    """z (b,) = X beta + c (a loop: faster than BLAS's matrix-vector product on few
    columns)."""
    n, d = X.shape
    for i in range(n):
        e = 0.0
        for j in range(d):
            e += X[i, j] * beta[j]
        z[i] = e + c


def _sums(X, y, w, z, t, log1p_t, gradient, grad):
    """The loss sum and least row loss from eta ``z``, t = exp(-|z|) and log1p(t) in the
    stable form of Binomial.block_derivatives; with ``gradient``, X' r into grad[:d] and
    sum r into grad[d], r = w (p - y)."""
    n, d = X.shape
    loss = 0.0
    least = math.inf
    g = np.zeros(d)
    gc = 0.0
    for i in range(n):
        zi, yi, wi = z[i], np.float64(y[i]), np.float64(w[i])
        row = log1p_t[i] + (max(zi, 0.0) - yi * zi)
        loss += wi * row
        if wi > 0.0 and row < least:
            least = row
        if gradient:
            inv = 1.0 / (1.0 + t[i])
            r = ((inv if zi >= 0.0 else t[i] * inv) - yi) * wi
            gc += r
            for j in range(d):
                g[j] += r * X[i, j]
    if gradient:
        for j in range(d):
            grad[j] += g[j]
        grad[d] += gc
    return loss, least


def _rows(X, y, w, beta, c, gradient, grad, chunk):
    """:func:`_sums` from X (n, d) float64 or float32 directly, ``chunk`` rows at a time
    (the loss summed per chunk: returns (chunk sums, least row loss)):
    their eta (four rows' dot products at once), then each row's loss terms and r (scalar
    exp and log1p: on wide rows they cost little next to reading the row), then
    X' r over the chunk while its rows are in the core's first-level cache. Products and
    sums in float64 (a float32 X's entries converted as they are read): with eta in
    float32, as BLAS computes it, scipy's L-BFGS-B ended its line search ABNORMAL at max
    |gradient| 1.4e-6 on the float32 problem of tests/test_solver_paths.py (tol 1e-8)."""
    n, d = X.shape
    parts = np.zeros(-(-n // chunk))
    least = math.inf
    g = np.zeros(d)
    gc = 0.0
    z = np.empty(chunk)
    r = np.empty(chunk)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        i = start
        while i + 4 <= stop:
            e0, e1, e2, e3 = four_dots(X, i, beta)
            k = i - start
            z[k], z[k + 1] = e0 + c, e1 + c
            z[k + 2], z[k + 3] = e2 + c, e3 + c
            i += 4
        while i < stop:
            e = 0.0
            for j in range(d):
                e += X[i, j] * beta[j]
            z[i - start] = e + c
            i += 1
        for i in range(start, stop):
            zi, yi, wi = z[i - start], np.float64(y[i]), np.float64(w[i])
            t = math.exp(-abs(zi))
            row = math.log1p(t) + (max(zi, 0.0) - yi * zi)
            parts[start // chunk] += wi * row
            if wi > 0.0 and row < least:
                least = row
            if gradient:
                inv = 1.0 / (1.0 + t)
                ri = ((inv if zi >= 0.0 else t * inv) - yi) * wi
                gc += ri
                r[i - start] = ri
        if not gradient:
            continue
        i = start
        while i + 4 <= stop:
            k = i - start
            r0, r1, r2, r3 = r[k], r[k + 1], r[k + 2], r[k + 3]
            x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
            for j in range(d):
                g[j] += (r0 * x0[j] + r1 * x1[j]) + (r2 * x2[j] + r3 * x3[j])
            i += 4
        while i < stop:
            ri = r[i - start]
            for j in range(d):
                g[j] += ri * X[i, j]
            i += 1
    if gradient:
        for j in range(d):
            grad[j] += g[j]
        grad[d] += gc
    return parts, least


def _columns(X, y, w, beta, c, grad, chunk):
    """:func:`_rows` (with the gradient) for X (n, d) in column order, ``chunk`` rows at a
    time: eta over the chunk four columns at a time (each column's part contiguous in
    X), the rows' loss terms and r, then X' r four columns at a time over the chunk,
    still in cache."""
    n, d = X.shape
    parts = np.zeros(-(-n // chunk))
    least = math.inf
    z = np.empty(chunk)
    r = np.empty(chunk)
    gc = 0.0
    for start in range(0, n, chunk):
        b = min(start + chunk, n) - start
        for k in range(b):
            z[k] = c
        j = 0
        while j + 4 <= d:
            b0, b1, b2, b3 = beta[j], beta[j + 1], beta[j + 2], beta[j + 3]
            x0, x1 = X[start:start + b, j], X[start:start + b, j + 1]
            x2, x3 = X[start:start + b, j + 2], X[start:start + b, j + 3]
            for k in range(b):
                z[k] += (x0[k] * b0 + x1[k] * b1) + (x2[k] * b2 + x3[k] * b3)
            j += 4
        while j < d:
            x0, b0 = X[start:start + b, j], beta[j]
            for k in range(b):
                z[k] += x0[k] * b0
            j += 1
        loss = 0.0
        for k in range(b):
            zk, yk, wk = z[k], np.float64(y[start + k]), np.float64(w[start + k])
            t = math.exp(-abs(zk))
            row = math.log1p(t) + (max(zk, 0.0) - yk * zk)
            loss += wk * row
            if wk > 0.0 and row < least:
                least = row
            inv = 1.0 / (1.0 + t)
            rk = ((inv if zk >= 0.0 else t * inv) - yk) * wk
            gc += rk
            r[k] = rk
        parts[start // chunk] = loss
        j = 0
        while j + 4 <= d:
            x0, x1 = X[start:start + b, j], X[start:start + b, j + 1]
            x2, x3 = X[start:start + b, j + 2], X[start:start + b, j + 3]
            s0 = s1 = s2 = s3 = 0.0
            for k in range(b):
                rk = r[k]
                s0 += x0[k] * rk
                s1 += x1[k] * rk
                s2 += x2[k] * rk
                s3 += x3[k] * rk
            grad[j] += s0
            grad[j + 1] += s1
            grad[j + 2] += s2
            grad[j + 3] += s3
            j += 4
        while j < d:
            x0, s0 = X[start:start + b, j], 0.0
            for k in range(b):
                s0 += x0[k] * r[k]
            grad[j] += s0
            j += 1
    grad[d] += gc
    return parts, least
