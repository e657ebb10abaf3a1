"""Which array library an array belongs to, its device, and moving small results to the host."""

__all__ = ["device", "get_namespace", "gram", "to_numpy"]

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


def gram(Z) -> np.ndarray:
    """Z' Z as a float64 host array, for Z of shape (n, k) (NumPy calls BLAS syrk)."""
    return np.asarray(to_numpy(Z.T @ Z), dtype=np.float64)
