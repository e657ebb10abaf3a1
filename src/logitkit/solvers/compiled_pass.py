"""A fused, compiled value-and-gradient pass for binary logit fits on narrow X (numba).

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

Used by :meth:`Objective.loss_terms` for values and gradients (order <= 1) of the binomial
family on a float64 NumPy X in C order with at most :data:`MAX_COLUMNS` columns, when numba
is available (:func:`logitkit.solvers.compiled_loop.available`: installed, and not switched
off by ``LOGITKIT_NUMBA=0``). Compiled once under compiled_loop's lock, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np

from logitkit.solvers import compiled_loop

# the widest X that takes the fused pass, by order (values; values and gradients): wider,
# BLAS's products cost less than the compiled loops (one thread, 3M rows, pass time NumPy /
# fused: values 1.08 at 16 columns, 0.84 at 32; with gradients 1.66 at 16, 1.33 at 50,
# 1.10 at 64, 1.17 at 100: within the noise beyond 64, not taken)
MAX_COLUMNS = (16, 64)
_KERNELS = None
# rows per compiled call: the block of X stays in the core's cache between the sweeps
CHUNK_BYTES = 2**19


def supports(objective, order: int) -> bool:
    """Whether ``objective``'s pass of this ``order`` runs fused here."""
    from logitkit.families import Binomial

    X = objective.X
    return (order <= 1 and type(objective.family) is Binomial and objective.offset is None
            and isinstance(X, np.ndarray)
            and X.ndim == 2 and X.dtype == np.float64 and X.flags.c_contiguous
            and X.shape[1] <= MAX_COLUMNS[order] and compiled_loop.available())


def block_terms(Xb, y, w, beta, intercept: float, order: int, grad: np.ndarray, scratch):
    """(loss sum, least loss of a row of positive weight; inf if none) over the block
    Xb (b, d) float64 C order, y (b,), w (b,) at slopes ``beta`` (d,) and ``intercept``;
    for order 1 adds X' r to ``grad[:d]`` and sum r to ``grad[d]`` (grad (d + 1,) float64).
    ``scratch``: a :class:`~logitkit.families.base.Scratch` for three (b,) work arrays."""
    eta_of, sums = _kernels()
    z, t, log1p_t = scratch.arrays(3, Xb.shape[0])
    eta_of(Xb, beta, float(intercept), z)
    # t = exp(-|z|) in NumPy's vectorised exp (numba calls the scalar one), then log1p(t)
    np.abs(z, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=log1p_t)
    return sums(Xb, y, w, z, t, log1p_t, order >= 1, grad)


def _kernels():
    """(eta, sums), compiled on first use under compiled_loop's lock."""
    global _KERNELS
    with compiled_loop._LOCK:
        if _KERNELS is None:
            import numba

            # a row's dot product and the column sums may add in any order (SIMD lanes)
            jit = numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
            _KERNELS = jit(_eta), jit(_sums)
    return _KERNELS


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
