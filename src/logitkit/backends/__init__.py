"""Array namespaces (NumPy, PyTorch) and the special functions the families need.

Numerical code takes arrays and asks :func:`get_namespace` for their namespace
(DESIGN.md rule 2); it never calls ``np.`` on data that may live on a GPU.
"""

from logitkit.backends.namespace import (
    device,
    get_namespace,
    gram,
    like,
    on_accelerator,
    product,
    to_numpy,
    weighted_counts,
)
from logitkit.backends.special import (
    clip_max,
    clip_min,
    log_expit,
    log_ndtr,
    log_one_minus_exp,
    logsumexp,
    ndtr_log_pdf,
)

__all__ = [
    "clip_max",
    "clip_min",
    "device",
    "get_namespace",
    "gram",
    "like",
    "on_accelerator",
    "product",
    "to_numpy",
    "weighted_counts",
    "log_expit",
    "log_ndtr",
    "log_one_minus_exp",
    "logsumexp",
    "ndtr_log_pdf",
]
