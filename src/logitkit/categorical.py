"""A design of numeric columns and categorical columns held as level codes (tabmat-like).

The one-hot columns of a categorical column are never formed: with its codes c_i (0 the
reference level, which has no column), X @ w gathers w at the rows' levels, V' X adds V
up per level (``np.bincount``), and X' diag(w) X is a diagonal block per column (the
weight of each level), a level x level table between two categorical columns (a 2-D
bincount) and level sums of w * x_j against numeric columns. Memory is the numeric
columns (views of the DataFrame's own storage where their dtype allows) and the codes
(the Categorical's own codes where its categories are the fitted levels, else int8 or
int16 copies), plus temporaries of one row block. With numba the gathers, per-level
sums and level tables run in compiled loops (:mod:`logitkit.solvers.compiled_categorical`,
which needs all codes side by side: :meth:`CategoricalDesign.code_matrix`, one copy).
"""

from __future__ import annotations

import numpy as np

from logitkit.design import Design
from logitkit.solvers import compiled_categorical, compiled_loop

# a design longer than this is processed in row chunks (no (n, ...) temporaries)
_CHUNK_ROWS = 8192
# rows of a Gram product's level tables at a time (its temporaries: 16 (2 + n_numeric)
# bytes a row)
_GRAM_ROWS = 2048


def code_dtype(n_levels: int) -> np.dtype:
    """The smallest signed integer dtype that holds codes 0 .. n_levels - 1."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_levels <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def stacked_view(columns) -> np.ndarray | None:
    """(k, n) view of k (n,) arrays that are evenly spaced rows of one C-contiguous 2-D
    array of one dtype (a DataFrame's consolidated block), else None."""
    if not columns:
        return None
    base = columns[0].base
    if not (isinstance(base, np.ndarray) and base.ndim == 2 and base.flags.c_contiguous
            and all(c.base is base and c.dtype == base.dtype and c.flags.c_contiguous
                    and c.shape == base.shape[1:] for c in columns)):
        return None
    start = base.__array_interface__["data"][0]
    rows = [(c.__array_interface__["data"][0] - start) // base.strides[0] for c in columns]
    step = rows[1] - rows[0] if len(rows) > 1 else 1
    if step <= 0 or rows != list(range(rows[0], rows[0] + step * len(rows), step)):
        return None
    return base[rows[0]: rows[-1] + 1: step]


class _Layout:
    """Where a CategoricalDesign's columns and level tables go, shared by its blocks.

    Gram products come from one ``np.bincount`` over "slots": for each categorical
    column c a (1 + n_numeric, sizes[c]) table (level sums of w, then of w * x_j), then
    for each pair c < e a (sizes[c], sizes[e]) table of w; ``source`` and ``target`` scatter
    the slots of the non-reference levels into the flat (d, d) Gram matrix (both
    triangles).
    """

    def __init__(self, numeric_at, sizes, starts, d):
        self.numeric_at = np.asarray(numeric_at, dtype=np.intp)
        self.sizes = np.asarray(sizes, dtype=np.intp)
        self.starts = np.asarray(starts, dtype=np.intp)
        self.d = int(d)
        self.levels = [s + np.arange(size - 1) for s, size in zip(self.starts, self.sizes,
                                                                   strict=True)]
        # (sizes[c],) design column of each level, d for the reference level
        self.lookup = [np.concatenate([[self.d], cols]).astype(np.intp) for cols in self.levels]
        # every column's levels end to end (column c's level l at level_offsets[c] + l):
        # their design columns (d for reference levels), for the compiled loops
        self.level_offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)
        self.level_columns = (np.concatenate(self.lookup) if self.lookup
                              else np.zeros(0, np.intp))
        # the non-reference levels: their places end to end, and their design columns
        self.level_slots = np.flatnonzero(self.level_columns != self.d)
        self.level_targets = self.level_columns[self.level_slots]
        width = len(self.numeric_at) + 1
        source, target, offsets = [], [], []
        offset = 0
        for c, size in enumerate(self.sizes):
            offsets.append(offset)
            cols = self.levels[c]
            slots = offset + np.arange(1, size)
            source += [slots]
            target += [cols * self.d + cols]  # the diagonal
            for j, column in enumerate(self.numeric_at):
                source += [slots + (j + 1) * size] * 2
                target += [column * self.d + cols, cols * self.d + column]
            offset += width * size
        self.table_offsets = np.asarray(offsets, dtype=np.intp)
        pair_offsets = []
        for c, size in enumerate(self.sizes):
            for e in range(c + 1, len(self.sizes)):
                size_e = self.sizes[e]
                pair_offsets.append(offset)
                slots = offset + (np.arange(1, size)[:, None] * size_e
                                  + np.arange(1, size_e)[None, :])
                rows, cols = np.meshgrid(self.levels[c], self.levels[e], indexing="ij")
                source += [slots.ravel()] * 2
                target += [(rows * self.d + cols).ravel(), (cols * self.d + rows).ravel()]
                offset += size * size_e
        self.pair_offsets = np.asarray(pair_offsets, dtype=np.intp)
        self.n_slots = offset
        self.source = np.concatenate(source) if source else np.zeros(0, np.intp)
        self.target = np.concatenate(target) if target else np.zeros(0, np.intp)


class CategoricalDesign(Design):
    """(n, d) design with numeric and one-hot columns in any order, one-hot ones as codes.

    numeric: (n,) arrays, one per numeric column (any real dtype; used as float64);
    numeric_at: their design columns. codes: (n,) integer arrays, one per categorical
    column, level l in 0 .. sizes[c] - 1 (0 the reference level); level l >= 1 of
    column c is design column starts[c] + l - 1. d: the number of design columns.
    Minibatch solvers make each batch dense (``toarray()``: b rows).
    """

    def __init__(self, numeric, numeric_at, codes, sizes, starts, d: int, layout=None):
        # (n_numeric, n) rows of one array (a view of a DataFrame's block), or (n,) arrays
        self.numeric = numeric if isinstance(numeric, np.ndarray) else tuple(numeric)
        self.codes = tuple(codes)
        self.layout = _Layout(numeric_at, sizes, starts, d) if layout is None else layout
        self.numeric_at, self.sizes = self.layout.numeric_at, self.layout.sizes
        self.starts, self.d = self.layout.starts, self.layout.d
        columns = tuple(self.numeric) + self.codes
        self.n = len(columns[0]) if columns else 0
        self._cache = {}

    # -- layout -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.d)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in tuple(self.numeric) + self.codes)

    @property
    def row_width(self) -> int:
        """The numbers a row holds: its numeric columns and codes (not the one-hot width
        d; blocks sized by d had 74 blocks a pass over 300k rows x (5 x 50 levels + 10
        numeric), each a (d, d) Gram scatter in a Hessian pass)."""
        return max(1, len(self.numeric_at) + len(self.codes))

    def _like(self, numeric, codes) -> CategoricalDesign:
        return CategoricalDesign(numeric, None, codes, None, None, self.d, self.layout)

    def __getitem__(self, rows) -> CategoricalDesign:
        if isinstance(rows, tuple):
            raise TypeError("a CategoricalDesign selects rows only (X[rows]); make a block "
                            "dense with toarray() to select columns")
        numeric = (self.numeric[:, rows] if isinstance(self.numeric, np.ndarray)
                   else [a[rows] for a in self.numeric])
        return self._like(numeric, [c[rows] for c in self.codes])


    # -- per-block arrays, made once per block ------------------------------------------
    def _columns(self) -> np.ndarray:
        """(n_numeric, n) float64 numeric columns, one per row (contiguous)."""
        if "columns" not in self._cache:
            if isinstance(self.numeric, np.ndarray):  # each row contiguous, for BLAS
                out = self.numeric.astype(np.float64, copy=False)
                if out.strides[1] != out.itemsize:
                    out = np.ascontiguousarray(out)
            else:
                out = np.empty((len(self.numeric), self.n))
                for j, values in enumerate(self.numeric):
                    out[j] = values
            self._cache["columns"] = out
        return self._cache["columns"]

    def _local(self, c: int) -> np.ndarray:
        """(n,) intp codes of categorical column c."""
        key = ("local", c)
        if key not in self._cache:
            self._cache[key] = self.codes[c].astype(np.intp)
        return self._cache[key]

    def _index(self, c: int) -> np.ndarray:
        """(n,) intp design column of each row's level of column c; d (a column past the
        design, a zero row of the padded operands) for the reference level."""
        key = ("index", c)
        if key not in self._cache:
            self._cache[key] = self.layout.lookup[c][self._local(c)]
        return self._cache[key]

    def code_matrix(self) -> np.ndarray:
        """(n_categorical, n) codes of every categorical column, in the smallest dtype
        that holds them all (a copy, made once; for compiled passes)."""
        if "code matrix" not in self._cache:
            dtype = code_dtype(int(max(self.sizes)))
            out = np.empty((len(self.codes), self.n), dtype=dtype)
            for c, codes in enumerate(self.codes):
                out[c] = codes
            self._cache["code matrix"] = out
        return self._cache["code matrix"]

    def _chunks(self, size: int = _CHUNK_ROWS):
        for start in range(0, self.n, size):
            yield slice(start, min(start + size, self.n))

    # -- products ---------------------------------------------------------------------
    def matmul(self, B: np.ndarray) -> np.ndarray:
        B = np.asarray(B, dtype=np.float64)
        if self.n > _CHUNK_ROWS:
            out = np.empty((self.n,) + B.shape[1:])
            for rows in self._chunks():
                out[rows] = self[rows].matmul(B)
            return out
        out = self._columns().T @ B[self.numeric_at]
        padded = np.concatenate([B, np.zeros((1,) + B.shape[1:])])
        if compiled_loop.available():
            compiled_categorical.add_level_rows(self, padded[self.layout.level_columns], out)
            return out
        for c in range(len(self.codes)):
            out += padded[self.layout.lookup[c]][self._local(c)]
        return out

    def rmatmul(self, V: np.ndarray) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        vector = V.ndim == 1
        V2 = V[None, :] if vector else V
        if self.n > _CHUNK_ROWS:
            out = sum(self[rows].rmatmul(V2[:, rows]) for rows in self._chunks())
            return out[0] if vector else out
        out = np.empty((V2.shape[0], self.d))
        out[:, self.numeric_at] = V2 @ self._columns().T
        k = V2.shape[0]
        if compiled_loop.available():
            sums = compiled_categorical.level_sums(self, V2)
            out[:, self.layout.level_targets] = sums[:, self.layout.level_slots]
            return out[0] if vector else out
        for c, size in enumerate(self.sizes):
            local, levels = self._local(c), self.layout.levels[c]
            if k == 1:
                out[0, levels] = np.bincount(local, weights=V2[0], minlength=size)[1:]
            else:  # one bincount for all k rows of V: slot = row of V * size + level
                slots = local + (size * np.arange(k))[:, None]
                sums = np.bincount(slots.ravel(), weights=V2.ravel(), minlength=k * size)
                out[:, levels] = sums.reshape(k, size)[:, 1:]
        return out[0] if vector else out

    def weighted_gram(self, w: np.ndarray) -> np.ndarray:
        return self.weighted_grams(np.asarray(w, dtype=np.float64)[None, :])[0]

    def weighted_grams(self, W: np.ndarray) -> np.ndarray:
        """(r, d, d) float64 X' diag(W[i]) X for (r, n) weights: each table's bincount
        serves all r weight vectors."""
        W = np.asarray(W, dtype=np.float64)
        lay, r = self.layout, W.shape[0]
        counts = np.zeros((r, lay.n_slots))
        if compiled_loop.available():  # one compiled loop over the rows
            numeric = compiled_categorical.level_tables(self, W, counts)
        else:
            numeric = np.zeros((r,) + (len(self.numeric_at),) * 2)
            # equal chunks of at most _GRAM_ROWS / r rows: bounded temporaries
            limit = max(256, _GRAM_ROWS // r)
            size = -(-self.n // max(1, -(-self.n // limit)))
            for rows in self._chunks(size):
                block = self if size >= self.n else self[rows]
                numeric += block._add_tables(W[:, rows], counts)
        G = np.zeros((r, self.d, self.d))
        at = self.numeric_at
        G[:, at[:, None], at[None, :]] = numeric
        G.reshape(r, -1)[:, lay.target] = counts[:, lay.source]
        return G

    def _add_tables(self, W, counts) -> np.ndarray:
        """Add this block's level tables for weights W (r, n) to ``counts`` (r, the
        layout's slots); returns the numeric x numeric parts X_num' diag(W[i]) X_num."""
        num, lay, r = self._columns(), self.layout, W.shape[0]
        Z = W[:, None, :] * num  # (r, n_numeric, n)
        weights = np.concatenate([W[:, None, :], Z], axis=1)  # (r, 1 + n_numeric, n)
        width = weights.shape[1]
        for c, size in enumerate(self.sizes):
            slots = self._local(c) + (size * np.arange(r * width))[:, None]
            start = lay.table_offsets[c]
            sums = np.bincount(slots.ravel(), weights=weights.ravel(),
                               minlength=r * width * size)
            counts[:, start:start + width * size] += sums.reshape(r, width * size)
        pair = 0
        for c, size in enumerate(self.sizes):
            for e in range(c + 1, len(self.codes)):
                size_e, start = self.sizes[e], lay.pair_offsets[pair]
                slots = (self._local(c) * size_e + self._local(e)
                         + (size * size_e * np.arange(r))[:, None])
                sums = np.bincount(slots.ravel(), weights=W.ravel(),
                                   minlength=r * size * size_e)
                counts[:, start:start + size * size_e] += sums.reshape(r, size * size_e)
                pair += 1
        return Z @ num.T

    def quadratic_form(self, B: np.ndarray) -> np.ndarray:
        B = np.asarray(B, dtype=np.float64)
        if self.n > _CHUNK_ROWS:
            return np.concatenate([self[rows].quadratic_form(B) for rows in self._chunks()])
        num, at = self._columns(), self.numeric_at
        padded = np.zeros((self.d + 1, self.d + 1))
        padded[: self.d, : self.d] = B
        quad = np.einsum("ji,ji->i", B[np.ix_(at, at)] @ num, num)
        numeric_rows = padded[:, at]  # (d + 1, n_numeric)
        for c in range(len(self.codes)):
            index = self._index(c)
            quad += 2.0 * np.einsum("ij,ji->i", numeric_rows[index], num)
            quad += padded[index, index]
            for e in range(c + 1, len(self.codes)):
                quad += 2.0 * padded[index, self._index(e)]
        return quad

    def square(self) -> CategoricalDesign:
        """X * X: numeric columns squared (one-hot columns are their own squares); for row
        blocks (the squares are a dense (n_numeric, n) array)."""
        return self._like(np.square(self._columns()), self.codes)

    def toarray(self) -> np.ndarray:
        out = np.zeros((self.n, self.d))
        out[:, self.numeric_at] = self._columns().T
        rows = np.arange(self.n)
        for c in range(len(self.codes)):
            present = self.codes[c] > 0
            out[rows[present], self._index(c)[present]] = 1.0
        return out
