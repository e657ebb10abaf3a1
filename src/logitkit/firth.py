"""Firth's penalised likelihood: log L(theta) + 1/2 log det I(theta) (the Jeffreys prior).

Supported: binary logit and multinomial (baseline-category logit) models, where the
penalty is the Jeffreys prior and its maximiser removes the O(1/n) bias of the MLE (the
models have canonical links; brglm2's ``brmultinom`` and logistf fit the same
estimates). I(theta) is the Fisher information of the natural parameters
(sums over rows, frequency weights as repeated rows):

    I = sum_i w_i kron(V_i, x_i x_i'),  V_i = diag(pi_i) - pi_i pi_i'  (m x m),

x_i the row with its intercept 1, pi_i the probabilities of the m = K - 1 non-base
classes (binary: m = 1, V_i = p_i (1 - p_i)). The modified score is

    U*(theta) = sum_i w_i kron(y_i - pi_i + a_i, x_i),
    a_ik = 1/2 pi_ik (H_kk - sum_a pi_a H_aa - 2 (H pi)_k + 2 pi' H pi),

H_i = X_i I^-1 X_i' (m x m) the row's block of the hat matrix (binary: a_i = h_i (1/2 -
p_i) / w_i with h_i = w_i p_i (1 - p_i) x_i' I^-1 x_i, Firth's 1993 correction). Both come
from two passes over row blocks: one for I (a Gram product) and log L, one for the hat
blocks from I's Cholesky factor (L^-1 x_i, never an n x n matrix) and the score.

:class:`FirthObjective` offers the interface of :class:`~logitkit.objective.Objective`
that the generic profile machinery uses: ``evaluate(theta, order)`` on the mean scale
(value = -(log L + 1/2 log det I) / total_weight, its gradient, and as "Hessian" the
Newton matrix / total_weight: I, or logistf's augmented-data information for binary
fits with ``newton="augmented"``; ``hessian_is_exact`` False), ``total_weight`` and
``n_params``. Memory beyond X: a block's
temporaries and the rows' probabilities (n x m floats) between the two passes.
:func:`fit_firth` maximises it, optionally with some parameters held fixed (constrained
refits for tests and profiles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.special import expit

from logitkit.design import dense
from logitkit.families import Binomial, Multinomial
from logitkit.objective import Objective
from logitkit.profile import secant_corrected
from logitkit.solvers.report import SolverReport

# logistf's default largest change of a parameter in one Newton step (maxstep = 5)
MAX_STEP = 5.0
_MAX_HALVINGS = 40
_BLOCK_BYTES = 8 * 2**20


# profile intervals of binary fits with fewer rows than this many per estimated
# coefficient correct every end's Newton matrix (I) by the penalty's curvature at the
# optimum (:meth:`FirthObjective.exact_hessian`): measured (one thread), the ends of
# 1,000 x 50 fits took 3 evaluations instead of 4, 500 x 20 3 instead of 4 to 5, and
# 2,000 x 50 6 of 102 ends one fewer, while 1,000 x 20, 3,000 x 50 and larger took as
# many either way (the correction then costs a quarter of an evaluation step for nothing)
EXACT_HESSIAN_ROWS_PER_COEF = 40


class FirthObjective:
    """-(log L + 1/2 log det I) / total_weight of a binary or multinomial logit
    :class:`Objective` (unpenalised; its offset, (n, m), added to eta), over its row
    blocks.

    free: (p,) bool, the natural parameters estimated (False: slopes of aliased columns,
    held at 0 and left out of I); None for all. newton: the Newton matrix of
    :meth:`evaluate`, "fisher" (I: one product a pass fewer, and as few iterations,
    measured) or "augmented" (logistf's, binary fits).
    """

    # evaluate()'s "Hessian" is a Newton matrix, not the penalised likelihood's Hessian
    hessian_is_exact = False

    def __init__(self, objective: Objective, free=None, newton: str = "fisher"):
        if newton not in ("fisher", "augmented"):
            raise ValueError(f"newton must be 'fisher' or 'augmented', got {newton!r}")
        family = objective.family
        if not isinstance(family, (Binomial, Multinomial)) or objective.q:
            raise ValueError("Firth's penalty is implemented for binary logit and multinomial "
                             "(baseline-category logit) models")
        if isinstance(family, Multinomial) and objective.m != objective.n_classes - 1:
            raise ValueError("Firth's multinomial penalty needs the baseline-category form")
        self.base = objective
        self.m, self.d, self.d1 = objective.m, objective.d, objective.d1
        self.n_params = objective.n_params
        self.total_weight = objective.total_weight
        self.reads = objective.reads
        self.free = np.ones(self.n_params, bool) if free is None else np.asarray(free, bool)
        self.cols = self.free.reshape(self.m, self.d1)[0]  # (d1,) columns in I
        self._cache = None  # (theta, log L, Cholesky, log det I, I, probabilities, score)
        self.batch_cache = None  # the row products of evaluate_batch, when small
        self._exact_hessian = None  # (theta, exact_hessian(theta)) of the latest theta
        self.newton = newton
        # the profile machinery's cue to correct I by the penalty's curvature
        self.exact_hessian_pays = self.m == 1 and (
            objective.n < EXACT_HESSIAN_ROWS_PER_COEF * int(self.cols.sum()))
        # rows a block: its temporaries (about m + 2 copies of the block, and the m
        # blocks of hat-matrix rows, m * d1 wide each) within _BLOCK_BYTES, and never
        # fewer rows than the objective's own blocks (small X: one block, not 1/16 of X)
        width = (self.m + 2) * self.d1 + self.m * self.m * self.d1
        self.block_rows = max(objective.block_rows, _BLOCK_BYTES // (8 * width))

    # -- passes -----------------------------------------------------------------------
    def _blocks(self, block_rows=None):
        """(rows, Xb (b, ds) float64 slopes' columns, y (b,), w (b,), offset (b, m) or
        None) per row block (of ``block_rows``, default the objective's); the intercept
        column is never made (its products are column sums)."""
        ob = self.base
        slopes = self.cols[: self.d]
        size = self.block_rows if block_rows is None else block_rows
        for start in range(0, ob.n, size):
            rows = slice(start, min(start + size, ob.n))
            Xb = np.asarray(dense(ob.X[rows]), dtype=np.float64)
            if not slopes.all():
                Xb = Xb[:, slopes]
            offset = None if ob.offset is None else np.asarray(ob.offset[rows], np.float64)
            yield (rows, Xb, np.asarray(ob.y[rows]), np.asarray(ob.w[rows], dtype=np.float64),
                   offset)

    def _probabilities(self, Xb, Wf, offset):
        """(eta (b, m), pi (b, m) non-base class probabilities, log-sum-exp (b,)) at the
        restricted coefficients Wf (m, dc), the block's ``offset`` (b, m) added."""
        ds = Xb.shape[1]
        eta = (Xb @ Wf[0, :ds])[:, None] if self.m == 1 else Xb @ Wf[:, :ds].T
        if self.base.fit_intercept:
            eta = eta + Wf[:, ds]
        if offset is not None:
            eta = eta + offset
        top = np.maximum(eta.max(axis=1), 0.0)
        ex = np.exp(eta - top[:, None])
        total = ex.sum(axis=1) + np.exp(-top)
        return eta, ex / total[:, None], top + np.log(total)

    def _gram(self, Xb, v) -> np.ndarray:
        """Xa' diag(v) Xa (dc, dc), Xa = [Xb, 1] with the intercept, by one general
        product (measured: as fast as a symmetric rank-k update of sqrt(v) Xb, which
        needs v >= 0, a square root and a mirrored triangle)."""
        ds = Xb.shape[1]
        scaled = (Xb * v[:, None]).T  # (ds, b)
        top = scaled @ Xb
        if not self.base.fit_intercept:
            return top
        out = np.empty((ds + 1, ds + 1))
        out[:ds, :ds] = top
        out[ds, :ds] = out[:ds, ds] = scaled.sum(axis=1)
        out[ds, ds] = v.sum()
        return out

    def _restricted(self, theta):
        W = np.asarray(theta, dtype=float)[: self.m * self.d1].reshape(self.m, self.d1)
        return W[:, self.cols]

    def information_pass(self, theta):
        """(log L, Cholesky factor of I (lower) or None when I is not positive definite,
        log det I, I) over the estimated parameters, one pass; cached for ``theta`` with
        the rows' probabilities (n x m floats) for :meth:`score_pass`."""
        theta = np.asarray(theta, dtype=float)
        if self._cache is not None and np.array_equal(self._cache[0], theta):
            return self._cache[1:5]
        self.reads.rows += self.base.n
        Wf = self._restricted(theta)
        m, dc = self.m, Wf.shape[1]
        info = np.zeros((m * dc, m * dc))
        loglik = 0.0
        probabilities = np.empty((self.base.n, m))
        for rows, Xb, y, w, offset in self._blocks():
            eta, pi, lse = self._probabilities(Xb, Wf, offset)
            probabilities[rows] = pi
            own = np.where(y > 0, eta[np.arange(len(y)), np.maximum(y, 1) - 1], 0.0)
            loglik += float(w @ (own - lse))
            for k in range(m):  # diagonal blocks, and (j, k) = (k, j)' for j > k
                for j in range(k, m):
                    block = self._gram(Xb, pi[:, k] * ((k == j) - pi[:, j]) * w)
                    info[j * dc:(j + 1) * dc, k * dc:(k + 1) * dc] += block
                    if j != k:
                        info[k * dc:(k + 1) * dc, j * dc:(j + 1) * dc] += block.T
        try:
            if not np.all(np.isfinite(info)):
                raise np.linalg.LinAlgError("non-finite information")
            chol = sla.cholesky(info, lower=True, check_finite=False)
            logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
        except np.linalg.LinAlgError:
            chol, logdet = None, -np.inf
        self._cache = (theta.copy(), loglik, chol, logdet, info, probabilities, None)
        return loglik, chol, logdet, info

    def score_pass(self, theta, augmented: bool | None = None):
        """(modified score U* (p,) over the natural layout, (n,) hat values (binary) or
        None, Newton matrix (p_free, p_free)), one pass after :meth:`information_pass` at
        ``theta``; cached. Hat values h_i = w_i p_i (1 - p_i) x_i' I^-1 x_i (logistf's
        ``hat.diag``) from rows of Xa L^-T (L the Cholesky factor of I: b x p numbers a
        block, never n x n). The Newton matrix is I, or with ``augmented`` (binary fits;
        default: the objective's ``newton == "augmented"``) logistf's augmented-data
        information X' diag((w_i + h_i) p_i (1 - p_i)) X, one more product a block."""
        self.information_pass(theta)
        binary = self.m == 1
        if augmented is None:
            augmented = self.newton == "augmented"
        augmented = augmented and binary
        cache = self._cache
        if cache[6] is not None and (cache[6][3] or not augmented):
            return cache[6][:3]
        _, _, chol, _, info, probabilities, _ = cache
        self.reads.rows += self.base.n
        m, dc = self.m, int(self.cols.sum())
        ds = dc - int(self.base.fit_intercept)
        inverse = sla.solve_triangular(chol, np.eye(m * dc), lower=True,  # L^-1
                                       check_finite=False)
        score = np.zeros((m, dc))
        hats = np.empty(self.base.n) if binary else None
        newton = np.zeros((dc, dc)) if augmented else None
        for rows, Xb, y, w, _ in self._blocks():
            pi = probabilities[rows]
            Z = []  # rows of Xa_k L^-T, Xa_k the row in class k's block: (b, m dc)
            for k in range(m):
                Zk = Xb @ inverse[:, k * dc:k * dc + ds].T
                if self.base.fit_intercept:
                    Zk += inverse[:, k * dc + ds]
                Z.append(Zk)
            if binary:
                p = pi[:, 0]
                H = np.einsum("bj,bj->b", Z[0], Z[0])
                h = w * p * (1 - p) * H
                hats[rows] = h
                G = (w * ((y == 1) - p) + h * (0.5 - p))[:, None]
                if augmented:
                    newton += self._gram(Xb, (w + h) * p * (1 - p))
            else:
                H = np.empty((len(y), m, m))
                for k in range(m):
                    for j in range(k, m):
                        H[:, k, j] = H[:, j, k] = np.einsum("bj,bj->b", Z[k], Z[j])
                diag = np.einsum("bkk->bk", H)
                Hpi = np.einsum("bkj,bj->bk", H, pi)
                a = 0.5 * pi * (diag - (pi * diag).sum(axis=1, keepdims=True) - 2.0 * Hpi
                                + 2.0 * (pi * Hpi).sum(axis=1, keepdims=True))
                onehot = (y[:, None] == np.arange(1, m + 1)[None, :]).astype(float)
                G = w[:, None] * (onehot - pi + a)
            score[:, :ds] += G.T @ Xb
            if self.base.fit_intercept:
                score[:, ds] += G.sum(axis=0)
        full = np.zeros((m, self.d1))
        full[:, self.cols] = score
        result = (full.ravel(), hats, newton if augmented else info, augmented)
        self._cache = (*cache[:6], result)
        return result[:3]

    # -- the Objective interface ------------------------------------------------------
    def penalised_log_likelihood(self, theta) -> float:
        """log L + 1/2 log det I at ``theta`` (-inf where I is singular)."""
        loglik, _, logdet, _ = self.information_pass(theta)
        return loglik + 0.5 * logdet

    def evaluate(self, theta, order: int):
        """(value, grad (p,), hess (p, p)) on the mean scale, None beyond ``order``:
        value = -(log L + 1/2 log det I) / total_weight, grad its gradient, hess the
        Newton matrix of :meth:`score_pass` / total_weight (an approximation of the
        Hessian, logistf's; parameters not estimated get a unit diagonal and zero
        gradient). value is +inf where I is singular. Two passes over X for order >= 1."""
        loglik, chol, logdet, _ = self.information_pass(theta)
        N = self.total_weight
        value = -(loglik + 0.5 * logdet) / N
        if order == 0 or chol is None:
            return value, None, None
        score, _, newton = self.score_pass(theta)
        if order == 1:
            return value, -score / N, None
        if self.free.all():
            return value, -score / N, newton / N
        hess = np.eye(self.n_params)
        index = np.flatnonzero(self.free)
        hess[np.ix_(index, index)] = newton / N
        return value, -score / N, hess

    def evaluate_batch(self, thetas):
        """(values (k,), grads (k, p), hess (k, p, p)): :meth:`evaluate` to order 2 at
        each row of ``thetas`` (k, p), binary fits in one pair of passes over X for all k
        points (:func:`logitkit.firth_batch.evaluate_batch`); value +inf (grad, hess
        NaN) where I is singular."""
        from logitkit.firth_batch import evaluate_batch

        return evaluate_batch(self, thetas)

    def exact_hessian(self, theta):
        """(p, p) the Hessian of :meth:`evaluate`'s value at ``theta``, the penalty's
        curvature included (:func:`logitkit.firth_batch.exact_hessian`; binary fits),
        or None (multinomial fits). Kept for the latest theta: a summary's intervals and
        tests both correct their Newton matrices by it at the optimum."""
        if self.m != 1:
            return None
        from logitkit.firth_batch import exact_hessian

        theta = np.asarray(theta, dtype=float)
        kept = self._exact_hessian
        if kept is None or not np.array_equal(kept[0], theta):
            kept = self._exact_hessian = (theta.copy(), exact_hessian(self, theta))
        return kept[1].copy()

    def third_derivatives(self, theta, V):
        """(r, p) the second derivative in t of the gradient of -log L / total_weight at
        theta + t v, t = 0, for each row v of V (r, p): X' (w p (1 - p) (1 - 2p) (x'v)^2)
        / N on the estimated columns (binary fits; None for multinomial). Firth's penalty
        is left out: the profile machinery uses it for the ends' starting points only."""
        if self.m != 1:
            return None
        theta, V = np.asarray(theta, dtype=float), np.asarray(V, dtype=float)
        out = np.zeros(V.shape)
        wf, Vf = self._restricted(theta)[0], V[:, self.cols]
        ds = int(self.cols[: self.d].sum())
        sums = np.zeros((len(V), len(wf)))
        for _, Xb, _, w, offset in self._blocks():
            eta = Xb @ wf[:ds] + (wf[ds] if self.base.fit_intercept else 0.0)
            if offset is not None:
                eta = eta + offset[:, 0]
            pi = expit(eta)
            s = Xb @ Vf[:, :ds].T + (Vf[:, ds] if self.base.fit_intercept else 0.0)
            weighted = (w * pi * (1 - pi) * (1 - 2 * pi))[:, None] * s * s  # (b, r)
            sums[:, :ds] += weighted.T @ Xb
            if self.base.fit_intercept:
                sums[:, ds] += weighted.sum(axis=0)
        self.reads.rows += self.base.n
        out[:, self.cols] = sums / self.total_weight
        return out

    def hat_values(self, theta) -> np.ndarray:
        """(n,) hat values of a binary fit at ``theta`` (logistf's ``hat.diag``)."""
        if self.m != 1:
            raise ValueError("hat values are defined here for binary fits")
        return self.score_pass(theta)[1]

    def augmented_information(self, theta) -> np.ndarray:
        """(p_free, p_free) logistf's augmented-data information X' diag((w_i + h_i) p_i
        (1 - p_i)) X of a binary fit (its covariance is the inverse)."""
        if self.m != 1:
            raise ValueError("the augmented-data information is defined for binary fits")
        return self.score_pass(theta, augmented=True)[2]

    def information(self, theta) -> np.ndarray:
        """(p_free, p_free) Fisher information (sums) of the estimated parameters."""
        return self.information_pass(theta)[3]


@dataclass(frozen=True)
class FirthFit:
    """A (possibly constrained) maximiser: natural ``theta``, penalised log-likelihood,
    the solver report."""

    theta: np.ndarray
    penalised_log_likelihood: float
    report: SolverReport


def fit_firth(problem, start, tol: float = 1e-8, max_iter: int = 100, fixed=None,
              decrement: float | None = None, secant: bool = False,
              correction=None) -> FirthFit:
    """Maximise the penalised likelihood of ``problem`` (anything with ``evaluate``,
    ``n_params``, ``total_weight``, the mean scale of :class:`FirthObjective`) from
    natural ``start``, the parameters where ``fixed`` ((p,) bool) is True held at their
    values in ``start``.

    Newton steps on the modified score with the problem's Newton matrix (``secant``: after
    the first step corrected by :func:`secant_corrected` along the last step, for refits
    that start near their optimum; ``correction`` (p, p), added to it first: the Hessian
    minus the Newton matrix at the unconstrained optimum, for refits near it), at most
    MAX_STEP in any parameter (logistf's maxstep), halved while the penalised likelihood falls.
    Converged when every free gradient entry, standardised by the square root of its
    information, is at most ``tol``: |g_j| / sqrt(I_jj / N) <= tol on the mean scale; with
    ``decrement``, also when the Newton decrement g' H^-1 g / 2 (on the sum scale: what a
    full step would still add to the penalised log-likelihood) is at most ``decrement``,
    the rule for refits whose only output is their maximum (a test statistic), which is
    then reported as the value plus that gain.
    Each iteration costs two passes over X (information, then score).
    """
    theta = np.array(start, dtype=float)
    move = np.ones(problem.n_params, bool) if fixed is None else ~np.asarray(fixed, bool)
    free = getattr(problem, "free", None)
    if free is not None:
        move &= free
    value, grad, hess = problem.evaluate(theta, 2)
    if not np.isfinite(value):
        raise ValueError("the Fisher information is singular at the starting point: every "
                         "class needs rows with positive weight, and the columns must not be "
                         "collinear")
    converged, n_iter, crit, gain = False, 0, np.inf, 0.0
    previous = None
    while True:
        g = grad[move]
        Hm = hess[np.ix_(move, move)]
        if correction is not None:
            Hm = Hm + correction[np.ix_(move, move)]
        if previous is not None and secant:  # the curvature the Newton matrix misses
            Hm = secant_corrected(Hm, theta[move] - previous[0], g - previous[1])
        previous = (theta[move], g)
        crit = float(np.max(np.abs(g) / np.sqrt(np.diag(Hm)), initial=0.0))
        if crit <= tol:
            converged, gain = True, 0.0
            break
        step = -sla.cho_solve(sla.cho_factor(Hm, lower=True), g, check_finite=False)
        gain = -0.5 * (g @ step) * problem.total_weight
        if decrement is not None and gain <= decrement:
            converged = True
            break
        if n_iter >= max_iter:
            break
        n_iter += 1
        largest = float(np.max(np.abs(step)))
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(_MAX_HALVINGS):
            trial = theta.copy()
            trial[move] += step
            trial_value = problem.evaluate(trial, 0)[0]
            if trial_value <= value + 1e-13 * max(1.0, abs(value)):
                break
            step *= 0.5
        else:  # no decrease along the Newton direction: as close as rounding allows
            break
        theta = trial
        value, grad, hess = problem.evaluate(theta, 2)
    report = SolverReport(params=theta, value=float(value), grad_max=crit, n_iter=n_iter,
                          converged=converged,
                          reason="gradient tolerance" if converged else (
                              "max_iter" if n_iter >= max_iter else "no decrease"))
    # with ``decrement``, the maximum is the value plus the gain a last step would add
    # (an estimate within about a tenth of that gain, which is at most ``decrement``)
    pll = -value * problem.total_weight + (gain if decrement is not None and converged
                                           and np.isfinite(gain) else 0.0)
    return FirthFit(theta, pll, report)
