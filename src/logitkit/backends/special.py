"""Numerically stable special functions for NumPy and torch arrays.

Each function dispatches on the array's library; all are elementwise unless stated.
"""

import math

import numpy as np
import scipy.special as sc
from array_api_compat import is_torch_array

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def clip_min(x, low: float):
    """max(x, low) elementwise. The scalar stays a scalar (array_api_compat's maximum
    would copy it to the device, which a CUDA graph capture refuses)."""
    if is_torch_array(x):
        return x.clamp(min=low)
    return np.maximum(x, low)


def clip_max(x, high: float):
    """min(x, high) elementwise (see :func:`clip_min`)."""
    if is_torch_array(x):
        return x.clamp(max=high)
    return np.minimum(x, high)


def log_expit(z):
    """log(sigmoid(z)) = -log1p(exp(-z)), stable for large |z|."""
    if is_torch_array(z):
        import torch

        return torch.nn.functional.logsigmoid(z)
    return sc.log_expit(z)


def log_ndtr(z):
    """log(Phi(z)) of the standard normal CDF, stable in the lower tail."""
    if is_torch_array(z):
        import torch

        return torch.special.log_ndtr(z)
    return sc.log_ndtr(z)


def ndtr_log_pdf(z):
    """log(phi(z)) of the standard normal density."""
    return -0.5 * z * z - _LOG_SQRT_2PI


def log_one_minus_exp(x):
    """log(1 - exp(x)) for x <= 0, stable near 0 and near -inf (Maechler's log1mexp)."""
    if is_torch_array(x):
        import torch

        near_zero = x > -math.log(2.0)
        return torch.where(near_zero, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))
    with np.errstate(divide="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def logsumexp(a, axis):
    """log(sum(exp(a), axis)), max-subtracted."""
    if is_torch_array(a):
        import torch

        return torch.logsumexp(a, dim=axis)
    return sc.logsumexp(a, axis=axis)
