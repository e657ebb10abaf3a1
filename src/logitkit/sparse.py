"""``scipy.sparse`` design matrices: validation, and the block products the objective needs.

A CSR matrix (a ``scipy.sparse`` array or matrix) is wrapped as a :class:`SparseDesign`,
which the objective, the curvature operators, the aliasing and separation checks and
predict use through the :class:`~logitkit.design.Design` interface, so that sparse X
follows the code of :class:`~logitkit.categorical.CategoricalDesign`. X is never made
dense: memory is its stored entries plus what one row block needs (a minibatch step
multiplies its few rows sparse too). A CSC matrix is converted to CSR once (a copy of its
stored entries: the passes read rows); float32 data stay float32 (products in float32,
sums in float64, as for dense X).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from logitkit.design import Design
from logitkit.messages import row_name

ACCEPTED_FORMATS = ("csr", "csc")
# dense temporaries of a product (X B in quadratic forms) stay within this many bytes
_DENSE_BYTES = 8 * 2**20


def _compressed(kind, data, indices, indptr, shape, canonical: bool):
    """A ``kind`` (csr_array or csc_array) over these arrays themselves, ``canonical``
    when known to be: scipy's constructor would copy views of a larger array (its prune),
    once per block."""
    out = kind(shape, dtype=data.dtype)
    out.data, out.indices, out.indptr = data, indices, indptr
    if canonical:  # (else scipy checks when asked)
        out.has_sorted_indices = out.has_canonical_format = True
    return out


class SparseDesign(Design):
    """(n, d) design held as a ``scipy.sparse.csr_array`` of float32 or float64 values
    (the caller's arrays, not copied)."""

    # X[a:b] is a view of the stored arrays (no copy): blocks are sized by the passes'
    # own temporaries (logitkit.objective)
    row_views = True

    def __init__(self, matrix: sp.csr_array):
        self.matrix = matrix
        self.dtype = matrix.dtype

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def nbytes(self) -> int:
        m = self.matrix
        return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes

    @property
    def row_width(self) -> int:
        """Stored entries per row (at least 1): what a row block's products read."""
        n, _ = self.shape
        return max(1, -(-self.matrix.nnz // max(n, 1)))

    def __getitem__(self, rows) -> SparseDesign:
        if isinstance(rows, tuple):
            raise TypeError("a SparseDesign selects rows only (X[rows])")
        if isinstance(rows, slice) and rows.step in (None, 1):
            # a run of rows: views of the stored values and indices (scipy's slicing and
            # constructor copy them), and a shifted copy of the b + 1 row pointers
            start, stop, _ = rows.indices(self.shape[0])
            stop = max(start, stop)
            m = self.matrix
            first, last = m.indptr[start], m.indptr[stop]
            return SparseDesign(_compressed(sp.csr_array, m.data[first:last],
                                            m.indices[first:last],
                                            m.indptr[start:stop + 1] - first,
                                            (stop - start, self.shape[1]),
                                            m.has_canonical_format))
        return SparseDesign(self.matrix[rows])

    def _row_ids(self, matrix=None) -> np.ndarray:
        """(nnz,) the row of each stored entry (of X, or of ``matrix``, rows like X's)."""
        indptr = (self.matrix if matrix is None else matrix).indptr
        return np.repeat(np.arange(self.shape[0]), np.diff(indptr))

    # -- products ---------------------------------------------------------------------
    def matmul(self, B: np.ndarray) -> np.ndarray:
        return self.matrix @ B

    def rmatmul(self, V: np.ndarray) -> np.ndarray:
        # X' V' through the CSC view of X's arrays (no copy); (k, d) for V (k, n)
        m = self.matrix
        transposed = _compressed(sp.csc_array, m.data, m.indices, m.indptr, m.shape[::-1],
                                 m.has_canonical_format)
        return (transposed @ V.T).T

    def _scaled_rows(self, w) -> sp.csr_array:
        """diag(w) X in X's dtype (a copy of the stored values)."""
        m = self.matrix
        data = m.data * np.repeat(np.asarray(w, dtype=m.dtype), np.diff(m.indptr))
        return sp.csr_array((data, m.indices, m.indptr), shape=m.shape)

    def weighted_gram(self, w: np.ndarray) -> np.ndarray:
        product = self.matrix.T @ self._scaled_rows(w)  # sparse (d, d), in X's dtype
        return product.toarray().astype(np.float64, copy=False)

    def quadratic_form(self, B: np.ndarray) -> np.ndarray:
        n, d = self.shape
        B = np.asarray(B, dtype=np.float64)
        size = max(1, _DENSE_BYTES // (8 * max(d, 1)))  # rows of X B at a time
        if n > size:
            return np.concatenate([self[start:start + size].quadratic_form(B)
                                   for start in range(0, n, size)])
        m = self.matrix
        XB = np.asarray(m @ B)  # (b, d)
        rows = self._row_ids()
        return np.bincount(rows, weights=m.data * XB[rows, m.indices], minlength=n)

    def _canonical(self) -> sp.csr_array:
        """X with duplicate entries summed (a copy only where X has duplicates), for the
        products that are not linear in the stored values."""
        m = self.matrix
        if not m.has_canonical_format:
            m = m.copy()
            m.sum_duplicates()
        return m

    def square(self) -> SparseDesign:
        m = self._canonical()
        return SparseDesign(sp.csr_array((m.data * m.data, m.indices, m.indptr),
                                         shape=m.shape))

    def centred_square_sums(self, w: np.ndarray, means: np.ndarray) -> np.ndarray:
        """sum_i w_i (x_ij - means_j)^2 from the stored entries: (x - mean)^2 where an
        entry is stored, mean^2 times the weight of the rows where it is not."""
        m = self._canonical()
        w_entries = np.asarray(w, dtype=np.float64)[self._row_ids(m)]
        d = self.shape[1]
        centred = m.data.astype(np.float64) - means[m.indices]
        stored = np.bincount(m.indices, weights=w_entries * centred * centred, minlength=d)
        weight_stored = np.bincount(m.indices, weights=w_entries, minlength=d)
        return stored + means * means * (float(np.sum(w)) - weight_stored)

    def group_sums(self, V: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """(n_groups, k, d) float64 sums of V[i, k] x_i over the rows i of each group,
        for V (b, k) and (b,) integer groups (one sparse product per column of V)."""
        b, k = V.shape
        out = np.empty((n_groups, k, self.shape[1]))
        columns = np.arange(b)
        for j in range(k):
            indicator = sp.csr_array((V[:, j], (groups, columns)), shape=(n_groups, b))
            out[:, j] = (indicator @ self.matrix).toarray()
        return out

    def toarray(self) -> np.ndarray:
        return self.matrix.toarray()

    def astype(self, dtype, copy: bool = True) -> SparseDesign:
        """The same design with values of ``dtype`` (itself when they have it)."""
        if np.dtype(dtype) == self.dtype:
            return self
        return SparseDesign(self.matrix.astype(dtype))

    def batch_rows(self) -> SparseDesign:
        """Minibatch rows stay sparse (float64: a batch is small)."""
        return self.astype(np.float64)


def is_sparse(X) -> bool:
    """Whether X is a ``scipy.sparse`` array or matrix."""
    return sp.issparse(X)


def check_sparse_format(X) -> None:
    """Refuse sparse formats other than CSR and CSC, saying how to convert."""
    if X.format not in ACCEPTED_FORMATS:
        raise TypeError(f"a sparse X must be in CSR or CSC format, got {X.format.upper()}; "
                        "convert it with X.tocsr()")


def sparse_design(X) -> SparseDesign:
    """A validated CSR or CSC X (2-D, float32 or float64 values after scikit-learn's
    checks) as a :class:`SparseDesign`: CSR as it is (unsorted indices and duplicate
    entries allowed, as in scipy's products), CSC converted to CSR; NaN or infinity among
    the stored values is an error naming the first row and column."""
    check_sparse_format(X)
    matrix = sp.csr_array(X)  # CSR: shares X's arrays; CSC: one copy of its entries
    finite = np.isfinite(matrix.data)
    if not finite.all():
        entry = int(np.argmin(finite))
        row = int(np.searchsorted(matrix.indptr, entry, side="right")) - 1
        what = "NaN" if np.isnan(matrix.data[entry]) else "infinity"
        raise ValueError(f"Input X contains {what} among its stored values: first at "
                         f"{row_name(row)}, column {int(matrix.indices[entry])}")
    return SparseDesign(matrix)
