"""The solver's first pass from the scan: every fit that starts from the null model (all
slopes 0: each row's linear predictor is its intercept, so each row's loss and
derivatives depend on its class alone) has its value, gradient and Hessian there in
closed form from per-class sums that the scan computes while it reads each partition:
for every class k, its weight W_k, the weighted column sums S_k = sum w_i x_i and, for
a Hessian, the weighted Gram matrix G_k = sum w_i x_i x_i' over the rows the objective
(or its Hessian's row sample) takes. The client evaluates the in-memory objective over a
few pseudo-rows with the same per-class sums (:func:`pseudo_rows`), so the first pass of
the fit needs no graph of its own.

Which row samples start from the null model depends on the number of classes, which
only the scan finds: :func:`null_start_steps` lists the likely ones for each number of
classes up to NULL_START_MAX_CLASSES; any other pass is computed as before.
"""

from __future__ import annotations

import numpy as np

from logitkit import fitting
from logitkit.hessian_samples import hessian_step
from logitkit.objective import Objective

# the numbers of classes (2, 3, ...) whose null-start steps the scan prepares for
NULL_START_MAX_CLASSES = 16
# a step's Gram matrices (d + 1)^2 floats a class, at most this many bytes a partition
# (and 64 times this over all partitions: they come back to the client with the scan)
NULL_START_GRAM_BYTES = 2**20
# at most this many Gram steps (row samples) per scan
NULL_START_GRAM_STEPS = 3


def null_start_steps(estimator, n: int, d: int, n_partitions: int):
    """(sum steps, Gram steps): every k-th row samples of the n rows whose per-class
    column sums (value and gradient at the null model) and Gram matrices (its Hessian)
    the scan computes: those that :func:`logitkit.fitting.fit_objective` starts from the
    null model with ``estimator``'s settings, for 2 to NULL_START_MAX_CLASSES classes
    (the innermost ordinal warm start's sample, Newton's Hessian sample)."""
    solver, d1 = estimator.solver, d + int(estimator._fits_intercept())
    sums, grams = set(), []
    for K in range(2, NULL_START_MAX_CLASSES + 1):
        try:
            family = estimator._family(K)
        except ValueError:
            break
        m, q = family.n_eta(K), family.n_aux(K)
        p = m * d1 + q
        name = fitting.choose_solver(solver, p)
        if name not in ("newton", "newton-cg", "lbfgs", "lbfgs-first"):
            break
        step, rows = 1, n
        if q and name == "newton":  # (fitting._warm_start's chain of samples)
            size = fitting.warm_start_rows(p)
            while rows >= fitting.WARM_START_STEP * size:
                step *= fitting.WARM_START_STEP
                rows = -(-n // step)
        sums.add(step)
        h = hessian_step(rows, p)
        if name == "newton" and m > 1 and fitting.hessian_costly(rows, p, p):
            continue  # (choose_solver's truncated Newton for this many classes)
        if name != "newton" or step * h in grams:
            continue
        if len(grams) < NULL_START_GRAM_STEPS and 8 * d1 * d1 * K <= NULL_START_GRAM_BYTES \
                and n_partitions * 8 * d1 * d1 * K <= 64 * NULL_START_GRAM_BYTES:
            grams.append(step * h)
    return sorted(sums), sorted(grams)


def partition_moments(X, codes, labels: int, weights, offset: int, sum_steps, gram_steps,
                      sums1=None) -> dict:
    """{step: (W (L,), S (L, d), G (L, d, d) or None)} of one partition (first row
    ``offset``) over its rows among every step-th row of the whole data, by local label
    (``codes`` (b,) into ``labels`` labels): weights, weighted column sums, and for the
    Gram steps weighted Gram matrices. ``sums1``: S of step 1 when already computed."""
    out = {}
    for step in sorted({*sum_steps, *gram_steps}):
        rows = slice((-offset) % step, None, step)
        c, w = codes[rows], weights[rows]
        W = np.bincount(c, weights=w, minlength=labels)
        if step in gram_steps:
            Xs = np.asarray(X[rows])
            S, G = np.zeros((labels, X.shape[1])), np.zeros((labels, X.shape[1], X.shape[1]))
            for label in range(labels):
                mine = c == label
                Xl, wl = Xs[mine], w[mine]
                S[label] = wl @ Xl
                G[label] = (Xl * wl[:, None]).T @ Xl
            out[step] = (W, S, G)
        else:
            out[step] = (W, sums1 if step == 1 and sums1 is not None
                         else weighted_onehot(c, w, labels).T @ X[rows], None)
    return out


def weighted_onehot(codes, weights, labels: int, ones: bool = False) -> np.ndarray:
    """(b, labels) the rows' weights in their label's column (and a column of ones last
    when ``ones``)."""
    V = np.zeros((len(codes), labels + int(ones)))
    V[np.arange(len(codes)), codes] = weights
    if ones:
        V[:, -1] = 1.0
    return V


def merge_moments(parts, positions, K: int, per_class=None) -> dict:
    """{step: (W (K,), S (K, d), G (K, d, d) or None)}: the partitions' moments
    (:func:`partition_moments`) added by class (``positions``: each partition's local
    labels' classes), times the class weights ``per_class`` (K,) when given."""
    total: dict = {}
    for part, where in zip(parts, positions, strict=True):
        for step, moments in part.items():
            if step not in total:
                total[step] = [None if a is None else np.zeros((K, *a.shape[1:]))
                               for a in moments]
            for mine, a in zip(total[step], moments, strict=True):
                if mine is not None:  # (a partition's labels are distinct classes)
                    mine[where] += a
    if per_class is not None:
        for moments in total.values():
            for a in moments:
                if a is not None:
                    a *= per_class.reshape(-1, *[1] * (a.ndim - 1))
    return {step: tuple(moments) for step, moments in total.items()}


def pseudo_rows(W, S, G=None):
    """(X (r, d), codes (r,), weights (r,)): rows whose per-class weights, weighted column
    sums (and, with G, weighted Gram matrices) are W, S, G: the class means (one row a
    class), or with G 2d points a class, its mean plus and minus sqrt(d) times the
    columns of a square root of its covariance (in the columns' scales), each of weight
    W_k / 2d. Classes without weight have no row."""
    K, d = S.shape
    rows, codes, weights = [], [], []
    for k in np.flatnonzero(W > 0):
        mean = S[k] / W[k]
        if G is None or d == 0:
            rows.append(mean[None]), codes.append([k]), weights.append([W[k]])
            continue
        cov = G[k] / W[k] - np.outer(mean, mean)
        scale = np.sqrt(np.maximum(np.diag(cov), 0.0))
        scale = np.where(scale > 0, scale, 1.0)
        lam, vectors = np.linalg.eigh(cov / scale[:, None] / scale[None, :])
        root = vectors * np.sqrt(d * np.maximum(lam, 0.0)) * scale[:, None]  # (d, d)
        rows.append(np.concatenate([mean + root.T, mean - root.T]))
        codes.append(np.full(2 * d, k)), weights.append(np.full(2 * d, W[k] / (2 * d)))
    return (np.concatenate(rows), np.concatenate(codes).astype(np.int64),
            np.concatenate(weights).astype(float))


def null_terms(objective, theta, order: int):
    """(loss, grad, hess, least row loss) sums of ``objective`` (a
    :class:`~logitkit.dask.objective.DaskObjective`) at natural ``theta``, as its pass
    would return them, when theta has all slopes 0 and the scan brought back the
    per-class sums of its rows (the Gram matrices for ``order`` 2); else None."""
    moments = objective.data.moments.get(objective.step)
    if moments is None or (order >= 2 and moments[2] is None):
        return None
    W_theta, _ = objective.unpack(theta)
    if W_theta[:, : objective.d].any() or not np.all(np.isfinite(theta)):
        return None
    W, S, G = moments
    X, codes, w = pseudo_rows(W, S, G if order >= 2 else None)
    local = Objective(objective.family, X, codes, w, objective.n_classes,
                      objective.fit_intercept)
    loss, grad, hess = local.loss_terms(theta, order)
    least = local._least_losses[-1][1] if local._least_losses else None
    return loss, grad, hess, least
