"""Solvers: each minimises a :class:`~logitkit.parametrization.SolverProblem`.

A solver sees only ``evaluate(s, order)`` and the parameter count; it never knows the
family. Each returns a :class:`SolverReport`.
"""

from logitkit.solvers.lbfgs import lbfgs
from logitkit.solvers.lbfgs_first import lbfgs_first
from logitkit.solvers.newton import newton
from logitkit.solvers.newton_cg import newton_cg
from logitkit.solvers.report import SolverReport

SOLVERS = {"newton": newton, "newton-cg": newton_cg, "lbfgs": lbfgs,
           "lbfgs-first": lbfgs_first}

__all__ = ["SOLVERS", "SolverReport", "lbfgs", "lbfgs_first", "newton", "newton_cg"]
