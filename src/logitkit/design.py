"""Design matrices that are not plain arrays, and what the objective asks of them.

A plain NumPy array or torch tensor *is* a design: the objective multiplies its row
blocks directly (``Xb @ B.T``, ``V.T @ Xb``, Gram products), unchanged. A :class:`Design`
stores X another way (e.g. :class:`logitkit.categorical.CategoricalDesign`: numeric
columns plus integer level codes instead of a one-hot block) and implements the block
products the objective, the curvature operators, the aliasing and divergence checks and
predict need. The interface is that of a ``scipy.sparse`` CSR matrix where one exists
(``X[rows]``, ``X @ B``, ``V @ X``, ``shape``, ``dtype``, ``toarray()``), so a sparse
block can follow the same methods.

All values are float64 on the host; X is (n, d), a block (b, d).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import array_api_compat.numpy as _np_namespace
import numpy as np


class Design(ABC):
    """An (n, d) design matrix held in a structured form, on the host, in float64.

    ``X @ B`` (B (d,) or (d, k)) gives X B as (n,) or (n, k); ``V @ X`` (V (n,) or (k, n))
    gives V X as (d,) or (k, d): NumPy hands both to this class (``__array_ufunc__`` is
    None), so the objective's dense expressions work unchanged.
    """

    __array_ufunc__ = None  # NumPy defers V @ X and friends to this class
    device = "cpu"
    dtype = np.dtype(np.float64)
    ndim = 2

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int]:
        """(n, d)."""

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Bytes this design holds or references (its numeric storage and codes)."""

    def __len__(self) -> int:
        return self.shape[0]

    def __array_namespace__(self, api_version=None):
        return _np_namespace

    def __array__(self, dtype=None, copy=None):
        # without this NumPy would treat a design as a sequence of rows (its __len__ and
        # __getitem__) and fail deep inside; a dense copy is only ever asked for by name
        raise TypeError(f"a {type(self).__name__} is not made dense implicitly: call "
                        "toarray() (a dense copy of every row) or use its block products")

    @abstractmethod
    def __getitem__(self, rows) -> Design:
        """The rows ``rows`` (a slice, or an integer index array) as a design of their own;
        views for slices, nothing dense."""

    @abstractmethod
    def matmul(self, B: np.ndarray) -> np.ndarray:
        """X B: (n,) for B (d,), (n, k) float64 for B (d, k)."""

    @abstractmethod
    def rmatmul(self, V: np.ndarray) -> np.ndarray:
        """V X: (d,) for V (n,), (k, d) float64 for V (k, n)."""

    @abstractmethod
    def weighted_gram(self, w: np.ndarray) -> np.ndarray:
        """(d, d) float64 X' diag(w) X for (n,) weights of any sign."""

    def weighted_grams(self, W: np.ndarray) -> np.ndarray:
        """(r, d, d) float64 X' diag(W[i]) X for (r, n) weights (one product each here;
        a subclass may share its work between them)."""
        return np.stack([self.weighted_gram(w) for w in W])

    @abstractmethod
    def quadratic_form(self, B: np.ndarray) -> np.ndarray:
        """(n,) float64 x_i' B x_i of the rows x_i, for a symmetric (d, d) B."""

    @abstractmethod
    def square(self) -> Design:
        """The elementwise square X * X as a design of the same kind."""

    @abstractmethod
    def toarray(self) -> np.ndarray:
        """(n, d) float64 dense copy (for small row blocks and samples only)."""

    def __matmul__(self, B):
        return self.matmul(np.asarray(B))

    def __rmatmul__(self, V):
        return self.rmatmul(np.asarray(V))

    def astype(self, dtype, copy: bool = True):
        """The design itself for float64 (its values are float64 already); a dense array of
        another dtype otherwise."""
        if np.dtype(dtype) == np.float64:
            return self
        return self.toarray().astype(dtype)


def is_design(X) -> bool:
    """Whether X is a structured :class:`Design` (False for plain arrays and tensors)."""
    return isinstance(X, Design)


def dense(X):
    """X as a plain array: unchanged for arrays and tensors, ``toarray()`` of a design."""
    return X.toarray() if isinstance(X, Design) else X


# rows of a structured design made dense at a time by column_subset
_SUBSET_CHUNK = 4096


def column_subset(X, cols):
    """X[:, cols] for (k,) int ``cols``: the array's (or tensor's, or sparse matrix's) own
    column selection, a copy; a structured design gives a dense float64 (n, k) array made
    from dense chunks of its rows (never all of its columns at once)."""
    cols = np.asarray(cols, dtype=np.intp)
    if not isinstance(X, Design):
        from logitkit.backends import like

        return X[:, like(cols, X)]
    out = np.empty((X.shape[0], len(cols)))
    for start in range(0, X.shape[0], _SUBSET_CHUNK):
        rows = slice(start, start + _SUBSET_CHUNK)
        out[rows] = X[rows].toarray()[:, cols]
    return out
