"""Newton's method: Cholesky on the equilibrated Hessian, Armijo backtracking.

Values and gradients are always exact; the Hessian may come from a row subsample
(``problem.hessian``). A point that will need a fresh Hessian whatever its gradient is
evaluated with ``problem.evaluate_with_hessian``, so the Hessian may come from the
same pass (on Dask, the same graph). A Hessian that costs many gradient passes
(``problem.expensive_hessian``) or comes from a sample (``problem.reuse_hessian``) is
kept while the gradient keeps falling fast; a cheap sampled one only once the steps are
small (Newton decrement at most ``_SETTLED_DECREMENT``), where it changes by less than
its sampling error. A kept Hessian gets a BFGS (secant) update from each step and the
exact change of the gradient, which corrects it along the directions the iteration
moves in. A sampled Hessian that misrepresents the curvature (the steps show it: see
``_misrepresents``) gives way to a denser sample, all rows last
(``problem.densify_hessian``).
Equilibration (D H D with D = diag(H)^-1/2) makes the solve insensitive to how the
parameters are scaled. A Hessian that is not positive
definite (collinear columns) falls back to a minimum-norm step through its
eigen-decomposition.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

from logitkit.backends import like, to_numpy
from logitkit.backends.threads import blas_threads, limit_blas
from logitkit.solvers.report import SolverReport

_EPS = np.finfo(float).eps
# keep the Hessian while each step cuts the largest gradient entry at least fourfold (on
# the benchmark's multinomial case, 0.25 rather than 0.1 saved one of three sampled
# Hessians at the same number of iterations: 1.75 s instead of 2.23 s)
_REUSE_RATIO = 0.25
# a cheap (sampled) Hessian is kept only after a step whose Newton decrement g' H^-1 g
# (twice the decrease the quadratic model predicts, in mean-loss units) is at most this:
# the linear predictors then moved by about 0.2 (root mean square) or less
_SETTLED_DECREMENT = 1e-2
# a Hessian from a row sample misrepresents the curvature (:func:`_misrepresents`) when
# a full step from a fresh one is rejected and finds the curvature along the step more
# than _UNDERESTIMATE times what it predicts (a dummy column that is 0 on every sampled
# row, as rows of a weekly period sampled every 7th: 70 to 280 times there), or when two
# steps running cut the gradient less than 1 / _SLOW_RATIO-fold once settled (a
# representative sample cuts it 20- to 40-fold; heavy-tailed columns, where a few rows
# carry the curvature: 1.05- to 4-fold): later Hessians then come from a denser sample
# (problem.densify_hessian); a sample's Hessian that is singular gives way at once. One
# thread, best of 3, before -> after: 196k x 56 with weekday dummies, every 7th row
# sampled: 100 iterations unconverged (7.9 s; without a penalty 2.9 s, 100) -> 3
# iterations, 0.20 s (0.25 s); 300k x 50 t(2) columns: 56 -> 6 iterations, 1.33 ->
# 0.33 s; lognormal columns: 23 -> 7, 0.68 -> 0.31 s and 13 -> 7, 0.29 -> 0.24 s
_UNDERESTIMATE = 2.0
_SLOW_RATIO = 0.2
# a p x p factorisation (p <= 1000) and its solves gain little from many BLAS threads,
# and many lose badly when another runtime's threads still hold the cores (a 909 x 909
# Cholesky took 4 ms alone but ~110 ms inside a fit on PyTorch CUDA tensors, 16 cores;
# a solve with it 2.6 ms there, 0.5 ms on 2 cores)
_FACTOR_THREADS = 4


def _factor_threads() -> int:
    """At most _FACTOR_THREADS, never more than the BLAS uses now (more threads than
    cores made a 459 x 459 Cholesky 12 times slower on 2 cores)."""
    return min([_FACTOR_THREADS, *blas_threads()])


class NewtonSystem:
    """A factorised Hessian: ``solve(grad)`` returns the Newton step -H^-1 grad (NumPy).
    A tensor Hessian is factorised where it lives (on a GPU: a 909 x 909 Cholesky and
    its solve without a host round trip of the matrix)."""

    def __init__(self, hess):
        self.host = isinstance(hess, np.ndarray)
        if not self.host:
            self._factor_tensor(hess)
            return
        diag = np.sqrt(np.maximum(np.diag(hess), 0.0))
        self.scale = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 1.0)
        H = hess * self.scale[:, None] * self.scale[None, :]
        self.singular = False
        with limit_blas(_factor_threads()):
            self._factor(H)

    def _factor(self, H):
        try:
            self.factor = la.cho_factor(H, lower=True, check_finite=False)
            if not np.all(np.isfinite(self.factor[0])):
                raise la.LinAlgError("non-finite Cholesky factor")
        except la.LinAlgError:
            self.factor = None
            self.singular = True
            self.evecs, self.evals = _kept_eigen(*np.linalg.eigh(H))

    def _factor_tensor(self, hess):
        import torch

        diag = torch.sqrt(torch.clamp(torch.diagonal(hess), min=0.0))
        self.scale = torch.where(diag > 0, 1.0 / torch.where(diag > 0, diag, 1.0), 1.0)
        H = hess * self.scale[:, None] * self.scale[None, :]
        factor, info = torch.linalg.cholesky_ex(H)
        self.singular = bool(info.item() != 0 or not torch.isfinite(factor).all())
        self.factor = None if self.singular else factor
        if self.singular:
            self.evecs, self.evals = _kept_eigen(*torch.linalg.eigh(H))

    def solve(self, grad: np.ndarray) -> np.ndarray:
        if not self.host:
            import torch

            g = like(grad, self.scale) * self.scale
            if self.factor is not None:
                step = torch.cholesky_solve(-g[:, None], self.factor)[:, 0]
            else:
                step = -self.evecs @ ((self.evecs.T @ g) / self.evals)
            return to_numpy(step * self.scale)
        g = grad * self.scale
        if self.factor is not None:
            with limit_blas(_factor_threads()):
                step = la.cho_solve(self.factor, -g, check_finite=False)
        else:
            step = -self.evecs @ ((self.evecs.T @ g) / self.evals)
        return step * self.scale


def _kept_eigen(evals, evecs):
    """(eigenvectors, eigenvalues) of the directions with curvature above rounding: the
    minimum-norm step of a singular (collinear) Hessian."""
    keep = evals > evals.max() * 1e3 * _EPS * len(evals)
    return evecs[:, keep], evals[keep]


def secant_update(matrix, step, change) -> bool:
    """BFGS update of ``matrix`` (NumPy, or a tensor where it lives) in place from a step
    and the exact change of the gradient along it; skipped (False) when the measured
    curvature y's disagrees with the matrix's s'Hs by more than a factor 2 (noise, or a
    Hessian gone stale)."""
    step, change = like(step, matrix), like(change, matrix)
    Hs = matrix @ step
    curvature, measured = float(step @ Hs), float(change @ step)
    if not (curvature > 0 and 0.5 * curvature <= measured <= 2.0 * curvature):
        return False
    matrix -= Hs[:, None] * (Hs / curvature)[None, :]
    matrix += change[:, None] * (change / measured)[None, :]
    return True


def _grad_max(grad) -> float:
    return float(np.max(np.abs(grad))) if grad.size else 0.0


def _polish(problem, s, value, grad, hessian, fused, kept):
    """One more Newton step once the gradient is below tol (not counted in n_iter), with a
    Hessian from all rows: at quadratic convergence it takes the optimum to the precision
    of float64 for the price of one pass. The Hessian is ``kept`` (the system formed at
    the last step's start, BFGS-updated: from a gradient below tol its error, of the
    order of that step, changes the step's digits beyond float64's), else ``hessian()``
    or one formed at s. A sampled
    Hessian converges linearly (each step cuts the gradient by the sample's error, about
    20-fold), so a step with it would be one more iteration at the price of a pass: such
    fits stop at tol, as do fits whose problem says not to polish (a warm start's
    sample fit). Kept only if the value does not rise beyond rounding and the
    gradient shrinks; returns (s, value, grad)."""
    grad_max = _grad_max(grad)
    exact = problem.hessian_objective is problem.objective
    if grad_max == 0 or not exact or not getattr(problem, "polish", True):
        return s, value, grad
    if kept is None:
        kept = NewtonSystem(hessian() if hessian is not None else problem.hessian(s))
    step = kept.solve(grad)
    # an unpenalised fit's inference needs the Hessian at the optimum: form it in this pass
    order = 2 if fused or problem.objective.alpha == 0 else 1
    # ... and the score products the inference reads there (Objective.scores_in_pass)
    scoring = getattr(problem.objective, "scores_in_pass", None)
    if order == 2 and problem.objective.alpha == 0 and scoring is not None:
        with scoring():
            new_value, new_grad, _ = problem.evaluate(s + step, order)
    else:
        new_value, new_grad, _ = problem.evaluate(s + step, order)
    if (new_value <= value + 1e3 * problem.eps * max(1.0, abs(value))
            and _grad_max(new_grad) < grad_max):
        return s + step, new_value, new_grad
    return s, value, grad


def _evaluate(problem, s, hessian: bool):
    """(value, grad, hessian) at ``s``: ``hessian`` None, or when ``hessian`` a function
    that returns the Hessian at ``s`` (see ``problem.evaluate_with_hessian``)."""
    if hessian:
        return problem.evaluate_with_hessian(s)
    value, grad, _ = problem.evaluate(s, 1)
    return value, grad, None


def _hessian_follows(problem, decrement: float) -> bool:
    """Whether the point a step of this Newton decrement reaches needs a fresh Hessian
    whatever its gradient: the step's Hessian cannot be kept (see the reuse rule in
    :func:`newton`)."""
    return not (problem.reuse_hessian
                and (problem.expensive_hessian or decrement <= _SETTLED_DECREMENT))


def _misrepresents(decrement: float, t: float, cut: float, change, taken) -> bool:
    """Whether a step from a fresh (sampled) Hessian shows it misrepresenting the
    curvature: the gradient's change along the step taken, ``change`` @ ``taken``, is
    more than _UNDERESTIMATE times what the Hessian predicts (t^2 times the Newton
    decrement), or a full step in the settled range (decrement at most
    _SETTLED_DECREMENT) cut the largest gradient entry by less than 1 / _SLOW_RATIO
    (``cut``, its ratio; 1 for a rejected step)."""
    return (float(change @ taken) > _UNDERESTIMATE * t * t * decrement
            or (t == 1 and decrement <= _SETTLED_DECREMENT and cut > _SLOW_RATIO))


def _fused(problem) -> bool:
    """Whether the curvature comes from all rows and is refreshed every step: the pass
    that evaluates a trial point then also forms its Hessian."""
    return problem.hessian_objective is problem.objective and not problem.reuse_hessian


def newton(problem, s0, tol: float, max_iter: int) -> SolverReport:
    """Minimise ``problem`` from ``s0`` until max |gradient| <= tol."""
    s = np.array(s0, dtype=float)
    # hess: None, or a function giving the Hessian at s (from the pass that evaluated s)
    value, grad, hess = _evaluate(problem, s, True)
    history, system, matrix, singular = [], None, None, False
    converged, reason, it, slow = False, "maximum number of iterations reached", 0, 0
    formed = 0  # the iteration whose point the current system's Hessian was formed at
    while True:
        grad_max = _grad_max(grad)
        history.append({"iteration": it, "objective": value, "grad_max": grad_max})
        if grad_max <= tol:
            converged, reason = True, "gradient below tol"
            recent = system if it - formed <= 1 else None  # (formed at the last point)
            s, value, grad = _polish(problem, s, value, grad, hess, _fused(problem),
                                     recent)
            break
        if it == max_iter:
            break
        fresh = system is None
        if fresh:
            # (a fresh array from the problem: a kept one is updated in place)
            matrix = hess() if hess is not None else problem.hessian(s)
            system, formed = NewtonSystem(matrix), it
            if system.singular and problem.densify_hessian():
                system = hess = None  # (a sample that saw a column constant)
                continue
            singular |= system.singular
        step = system.solve(grad)
        decrement = -float(grad @ step)
        if decrement <= 1e3 * problem.eps * max(1.0, abs(value)):
            # the objective, computed at the data's precision, can no longer show a
            # decrease: trust the full Newton step while it still shrinks the gradient (the
            # fit is about to end: a Hessian there would most likely go unused)
            new_value, new_grad, new_hess = _evaluate(problem, s + step, _fused(problem))
            if _grad_max(new_grad) >= grad_max:
                # a stale Hessian, or a sample's blind to where the gradient lies (its
                # null space): refresh from denser rows before declaring the end
                if not fresh or problem.densify_hessian():
                    system = hess = None
                    singular &= not fresh
                    continue
                converged, reason = True, "no further progress at machine precision"
                break
            # a kept (sampled or expensive) Hessian stays, secant-updated, while the
            # gradient falls fast, as after an accepted step below
            keep = (problem.reuse_hessian and not system.singular
                    and _grad_max(new_grad) <= _REUSE_RATIO * grad_max
                    and secant_update(matrix, step, new_grad - grad))
            s, value, grad, hess, it = s + step, new_value, new_grad, new_hess, it + 1
            system = None
            if keep:
                system = NewtonSystem(matrix)
            continue
        t, accepted, densified = 1.0, False, False
        follows = _hessian_follows(problem, decrement)
        for _ in range(40):
            new_value, new_grad, new_hess = _evaluate(problem, s + t * step, follows)
            if new_value <= value - 1e-4 * t * decrement:
                accepted = True
                break
            # a rejected full step: the sample, not the distance, may be to blame
            if t == 1 and fresh and _misrepresents(decrement, t, 1.0, new_grad - grad,
                                                   step):
                densified = problem.densify_hessian()
                if densified:
                    break
            t *= 0.5
        if not accepted:
            if not fresh or densified:  # a stale or densified Hessian: refresh and retry
                system = hess = None
                singular &= not densified  # (the data's, not the sample's, is reported)
                continue
            reason = "line search failed"
            break
        s, value, hess, it = s + t * step, new_value, new_hess, it + 1
        cut = _grad_max(new_grad) / grad_max
        slow = slow + 1 if fresh and _misrepresents(decrement, t, cut, new_grad - grad,
                                                    t * step) else 0
        if slow == 2 and problem.densify_hessian():
            slow, system, hess, singular = 0, None, None, False
        elif not follows and t == 1 and cut <= _REUSE_RATIO:
            if not system.singular and secant_update(matrix, step, new_grad - grad):
                system = None  # (freed before the new factor is formed)
                system = NewtonSystem(matrix)
        else:
            system = None
        grad = new_grad
    if singular:
        reason += "; the Hessian was singular (collinear or constant columns)"
    return SolverReport(s, value, _grad_max(grad), it, converged, reason, history)
