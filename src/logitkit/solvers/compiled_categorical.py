"""Fused, compiled value-and-gradient passes of binary logit fits over a
:class:`~logitkit.categorical.CategoricalDesign` (numba).

The NumPy pass over such a design makes eta from the numeric columns' product and one
gather per categorical column, the rows' terms in ufuncs over the block, then X' r as a
product and one ``np.bincount`` per categorical column: each step a temporary of the
block. Here the pass is compiled_pass's column pass
(:func:`~logitkit.solvers.compiled_pass.columns_kernel`) over the numeric columns with
the level codes beside them: each chunk of rows, while in cache, gets eta from the
numeric columns four at a time plus each categorical column's coefficient at the rows'
levels, the rows' terms, then X' r from the numeric columns and, per categorical column,
r added up at the rows' levels.

Used by :meth:`Objective.loss_terms` (through :func:`logitkit.solvers.compiled_pass.path`)
for value and gradient passes of the binomial family without an offset, when numba is
available. The numeric columns are read where they are when they are one float64 or
float32 array in C order (a DataFrame's block); others (columns of several dtypes or
blocks) are copied into float64, PIECE_BYTES at a time.

:func:`level_tables` gives the design's Gram products' level tables
(:meth:`CategoricalDesign.weighted_grams`) from one compiled loop over the rows, where
NumPy makes one ``np.bincount`` over (rows x weights x (1 + n_numeric)) slots per
categorical column and one per pair.
"""

from __future__ import annotations

import numpy as np

from logitkit.solvers import compiled_loop, compiled_pass

# bytes of float64 numeric columns copied at a time when they are not one array
PIECE_BYTES = 2**22
# rows of :func:`_tables`' chunks
TABLE_ROWS = 1024
_TABLES = None
_SMALL = None


def takes(X) -> bool:
    """Whether X is a categorical design (whose passes run here)."""
    from logitkit.categorical import CategoricalDesign

    return isinstance(X, CategoricalDesign)


def design_terms(X, y, w, beta, intercept: float, order: int, grad: np.ndarray):
    """:func:`~logitkit.solvers.compiled_pass.row_terms` for a categorical design X (n,
    d): (loss sum, least row loss); for order 1 adds X' r to ``grad[:d]`` and sum r to
    ``grad[d]``."""
    layout, offsets = X.layout, X.layout.level_offsets
    # the coefficients of every column's levels (0 for reference levels), end to end
    by_level = np.concatenate([beta, [0.0]])[layout.level_columns]
    level_sums = np.zeros(len(by_level))
    numeric_grad = np.zeros((1, len(layout.numeric_at) + 1))
    parts, least = [], np.inf
    for rows, numeric, codes in _pieces(X):
        sums, low = compiled_pass.columns_kernel(
            numeric, codes, offsets, by_level, y[rows], w[rows], beta[layout.numeric_at],
            intercept, order >= 1, numeric_grad, level_sums)
        parts.append(sums)
        least = min(least, low)
    if order >= 1:
        grad[layout.numeric_at] += numeric_grad[0, :-1]
        grad[-1] += numeric_grad[0, -1]
        grad[layout.level_targets] += level_sums[layout.level_slots]
    return (float(np.sum(np.concatenate(parts))) if parts else 0.0), least


def _pieces(X):
    """(rows, numeric (n_numeric, b), codes (n_categorical, b)) of X's rows, each in C
    order: all rows at once when X's numeric columns are one float64 or float32 array in
    C order (a DataFrame's block), else PIECE_BYTES of rows at a time, their numeric
    columns copied into float64 (columns of several dtypes or blocks)."""
    numeric, codes = X.numeric, X.code_matrix()
    if (isinstance(numeric, np.ndarray) and numeric.dtype in (np.float64, np.float32)
            and numeric.flags.c_contiguous):
        yield slice(0, X.n), numeric, codes
        return
    size = max(64, PIECE_BYTES // (8 * max(1, len(X.numeric_at))))
    buffer = np.empty((len(X.numeric_at), min(size, X.n)))
    for start in range(0, X.n, size):
        rows = slice(start, min(start + size, X.n))
        piece = buffer[:, : rows.stop - start]
        for j, column in enumerate(numeric):
            piece[j] = column[rows]
        yield rows, piece, np.ascontiguousarray(codes[:, rows])


def level_tables(X, W, counts) -> np.ndarray:
    """Add X's level tables for weights W (r, n) to ``counts`` (r, the layout's slots:
    :class:`~logitkit.categorical._Layout`); returns (r, n_numeric, n_numeric) the
    numeric columns' Gram products X_num' diag(W[k]) X_num (BLAS, PIECE_BYTES of rows
    at a time)."""
    layout, n_numeric = X.layout, len(X.layout.numeric_at)
    numeric_gram = np.zeros((W.shape[0], n_numeric, n_numeric))
    step = max(64, PIECE_BYTES // (8 * max(1, n_numeric)))
    for rows, numeric, codes in _pieces(X):
        piece = W[:, rows]
        _tables_kernel()(numeric, codes, np.ascontiguousarray(piece), counts,
                         layout.sizes, layout.table_offsets, layout.pair_offsets)
        for start in range(0, numeric.shape[1], step):  # temporaries of PIECE_BYTES
            part = numeric[:, start:start + step].astype(np.float64, copy=False)
            for k, weights in enumerate(piece):
                numeric_gram[k] += (part * weights[start:start + step]) @ part.T
    return numeric_gram


def add_level_rows(X, by_level, out) -> None:
    """out (n,) or (n, k) += the rows of ``by_level`` (L,) or (L, k) at each row's levels,
    summed over X's categorical columns (``by_level`` laid out as the layout's
    ``level_columns``): the categorical part of X B."""
    by_level = np.ascontiguousarray(by_level)
    if out.ndim == 1:
        out, by_level = out[:, None], by_level[:, None]
    _small_kernels()[0](X.code_matrix(), X.layout.level_offsets, by_level, out)


def level_sums(X, V) -> np.ndarray:
    """(k, L) V's rows summed by level of each categorical column, for V (k, n), laid
    out as the layout's ``level_columns``: the categorical part of V X."""
    sums = np.zeros((V.shape[0], len(X.layout.level_columns)))
    _small_kernels()[1](X.code_matrix(), X.layout.level_offsets,
                        np.ascontiguousarray(V), sums)
    return sums


def _small_kernels():
    """(:func:`_gather`, :func:`_scatter`), compiled on first use under compiled_loop's
    lock."""
    global _SMALL
    with compiled_loop._LOCK:
        if _SMALL is None:
            import numba

            jit = numba.njit(cache=True, nogil=True)
            _SMALL = jit(_gather), jit(_scatter)
    return _SMALL


def _gather(codes, offsets, by_level, out):
    """out[i] += by_level[offsets[c] + codes[c, i]] for every categorical column c."""
    for c in range(codes.shape[0]):
        levels, at = codes[c], offsets[c]
        for i in range(out.shape[0]):
            row = by_level[at + levels[i]]
            for k in range(out.shape[1]):
                out[i, k] += row[k]


def _scatter(codes, offsets, V, sums):
    """sums[k, offsets[c] + codes[c, i]] += V[k, i] for every categorical column c."""
    for k in range(V.shape[0]):
        v, s = V[k], sums[k]
        for c in range(codes.shape[0]):
            levels, at = codes[c], offsets[c]
            for i in range(v.shape[0]):
                s[at + levels[i]] += v[i]


def _tables_kernel():
    """:func:`_tables`, compiled on first use under compiled_loop's lock."""
    global _TABLES
    with compiled_loop._LOCK:
        if _TABLES is None:
            import numba

            _TABLES = numba.njit(cache=True, nogil=True)(_tables)
    return _TABLES


def _tables(numeric, codes, W, counts, sizes, table_offsets, pair_offsets):
    """counts[k] += the level tables of the rows for weights W[k] (W (r, n)): for
    categorical column c, W at slot table_offsets[c] + level and W x_j at that slot plus
    (j + 1) sizes[c]; for a pair c < e, W at pair_offsets[pair] + level_c sizes[e] +
    level_e. TABLE_ROWS rows at a time, a table at a time (each table stays in the
    core's first cache while the chunk's rows are added to it)."""
    n_numeric, n_categorical, n = numeric.shape[0], codes.shape[0], W.shape[1]
    for k in range(W.shape[0]):
        table = counts[k]
        for start in range(0, n, TABLE_ROWS):
            stop = min(start + TABLE_ROWS, n)
            pair = 0
            for c in range(n_categorical):
                size, at = sizes[c], table_offsets[c]
                levels = codes[c]
                for i in range(start, stop):
                    table[at + levels[i]] += W[k, i]
                for j in range(n_numeric):
                    x, slot = numeric[j], at + (j + 1) * size
                    for i in range(start, stop):
                        table[slot + levels[i]] += W[k, i] * x[i]
                for e in range(c + 1, n_categorical):
                    other, size_e, slot = codes[e], sizes[e], pair_offsets[pair]
                    for i in range(start, stop):
                        table[slot + levels[i] * size_e + other[i]] += W[k, i]
                    pair += 1
