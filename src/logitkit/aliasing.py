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
extra n x d arrays. A row subsample is factorised first: a column that is dependent on
all rows is dependent, with the same coefficients, on any subset, so a subsample can only
over-report. Each column it reports is checked on all rows in one pass (its residual on
the kept columns before it, with the subsample's least-squares coefficients: where those
columns are independent, the only combination that can work). Only when a check fails (a
rare level missing from the subsample) are all rows factorised, block by block (TSQR).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

from logitkit.backends import to_numpy
from logitkit.design import dense, is_design

# relative residual norm at or below which a column is aliased (R's lm default)
ALIAS_TOL = 1e-7
# rows of the screening subsample: this many, but at most 1 in _SHARE of the rows (its
# float64 copies then stay near a tenth of X), and at least five per column
_SCREEN_ROWS = 5000
_SHARE = 32
# rows per block of the all-rows passes: this many, at most 1 in _SHARE of the rows
_BLOCK_ROWS = 8192
# a structured design's blocks are made dense: at most this many bytes of them at a time
_DESIGN_BLOCK_BYTES = 2**18


def find_aliased(X, weights, constant: bool, tol: float = ALIAS_TOL, rows=None) -> np.ndarray:
    """(d,) bool: which columns of X (n, d) are aliased, for frequency weights (n,) and a
    constant column before them when ``constant`` (an intercept or ordinal cut points).

    ``rows``: where the passes over all rows run, an object with the methods of
    :class:`Rows` (default: ``Rows(X, weights)``; logitkit.dask passes its partitions';
    X and weights are then only read through it)."""
    rows = Rows(X, weights) if rows is None else rows
    n, d = rows.shape
    k = d + int(constant)
    step = screen_step(n, k)
    if step == 1:
        return _aliased_columns(_finite(rows.triangular_factor(constant)), constant, tol)
    R = _finite(_triangular_factor(*rows.sample(step), constant))
    screened = _aliased_columns(R, constant, tol)
    if not screened.any() or _confirmed(rows, constant, screened, R, tol):
        return screened
    return _aliased_columns(_finite(rows.triangular_factor(constant)), constant, tol)


def _finite(R: np.ndarray) -> np.ndarray:
    """R, refused when not finite (the screen of a NaN-filled R took 16 s at 1100
    columns, one QR per column)."""
    if not np.isfinite(R).all():
        raise ValueError("X holds NaN or infinity (or values too large to square): the "
                         "aliasing screen's triangular factor is not finite")
    return R


def screen_step(n: int, k: int) -> int:
    """The step of the screening subsample (every step-th row) for n rows, k columns."""
    return max(1, n // max(min(_SCREEN_ROWS, n // _SHARE), 5 * k))


class Rows:
    """The passes over all rows of X (n, d) and its weights (n,) that find_aliased makes."""

    def __init__(self, X, weights):
        self.X, self.weights, self.shape = X, weights, X.shape

    def sample(self, step: int):
        """(X[::step], weights[::step])."""
        return self.X[::step], self.weights[::step]

    def triangular_factor(self, constant: bool) -> np.ndarray:
        """(k, k) R of the weighted design of all rows (see :func:`_triangular_factor`)."""
        return _triangular_factor(self.X, self.weights, constant)

    def residual_sums(self, slopes, shift, columns):
        """(residual, norm) (c,) float64: sum_i w_i (X_i slopes + shift)^2 and the
        weighted squares sum_i w_i X_i[columns]^2 over all rows (see :func:`_confirmed`)."""
        return residual_sums(self.X, self.weights, slopes, shift, columns)


def _weighted_block(X, weights, rows, constant: bool) -> np.ndarray:
    """(b, k) float64 rows of [1, X] (or X) times the square roots of their weights."""
    root = np.sqrt(to_numpy(weights[rows]).astype(np.float64))[:, None]
    with np.errstate(invalid="ignore"):  # (inf in X: the factor is refused, see _finite)
        block = to_numpy(dense(X[rows])).astype(np.float64, copy=False) * root
    return np.hstack([root, block]) if constant else block


def _block_rows(X, k: int) -> int:
    """Rows per block of a pass over all of X (n, d), k columns with the constant: at most
    _BLOCK_ROWS and 1 in _SHARE of the rows, at least 4 k (a QR of a block stays cheap
    against its R); a structured design made dense also within _DESIGN_BLOCK_BYTES."""
    n = X.shape[0]
    rows = min(_BLOCK_ROWS, max(4 * k, n // _SHARE))
    if is_design(X):
        rows = max(2 * k, min(rows, _DESIGN_BLOCK_BYTES // (8 * k)))
    return max(1, rows)


def _confirmed(rows, constant: bool, aliased, R, tol: float) -> bool:
    """Whether every column ``aliased`` on the subsample is aliased on all ``rows`` too;
    R the subsample's triangular factor (least squares on it equals least squares on the
    subsample's weighted rows, which are Q R)."""
    offset = int(constant)
    design = R
    kept = np.concatenate([np.ones(offset, bool), ~aliased])
    columns = np.flatnonzero(aliased) + offset
    # combinations (k, c): column j minus its least-squares fit on the kept ones before it
    combinations = np.zeros((design.shape[1], columns.size))
    for i, j in enumerate(columns):
        before = np.flatnonzero(kept[:j])
        fit = la.lstsq(design[:, before], design[:, j], check_finite=False)[0]
        combinations[before, i] = -fit
        combinations[j, i] = 1.0
    slopes = combinations[offset:]
    shift = combinations[0] if constant else np.zeros(columns.size)
    residual, norm = rows.residual_sums(slopes, shift, columns - offset)
    return bool(np.all(np.sqrt(residual) <= tol * np.sqrt(norm)))


def residual_sums(X, weights, slopes, shift, columns):
    """(residual, norm) (c,) float64 of the rows of X (n, d) with weights (n,):
    sum_i w_i (X_i slopes + shift)^2 for slopes (d, c), shift (c,), and
    sum_i w_i X_i[columns]^2, block by block (no copy of a block of X)."""
    residual, norm = np.zeros(len(columns)), np.zeros(len(columns))
    size = _block_rows(X, X.shape[1] + 1)
    for start in range(0, X.shape[0], size):
        rows = slice(start, start + size)
        Xb, w = X[rows], to_numpy(weights[rows]).astype(np.float64)
        Xb = Xb if is_design(Xb) else to_numpy(Xb)
        residual += w @ (Xb @ slopes.astype(Xb.dtype) + shift) ** 2
        if is_design(Xb):
            norm += (w @ Xb.square())[columns]
        else:
            norm += w @ Xb[:, columns].astype(np.float64) ** 2
    return residual, norm


def _triangular_factor(X, weights, constant: bool) -> np.ndarray:
    """(k, k) R of the weighted design [1, X] (or X): X'WX = R'R, built block by block."""
    n, d = X.shape
    k = d + int(constant)
    R = np.zeros((0, k))
    size = _block_rows(X, k)
    for start in range(0, n, size):
        block = _weighted_block(X, weights, slice(start, start + size), constant)
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
