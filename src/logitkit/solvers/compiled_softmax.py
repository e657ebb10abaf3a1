"""A fused, compiled value-and-gradient pass for multinomial logit fits (numba).

The NumPy pass of a multinomial fit with few classes spends most of its time outside
reading X: ``X @ W'`` and ``R' X`` with K columns run far below BLAS's speed, and the
softmax's per-row ufuncs make several (b, K) temporaries. Here each row is read once:
its K linear predictors, the log-normaliser, the loss and the residuals
r_k = w (p_k - [y = k]), then X' r while the row is in cache (one thread, K=3,
500k x 50 float64: 57 ms against NumPy's 190 ms; one read of X, ``X.sum()``, 21 ms).
Sums in float64 whatever X's dtype; the loss summed per chunk of rows and the chunks
pairwise (as :func:`~logitkit.solvers.compiled_pass.row_terms`).

Used by :meth:`Objective.loss_terms` for values and gradients (order <= 1) of the
multinomial family, either form (``full``: K linear predictors; else K - 1 and the base
class's logit 0), without an offset, on a NumPy X in C order, when numba is available
(:func:`logitkit.solvers.compiled_loop.available`). Compiled once under compiled_loop's
lock, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np

from logitkit.solvers import compiled_loop

# rows whose losses are summed together before the chunks' sums are added pairwise
ROWS_PER_CHUNK = 16
# at most this many classes: each row keeps its K predictors and residuals in small arrays
MAX_CLASSES = 64
_KERNEL = None


def applies(objective, order: int) -> bool:
    """Whether ``objective``'s pass of this ``order`` runs compiled here."""
    from logitkit.families import Multinomial

    X = objective.X
    return (order <= 1 and type(objective.family) is Multinomial
            and objective.offset is None and isinstance(X, np.ndarray) and X.ndim == 2
            and X.flags.c_contiguous and X.dtype in (np.float64, np.float32)
            and objective.n_classes <= MAX_CLASSES and compiled_loop.available())


def softmax_terms(X, y, w, W, intercepts, base: bool, order: int):
    """(loss sum, least row loss among rows of positive weight, gradient (m, d + 1) or
    None) over X (n, d), class codes y (n,), weights w (n,), at slopes W (m, d) and
    ``intercepts`` (m,); ``base``: the base class 0 has logit 0 and column k of W is class
    k + 1's (m = K - 1), else m = K. The gradient's last column is the intercepts'."""
    m, d = W.shape
    grad = np.zeros((m, d + 1))
    parts, least = _kernel()(X, y, w, np.ascontiguousarray(W, dtype=np.float64),
                             np.asarray(intercepts, dtype=np.float64), base, order >= 1,
                             grad, ROWS_PER_CHUNK)
    return float(np.sum(parts)), least, grad if order >= 1 else None


def _kernel():
    """The compiled :func:`_rows`, on first use under compiled_loop's lock."""
    global _KERNEL
    with compiled_loop._LOCK:
        if _KERNEL is None:
            import numba

            # a row's dot products and the gradient's sums may add in any order (SIMD)
            _KERNEL = numba.njit(cache=True, nogil=True, fastmath={"reassoc"})(_rows)
    return _KERNEL


def _rows(X, y, w, W, c, base, gradient, grad, chunk):
    """(chunk loss sums, least row loss): per row eta_k = x . W_k + c_k, the
    log-normaliser over [0 (with ``base``), eta], the row's loss w (log Z - eta_y), and
    with ``gradient`` r_k = w p_k - w [y = k] added times x into grad[k, :d] and into
    grad[k, d]."""
    n, d = X.shape
    m = W.shape[0]
    first = 1 if base else 0  # the class of W's row 0
    parts = np.zeros(-(-n // chunk))
    least = math.inf
    eta = np.empty(m)
    r = np.empty(m)
    for start in range(0, n, chunk):
        part = 0.0
        for i in range(start, min(start + chunk, n)):
            x = X[i]
            top = 0.0 if base else -math.inf
            for k in range(m):
                e = c[k]
                Wk = W[k]
                for j in range(d):
                    e += x[j] * Wk[j]
                eta[k] = e
                if e > top:
                    top = e
            total = math.exp(-top) if base else 0.0
            for k in range(m):
                r[k] = math.exp(eta[k] - top)
                total += r[k]
            code = np.int64(y[i]) - first  # W's row of the observed class (-1: the base)
            observed = eta[code] if code >= 0 else 0.0
            loss = top + math.log(total) - observed
            wi = np.float64(w[i])
            part += wi * loss
            if wi > 0.0 and loss < least:
                least = loss
            if not gradient:
                continue
            scale = wi / total
            for k in range(m):
                r[k] *= scale
            if code >= 0:
                r[code] -= wi
            for k in range(m):
                rk = r[k]
                gk = grad[k]
                for j in range(d):
                    gk[j] += rk * x[j]
                gk[d] += rk
        parts[start // chunk] = part
    return parts, least
