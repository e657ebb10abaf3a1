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
(value = -(log L + 1/2 log det I) / total_weight, its gradient, and as "Hessian" I /
total_weight, the Fisher information that logistf's Newton steps use), ``total_weight``
and ``n_params``. :func:`fit_firth` maximises it, optionally with some parameters held
fixed (constrained refits for tests and profiles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from logitkit.design import dense
from logitkit.families import Binomial, Multinomial
from logitkit.objective import Objective
from logitkit.solvers.report import SolverReport

# logistf's default largest change of a parameter in one Newton step (maxstep = 5)
MAX_STEP = 5.0
_MAX_HALVINGS = 40


class FirthObjective:
    """-(log L + 1/2 log det I) / total_weight of a binary or multinomial logit
    :class:`Objective` (unpenalised, no offsets), over its row blocks.

    free: (p,) bool, the natural parameters estimated (False: slopes of aliased columns,
    held at 0 and left out of I); None for all.
    """

    def __init__(self, objective: Objective, free=None):
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
        self._cache = None  # (theta, log L, Cholesky factor, log det I, I)

    # -- passes -----------------------------------------------------------------------
    def _blocks(self):
        ob = self.base
        for rows in ob._blocks(wide=True):
            Xb = np.asarray(dense(ob.X[rows]), dtype=np.float64)
            Xa = np.empty((Xb.shape[0], self.d1))
            Xa[:, : self.d] = Xb
            if ob.fit_intercept:
                Xa[:, self.d] = 1.0
            yield (Xa if self.cols.all() else Xa[:, self.cols]), np.asarray(ob.y[rows]), \
                np.asarray(ob.w[rows], dtype=np.float64)

    def _probabilities(self, Xa, Wf):
        """(eta (b, m), pi (b, m) non-base class probabilities, log-sum-exp (b,))."""
        eta = Xa @ Wf.T
        top = np.maximum(eta.max(axis=1), 0.0)
        ex = np.exp(eta - top[:, None])
        total = ex.sum(axis=1) + np.exp(-top)
        return eta, ex / total[:, None], top + np.log(total)

    def _restricted(self, theta):
        W = np.asarray(theta, dtype=float)[: self.m * self.d1].reshape(self.m, self.d1)
        return W[:, self.cols]

    def information_pass(self, theta):
        """(log L, Cholesky factor of I (lower) or None when I is not positive definite,
        log det I, I) over the estimated parameters, one pass; cached for ``theta``."""
        theta = np.asarray(theta, dtype=float)
        if self._cache is not None and np.array_equal(self._cache[0], theta):
            return self._cache[1:]
        self.reads.rows += self.base.n
        Wf = self._restricted(theta)
        m, dc = self.m, Wf.shape[1]
        info = np.zeros((m * dc, m * dc))
        loglik = 0.0
        for Xa, y, w in self._blocks():
            eta, pi, lse = self._probabilities(Xa, Wf)
            rows = np.arange(len(y))
            own = np.where(y > 0, eta[rows, np.maximum(y, 1) - 1], 0.0)
            loglik += float(w @ (own - lse))
            for k in range(m):
                for j in range(k, m):
                    v = pi[:, k] * ((k == j) - pi[:, j]) * w
                    block = (Xa * v[:, None]).T @ Xa
                    info[k * dc:(k + 1) * dc, j * dc:(j + 1) * dc] += block
                    if j != k:
                        info[j * dc:(j + 1) * dc, k * dc:(k + 1) * dc] += block.T
        try:
            chol = sla.cholesky(info, lower=True)
            logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
        except np.linalg.LinAlgError:
            chol, logdet = None, -np.inf
        self._cache = (theta.copy(), loglik, chol, logdet, info)
        return loglik, chol, logdet, info

    def score_pass(self, theta, chol, hats: bool = False):
        """(modified score U* (p,) over the natural layout, (n,) hat values or None), one
        pass; ``chol`` the Cholesky factor of I at ``theta``. Hat values (binary only):
        h_i = w_i p_i (1 - p_i) x_i' I^-1 x_i, the diagonal of logistf's hat matrix."""
        self.reads.rows += self.base.n
        Wf = self._restricted(theta)
        m, dc = self.m, Wf.shape[1]
        score = np.zeros((m, dc))
        hat_values = [] if hats else None
        for Xa, y, w in self._blocks():
            _, pi, _ = self._probabilities(Xa, Wf)
            b = len(y)
            Z = []  # Z_k = L^-1 (e_k kron x_i): (m dc, b), zero above block k
            for k in range(m):
                rhs = np.zeros((m * dc, b))
                rhs[k * dc:(k + 1) * dc] = Xa.T
                Z.append(sla.solve_triangular(chol, rhs, lower=True, check_finite=False))
            H = np.empty((b, m, m))
            for k in range(m):
                for j in range(k, m):
                    H[:, k, j] = H[:, j, k] = np.einsum("rb,rb->b", Z[k], Z[j])
            diag = np.einsum("bkk->bk", H)
            Hpi = np.einsum("bkj,bj->bk", H, pi)
            a = 0.5 * pi * (diag - (pi * diag).sum(axis=1, keepdims=True) - 2.0 * Hpi
                            + 2.0 * (pi * Hpi).sum(axis=1, keepdims=True))
            onehot = (y[:, None] == np.arange(1, m + 1)[None, :]).astype(float)
            G = w[:, None] * (onehot - pi + a)
            score += G.T @ Xa
            if hats:
                hat_values.append(w * pi[:, 0] * (1 - pi[:, 0]) * H[:, 0, 0])
        full = np.zeros((m, self.d1))
        full[:, self.cols] = score
        return full.ravel(), None if not hats else np.concatenate(hat_values)

    # -- the Objective interface ------------------------------------------------------
    def penalised_log_likelihood(self, theta) -> float:
        """log L + 1/2 log det I at ``theta`` (-inf where I is singular)."""
        loglik, _, logdet, _ = self.information_pass(theta)
        return loglik + 0.5 * logdet

    def evaluate(self, theta, order: int):
        """(value, grad (p,), hess (p, p)) on the mean scale, None beyond ``order``:
        value = -(log L + 1/2 log det I) / total_weight, grad its gradient, hess the Fisher
        information / total_weight (the Newton matrix; parameters not estimated get a
        unit diagonal and zero gradient). value is +inf where I is singular."""
        loglik, chol, logdet, info = self.information_pass(theta)
        N = self.total_weight
        value = -(loglik + 0.5 * logdet) / N
        if order == 0 or chol is None:
            return value, None, None
        grad = -self.score_pass(theta, chol)[0] / N
        if order == 1:
            return value, grad, None
        hess = np.eye(self.n_params)
        index = np.flatnonzero(self.free)
        hess[np.ix_(index, index)] = info / N
        return value, grad, hess

    def hat_values(self, theta) -> np.ndarray:
        """(n,) hat values of a binary fit at ``theta`` (logistf's ``hat.diag``)."""
        if self.m != 1:
            raise ValueError("hat values are defined here for binary fits")
        _, chol, _, _ = self.information_pass(theta)
        return self.score_pass(theta, chol, hats=True)[1]

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


def fit_firth(problem, start, tol: float = 1e-8, max_iter: int = 100, fixed=None) -> FirthFit:
    """Maximise the penalised likelihood of ``problem`` (anything with ``evaluate``,
    ``n_params``, ``total_weight``, the mean scale of :class:`FirthObjective`) from
    natural ``start``, the parameters where ``fixed`` ((p,) bool) is True held at their
    values in ``start``.

    Newton steps on the modified score with the Fisher information, at most MAX_STEP in
    any parameter (logistf's maxstep), halved while the penalised likelihood falls.
    Converged when every free gradient entry, standardised by the square root of its
    information, is at most ``tol``: |g_j| / sqrt(I_jj / N) <= tol on the mean scale.
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
    converged, n_iter, crit = False, 0, np.inf
    while True:
        g = grad[move]
        Hm = hess[np.ix_(move, move)]
        crit = float(np.max(np.abs(g) / np.sqrt(np.diag(Hm)), initial=0.0))
        if crit <= tol:
            converged = True
            break
        if n_iter >= max_iter:
            break
        n_iter += 1
        step = -sla.cho_solve(sla.cho_factor(Hm, lower=True), g)
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
    return FirthFit(theta, -value * problem.total_weight, report)
