"""Firth's penalised likelihood at many points at once (binary logit fits).

:func:`evaluate_batch` returns what :meth:`FirthObjective.evaluate` (order 2) returns,
for k points stacked as rows of ``thetas`` (k, p), from one pair of passes over the row
blocks for all of them. With P the rows' products x_a x_b over the upper triangle
(a <= b; b x p (p + 1) / 2 numbers a block, shared by the k points):

- pass 1: the k linear predictors by one product, log L, and the k informations
  I_j = X' diag(w p_j (1 - p_j)) X as the triangles V' P (V = (b, k) the weights),
  one general product for all points (half the multiply-adds of a Gram product, as
  the triangle is symmetric);
- the k Cholesky factors on a (k, p, p) stack, and I_j^-1 (LAPACK's potri each);
- pass 2: the hat values h_ij = w_i p_ij (1 - p_ij) x_i' I_j^-1 x_i as P m_j (m_j the
  triangle of I_j^-1, its off-diagonal doubled), one product, and the modified scores
  by another.

The results are those of k single evaluations up to rounding; what it saves is NumPy's
per-call overhead, paid once a block instead of once a point (it dominates small
problems), and half the Gram products' arithmetic. The profile machinery steps every
interval end in lockstep with it (:func:`logitkit.profile.profile_interval_set`).
Multinomial fits are evaluated one point at a time.

:func:`exact_hessian` gives the penalised likelihood's own Hessian at one point (binary),
the penalty's curvature included, from one pass over the same row products: the profile
machinery adds its difference from the Newton matrix at the optimum to every interval
end's Newton matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotri as _potri
from scipy.special import expit

# the row products of all of X are computed once and kept between calls up to
# _KEEP_BYTES; beyond, a block's temporaries (rows x (the triangle + a few per point)
# floats) stay within _BATCH_BYTES (measured at 100,000 x 20, 42 points: 0.30 s an
# evaluation with 4 MiB blocks, 0.37 s with 32 MiB)
_KEEP_BYTES = 32 * 2**20
_BATCH_BYTES = 4 * 2**20


def _log_dets_and_inverses(info, upper):
    """((k,) log det I_j, -inf where I_j is not positive definite or not finite; (T, k)
    the upper triangles (index arrays ``upper``) of I_j^-1, off-diagonal entries doubled
    so that x' I^-1 x = P(x) m, zeros where not) of the stack ``info`` (k, dc, dc), by
    LAPACK's potrf and potri a point."""
    k = len(info)
    logdet = np.full(k, -np.inf)
    inverses = np.zeros(info.shape)
    finite = np.all(np.isfinite(info), axis=(1, 2))
    for j in np.flatnonzero(finite):
        factor, failed = _potrf(info[j], lower=1, clean=0)
        if failed:
            continue
        inverses[j], failed = _potri(factor, lower=1)  # its lower triangle
        if not failed:
            logdet[j] = 2.0 * np.log(np.diagonal(factor)).sum()
    ia, ib = upper
    lower = ib * info.shape[1] + ia  # the lower triangle's flat indices
    return logdet, (inverses.reshape(k, -1)[:, lower] * np.where(ia == ib, 1.0, 2.0)).T


def _products(Xb, intercept: bool):
    """(Xa (b, dc), P (b, T)): the block's columns with its intercept 1 last when
    ``intercept``, and the products x_a x_b of each row's columns over the upper
    triangle (a <= b, row by row: np.triu_indices' order)."""
    Xa = np.concatenate([Xb, np.ones((len(Xb), 1))], axis=1) if intercept else Xb
    dc = Xa.shape[1]
    columns = np.ascontiguousarray(Xa.T)
    products = np.empty((dc * (dc + 1) // 2, len(Xa)))  # P', built a row at a time
    start = 0
    for a in range(dc):
        np.multiply(columns[a:], columns[a], out=products[start:start + dc - a])
        start += dc - a
    return Xa, products.T


def _blocks(problem, rows: int, intercept: bool):
    """(block, Xa, P, y, w, offset) per row block of ``rows``: kept on ``problem`` (its
    ``batch_cache``) when all of them fit in _KEEP_BYTES, as they do for small X, so
    that the lockstep iterations compute them once."""
    cache = problem.batch_cache
    if cache is not None and cache[0] == (rows, intercept):
        yield from cache[1]
        return
    kept, size = [], 0
    for block, Xb, y, w, offset in problem._blocks(rows):
        Xa, P = _products(Xb, intercept)
        size += P.nbytes + Xa.nbytes
        if size <= _KEEP_BYTES:
            kept.append((block, Xa, P, y, w, offset))
        yield block, Xa, P, y, w, offset
    if size <= _KEEP_BYTES:
        problem.batch_cache = ((rows, intercept), kept)


def _block_rows(n: int, dc: int, k: int) -> int:
    """Rows a block for k points: all of a small X (its products then kept between
    calls), else the temporaries within _BATCH_BYTES."""
    width = dc * (dc + 1) // 2 + dc
    return n if n * width * 8 <= _KEEP_BYTES else max(1, _BATCH_BYTES // (8 * (width + 6 * k)))


def _symmetric(triangles, upper, dc):
    """(k, dc, dc) symmetric matrices from their upper triangles (k, T)."""
    out = np.empty((len(triangles), dc, dc))
    out[:, upper[0], upper[1]] = triangles
    out[:, upper[1], upper[0]] = triangles
    return out


def evaluate_batch(problem, thetas):
    """(values (k,), grads (k, p), hess (k, p, p)) of ``problem`` (a FirthObjective) at
    the rows of ``thetas`` (k, p), on its mean scale; value +inf and NaN derivatives
    where I is singular. Two passes over X in all (binary)."""
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    k, p = thetas.shape
    N = problem.total_weight
    if problem.m != 1:
        values, grads, hess = np.empty(k), np.full((k, p), np.nan), np.full((k, p, p), np.nan)
        for j, theta in enumerate(thetas):
            values[j], g, h = problem.evaluate(theta, 2)
            if g is not None:
                grads[j], hess[j] = g, h
        return values, grads, hess
    ob = problem.base
    intercept = bool(ob.fit_intercept)
    Wf = thetas[:, problem.cols]  # (k, dc) the estimated coefficients
    dc = Wf.shape[1]
    upper = np.triu_indices(dc)
    rows = _block_rows(ob.n, dc, k)
    augmented = problem.newton == "augmented"
    # pass 1: log L and the triangles of I at every point
    problem.reads.rows += ob.n
    loglik, info = np.zeros(k), np.zeros((k, len(upper[0])))
    probabilities = np.empty((ob.n, k))
    for block, Xa, P, y, w, offset in _blocks(problem, rows, intercept):
        eta = Xa @ Wf.T  # (b, k)
        if offset is not None:
            eta += offset[:, :1]
        pi = expit(eta)
        # log(1 + e^eta) = max(eta, 0) - log(max(p, 1 - p)), the log of a number in [1/2, 1]
        loglik += (w * (y == 1)) @ eta - w @ (np.maximum(eta, 0.0)
                                               - np.log(np.maximum(pi, 1.0 - pi)))
        probabilities[block] = pi
        info += (w[:, None] * pi * (1 - pi)).T @ P
    info = _symmetric(info, upper, dc)
    logdet, inverses = _log_dets_and_inverses(info, upper)  # (k,), (T, k)
    ok = np.isfinite(logdet)
    # pass 2: hat values h = w p (1 - p) x' I^-1 x and the modified scores
    problem.reads.rows += ob.n
    score = np.zeros((k, dc))
    newton = np.zeros((k, len(upper[0]))) if augmented else None
    for block, Xa, P, y, w, _ in _blocks(problem, rows, intercept):
        pi = probabilities[block]
        v = w[:, None] * pi * (1 - pi)
        h = v * (P @ inverses)  # (b, k)
        G = w[:, None] * ((y == 1)[:, None] - pi) + h * (0.5 - pi)
        score += G.T @ Xa
        if augmented:
            newton += ((w[:, None] + h) * pi * (1 - pi)).T @ P
    newton = info if newton is None else _symmetric(newton, upper, dc)
    values = np.where(ok, -(loglik + 0.5 * logdet) / N, np.inf)
    grads = np.zeros((k, p))
    grads[:, problem.cols] = -score / N
    if problem.free.all():
        hess = newton / N
    else:
        hess = np.broadcast_to(np.eye(p), (k, p, p)).copy()
        index = np.flatnonzero(problem.free)
        hess[:, index[:, None], index[None, :]] = newton / N
    grads[~ok], hess[~ok] = np.nan, np.nan
    return values, grads, hess


def exact_hessian(problem, theta) -> np.ndarray:
    """(p, p) the Hessian of ``problem``'s value -(log L + 1/2 log det I) / N at ``theta``
    (binary; NaN where I is singular). With c = w p (1 - p), I = X' diag(c) X and
    M = I^-1, the penalty's part is d2 (1/2 log det I) / db_a db_b = 1/2 tr(M d_ab I) -
    1/2 tr(M d_a I M d_b I), d_a I = X' diag(c' x_a) X and d_ab I = X' diag(c'' x_a x_b) X
    (c' = c (1 - 2p), c'' = c (1 - 6 p (1 - p))): the first a Gram product weighted by
    c'' x' M x, the second from the third moments T_a = d_a I (their triangles one
    (dc, T) product with the row products P) as tr(B_a B_b), B_a = M T_a. Two passes
    over the rows, about n dc T + dc^4 multiply-adds."""
    theta = np.asarray(theta, dtype=float)
    ob = problem.base
    intercept = bool(ob.fit_intercept)
    wf = theta[problem.cols]
    dc = wf.size
    upper = np.triu_indices(dc)
    doubled = np.where(upper[0] == upper[1], 1.0, 2.0)
    rows = _block_rows(ob.n, dc, 1)

    def weights(Xa, w, offset):
        pi = expit(Xa @ wf + (0.0 if offset is None else offset[:, 0]))
        return pi, w * pi * (1 - pi)

    problem.reads.rows += 2 * ob.n
    info, third = np.zeros(len(upper[0])), np.zeros((dc, len(upper[0])))
    for _, Xa, P, _, w, offset in _blocks(problem, rows, intercept):
        pi, c = weights(Xa, w, offset)
        info += c @ P
        third += (Xa * (c * (1 - 2 * pi))[:, None]).T @ P  # the triangles of T_a
    info = _symmetric(info[None], upper, dc)[0]
    logdet, m = _log_dets_and_inverses(info[None], upper)
    if not np.isfinite(logdet[0]):
        return np.full((theta.size, theta.size), np.nan)
    second = np.zeros(len(upper[0]))
    for _, Xa, P, _, w, offset in _blocks(problem, rows, intercept):
        pi, c = weights(Xa, w, offset)
        second += (c * (1 - 6 * pi * (1 - pi)) * (P @ m[:, 0])) @ P  # c'' x' M x
    inverse = _symmetric(m.T / doubled, upper, dc)[0]
    B = inverse @ _symmetric(third, upper, dc)  # (dc, dc, dc): B_a = M T_a
    traces = B.reshape(dc, -1) @ B.transpose(0, 2, 1).reshape(dc, -1).T  # tr(B_a B_b)
    penalty = 0.5 * _symmetric(second[None], upper, dc)[0] - 0.5 * traces
    index = np.flatnonzero(problem.free)
    hess = np.eye(theta.size)
    hess[np.ix_(index, index)] = (info - penalty) / problem.total_weight
    return hess
