"""Which array library an array belongs to, its device, and moving small results to the host."""

__all__ = [
    "device", "get_namespace", "gram", "like", "on_accelerator", "product", "to_numpy",
    "weighted_counts",
]

import numpy as np
from array_api_compat import array_namespace, device, is_torch_array


def get_namespace(*arrays):
    """The array-API namespace shared by ``arrays`` (NumPy or torch, via array_api_compat)."""
    return array_namespace(*arrays)


def to_numpy(a) -> np.ndarray:
    """A host NumPy copy of a small array (a d x d Hessian, a gradient, a scalar)."""
    if is_torch_array(a):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def gram(Z):
    """Z' Z (k, k) in float64 where Z lives, for Z of shape (n, k) in its own dtype
    (NumPy calls BLAS syrk)."""
    G = Z.T @ Z
    if is_torch_array(G):
        import torch

        return G.to(torch.float64)
    return np.asarray(G, dtype=np.float64)


def on_accelerator(a) -> bool:
    """Whether ``a`` is a torch tensor on a device other than the CPU (a GPU)."""
    return is_torch_array(a) and a.device.type != "cpu"


def like(values: np.ndarray, X):
    """A host array as an array of X's library on X's device (unchanged for NumPy X)."""
    if is_torch_array(X):
        import torch

        return torch.as_tensor(values, device=X.device)
    return values


def product(X, matrix: np.ndarray):
    """X @ matrix.T (n, k) in float64, computed and kept where X lives (X's dtype in the
    product, so float32 data is multiplied in float32)."""
    if is_torch_array(X):
        import torch

        M = torch.as_tensor(np.ascontiguousarray(matrix), dtype=X.dtype, device=X.device)
        return (X @ M.T).to(torch.float64)
    return np.asarray(X @ matrix.T, dtype=np.float64)


_COUNT_ROWS = 2**16


def weighted_counts(codes, weights, minlength: int) -> np.ndarray:
    """(minlength,) float64 host array: the sum of ``weights`` (None: 1 each) over the
    rows of each integer code, computed where ``codes`` live."""
    if is_torch_array(codes):
        import torch

        w = None if weights is None else weights.to(torch.float64)
        counts = torch.bincount(codes.to(torch.int64), weights=w, minlength=minlength)
        return to_numpy(counts).astype(np.float64)
    codes = np.asarray(codes)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    counts = np.zeros(minlength)
    # in slices of rows: narrow (or float) codes are copied to int64 (no n-sized copy)
    for start in range(0, codes.shape[0], _COUNT_ROWS):
        rows = slice(start, start + _COUNT_ROWS)
        counts += np.bincount(codes[rows].astype(np.int64, copy=False),
                              weights=None if w is None else w[rows], minlength=minlength)
    return counts
