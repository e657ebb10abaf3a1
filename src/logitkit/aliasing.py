"""Aliased (linearly dependent) columns of a design, found the way R's ``glm`` finds them.

A column is *aliased* when it is, to a relative tolerance, a linear combination of the
columns before it: the constant (the intercept, or the cut points of an ordinal model)
first, then the columns in the order they were given. With the rows weighted by the
square roots of the frequency weights (a weight of 2 counts as the row twice), column j
is aliased when the part of it that least squares on the kept columns before it cannot
explain has norm at most ``ALIAS_TOL`` times the column's norm. This is the rule of R's
rank-revealing QR with limited pivoting (LINPACK ``dqrdc2``, ``lm``'s default
``tol = 1e-7``): an aliased column is moved out of the way, so it never shadows a later
column. Columns that are all zero, constant (with a constant first), duplicated, or one
level too many of a one-hot set are aliased.

The decomposition works on the small triangular factor R (X'X = R'R), never on n x n or
extra n x d arrays: a row subsample is factorised first (a column that is dependent on
all rows is dependent on any subset, so a subsample can only over-report), and only if it
reports aliased columns are all rows factorised, block by block (TSQR), to decide.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

from logitkit.backends import to_numpy

# relative residual norm at or below which a column is aliased (R's lm default)
ALIAS_TOL = 1e-7
# rows of the screening subsample: at least this many, and five per column
_SCREEN_ROWS = 5000
# rows per block of the all-rows factorisation
_BLOCK_ROWS = 8192


def find_aliased(X, weights, constant: bool, tol: float = ALIAS_TOL) -> np.ndarray:
    """(d,) bool: which columns of X (n, d) are aliased, for frequency weights (n,) and a
    constant column before them when ``constant`` (an intercept or ordinal cut points)."""
    n, d = X.shape
    k = d + int(constant)
    step = max(1, n // max(_SCREEN_ROWS, 5 * k))
    if step == 1:
        return _aliased_columns(_triangular_factor(X, weights, constant), constant, tol)
    screened = _aliased_columns(
        _triangular_factor(X[::step], weights[::step], constant), constant, tol)
    if not screened.any():
        return screened
    return _aliased_columns(_triangular_factor(X, weights, constant), constant, tol)


def _triangular_factor(X, weights, constant: bool) -> np.ndarray:
    """(k, k) R of the weighted design [1, X] (or X): X'WX = R'R, built block by block."""
    n, d = X.shape
    k = d + int(constant)
    R = np.zeros((0, k))
    for start in range(0, n, _BLOCK_ROWS):
        rows = slice(start, start + _BLOCK_ROWS)
        root = np.sqrt(to_numpy(weights[rows]).astype(np.float64))[:, None]
        block = to_numpy(X[rows]).astype(np.float64) * root
        if constant:
            block = np.hstack([root, block])
        R = la.qr(np.vstack([R, block]), mode="r", check_finite=False)[0][:k]
    return R


def _aliased_columns(R: np.ndarray, constant: bool, tol: float) -> np.ndarray:
    """(d,) bool from the factor R of [1, X] (``constant``) or X.

    Sequential, as dqrdc2: the first column whose residual on the kept columns before it
    is at most ``tol`` times its norm is dropped, and the columns after it are
    re-factorised on the kept ones, from the rows of R that are orthogonal to them.
    """
    k = R.shape[1]
    norms = np.linalg.norm(R, axis=0)
    aliased = np.zeros(k, dtype=bool)
    columns = np.arange(k)  # original index of each column of ``trailing``
    trailing = R
    while columns.size:
        diagonal = np.abs(np.diag(trailing)) if trailing.shape[0] else np.zeros(0)
        diagonal = np.concatenate([diagonal, np.zeros(columns.size - diagonal.size)])
        small = np.flatnonzero(~(diagonal > tol * norms[columns]))
        if small.size == 0:
            break
        t = small[0]
        aliased[columns[t]] = True
        # residuals of the later columns on the t kept columns before: rows t.. of R
        rest = trailing[t:, t + 1:]
        columns = columns[t + 1:]
        trailing = la.qr(rest, mode="r", check_finite=False)[0] if rest.size else rest
    return aliased[int(constant):]
