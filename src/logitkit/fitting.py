"""Fit an objective: starting values, solver choice, and the frozen :class:`FitResult`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logitkit.objective import Objective
from logitkit.parametrization import SolverProblem
from logitkit.solvers import SOLVERS, SolverReport

# Newton's p x p Hessian is cheap up to this many parameters; beyond it, L-BFGS
NEWTON_MAX_PARAMS = 1000


@dataclass(frozen=True)
class FitResult:
    """An immutable fit: natural parameters and the statistics a summary needs.

    params: flat natural vector, laid out as described in :mod:`logitkit.objective`.
    Log-likelihoods count frequency weights as repeated rows.
    """

    params: np.ndarray
    objective_value: float
    log_likelihood: float
    null_log_likelihood: float
    n_obs: float
    solver: str
    report: SolverReport

    @property
    def n_iter(self) -> int:
        return self.report.n_iter

    @property
    def converged(self) -> bool:
        return self.report.converged


def choose_solver(solver: str, n_params: int) -> str:
    if solver == "auto":
        return "newton" if n_params <= NEWTON_MAX_PARAMS else "lbfgs"
    return solver


def null_parameters(objective: Objective) -> np.ndarray:
    """Natural parameters of the intercept-only (or, without intercepts, all-zero) model."""
    ob = objective
    class_sums = np.bincount(
        np.asarray(ob.y, dtype=np.int64), weights=np.asarray(ob.w), minlength=ob.n_classes
    )
    intercepts, aux = ob.family.null_parameters(class_sums)
    W = np.zeros((ob.m, ob.d1))
    if ob.fit_intercept:
        W[:, ob.d] = intercepts
    return ob.pack(W, aux)


def fit_objective(objective: Objective, solver: str, tol: float, max_iter: int) -> FitResult:
    """Minimise ``objective`` from the null model with the named solver ("auto" picks)."""
    start = null_parameters(objective)
    null_loss, _, _ = objective.loss_terms(start, 0)
    problem = SolverProblem(objective)
    name = choose_solver(solver, objective.n_params)
    report = SOLVERS[name](problem, problem.from_natural(start), tol, max_iter)
    params = problem.to_natural(report.params)
    loss, _, _ = objective.loss_terms(params, 0)
    return FitResult(
        params=params,
        objective_value=float(report.value),
        log_likelihood=-loss,
        null_log_likelihood=-null_loss,
        n_obs=objective.total_weight,
        solver=name,
        report=report,
    )
