"""Fit an objective: starting values, solver choice, and the frozen :class:`FitResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from logitkit.backends import on_accelerator, to_numpy
from logitkit.design import column_subset
from logitkit.hessian_samples import hessian_objectives, hessian_step
from logitkit.objective import Objective
from logitkit.parametrization import SolverProblem, column_moments
from logitkit.penalties import L1Penalty
from logitkit.solvers import SOLVERS, SolverReport
from logitkit.solvers.lbfgs_first import suits
from logitkit.solvers.newton import NewtonSystem
from logitkit.solvers.prox_newton import prox_newton

# Newton's p x p Hessian is cheap up to this many parameters; beyond it, truncated Newton
# (Hessian-vector products, one pass over X each)
NEWTON_MAX_PARAMS = 1000
# multinomial fits switch to truncated Newton below NEWTON_MAX_PARAMS once (Hessian rows x
# parameters) / rows reaches this (one thread, best of 2: K=10 200k x 50 with 50k Hessian
# rows, ratio 115: Newton 2.43 s, Newton-CG 1.91 s; K=5 50k x 100, ratio 404: 5.05 s vs
# 0.69 s; K=20 30k x 20, ratio 399: 1.30 s vs 0.28 s; K=3 200k x 50, ratio 26: 0.85 s vs
# 0.96 s). Binary and ordinal fits keep Newton (binary 20k x 500: 0.58 s vs 0.80 s;
# ordinal 100k x 30, 5 levels: 0.48 s vs 0.66 s)
NEWTON_CG_HESSIAN_RATIO = 100
# the starting probability of a class with no weight (its MLE is 0)
_EMPTY_CLASS_SHARE = 1e-12
# an ordinal Newton fit on at least WARM_START_STEP * WARM_START_ROWS rows (and 400 per
# parameter) starts from the fit on every WARM_START_STEP-th row (a sample large enough
# starts from its own sample), fitted to WARM_START_TOL: one thread, interleaved, best of
# 5, 50k x 30 and 20k x 20 fits 1.02x to 1.34x faster (13-16 -> 10-11.6 passes at 50k x 30),
# 100k x 20 probit and cloglog 1.14x to 1.18x, logit 0.92x to 0.96x (7 -> 6.6 passes);
# at 10k x 20 the sample cost more than it saved (0.67x to 1.13x). Not on a GPU, where a
# small fit's launches and syncs cost more than the passes it saves (H200, 10M x 100
# float32, interleaved, best of 5: 0.079 s without it against 0.095 s with it)
WARM_START_STEP = 8
WARM_START_ROWS = 2500
WARM_START_TOL = 1e-4
_WARM_START_MAX_ITER = 20
# a binary fit (at most WARM_START_BINARY_PARAMS parameters) starts
# from the fit of one row sample (:func:`sample_step`), but only when Newton's first step
# from the null model would change the linear predictor by more than WARM_START_NULL_STEP
# in weighted mean square (on a probe of the rows, :func:`_far_from_null`) and the
# sample's smaller class has WARM_START_EVENTS_PER_PARAM weight per parameter: then the
# first steps from the null model are damped, and the sample's fit takes them for a
# fraction of their cost. Below the threshold the sample buys nothing (the suite's
# weak-signal iid case, 0.2: 5 iterations either way, 0.35 against 0.39 s); above it,
# one thread, best of 3, suite cases at full size (null start -> warm start): strong
# (2.5) 0.162 -> 0.109 s, tall (0.7) 0.376 -> 0.286 s, float32 (0.69) 0.69 -> 0.62 s,
# toeplitz (0.34-0.44) 0.264 -> 0.259 s; the rare case (94 positives in a 15,600-row
# sample) took 7 iterations from the sample's optimum as from the null model. Up to
# WARM_START_BINARY_PARAMS the probe's Hessian costs little next to a pass, and a Dask
# fit's sample (at most WARM_START_SAMPLE_BYTES) comes back with the scan
WARM_START_NULL_STEP = 0.3
WARM_START_BINARY_PARAMS = 101
WARM_START_EVENTS_PER_PARAM = 10
WARM_START_SAMPLE_BYTES = 32 * 2**20
WARM_START_ROWS_PER_PARAM = 250


@dataclass(frozen=True)
class FitResult:
    """An immutable fit: natural parameters and the statistics a summary needs.

    params: flat natural vector, laid out as described in :mod:`logitkit.objective`.
    Log-likelihoods count frequency weights as repeated rows. ``hessian`` is the natural
    mean Hessian of the objective at ``params`` when the solver computed it there.
    ``aliased``: (d,) bool, the design columns left out of the fit (their slopes are 0 in
    ``params``; see :mod:`logitkit.aliasing`), None when none were.
    """

    params: np.ndarray
    objective_value: float
    log_likelihood: float
    null_log_likelihood: float
    n_obs: float
    solver: str
    report: SolverReport
    hessian: np.ndarray | None = field(default=None, repr=False)
    aliased: np.ndarray | None = None

    @property
    def n_iter(self) -> int:
        return self.report.n_iter

    def free(self, objective: Objective) -> np.ndarray:
        """(p,) bool: the natural parameters that were estimated (not aliased slopes)."""
        return free_parameters(objective.n_params, objective.d1, objective.q, self.aliased)

    @property
    def n_aliased_columns(self) -> int:
        return 0 if self.aliased is None else int(np.count_nonzero(self.aliased))

    @property
    def converged(self) -> bool:
        return self.report.converged


def free_parameters(n_params: int, d1: int, n_aux: int, aliased) -> np.ndarray:
    """(p,) bool mask of the natural parameters (layout of :mod:`logitkit.objective`:
    rows of W of width d1, slopes first, then n_aux) estimated when the columns
    ``aliased`` ((d,) bool or None) are left out: every slope of an aliased column is 0."""
    free = np.ones(n_params, dtype=bool)
    if aliased is not None and np.any(aliased):
        W = free[: n_params - n_aux].reshape(-1, d1)
        W[:, : len(aliased)] = ~np.asarray(aliased, dtype=bool)
    return free


def choose_solver(solver: str, n_params: int, objective: Objective | None = None) -> str:
    """The solver "auto" stands for: Newton up to NEWTON_MAX_PARAMS parameters, unless the
    model has several eta columns (multinomial) and Newton's Hessian rows times the
    parameters reach NEWTON_CG_HESSIAN_RATIO times the rows (a Hessian then costs about
    25 or more passes over X); beyond, L-BFGS first (:mod:`logitkit.solvers.lbfgs_first`)
    for one eta column where its history is small next to X, else truncated Newton (with
    several eta columns L-BFGS needs many iterations: K=50 50k x 20, 100 and unconverged
    against Newton-CG's 6). Without an ``objective`` (the Dask scan's guesses, before the
    data's classes are known) neither test is made: beyond NEWTON_MAX_PARAMS it says
    "lbfgs-first", which like "newton-cg" starts with a gradient pass from the null
    model."""
    if solver != "auto":
        return solver
    if n_params > NEWTON_MAX_PARAMS:
        if objective is None:
            return "lbfgs-first"
        return "lbfgs-first" if objective.m == 1 and suits(objective, n_params) else "newton-cg"
    if objective is not None and objective.m > 1 and hessian_costly(
            objective.n, n_params, objective.n_params):
        return "newton-cg"
    return "newton"


def hessian_costly(n_rows: int, n_params: int, hessian_params: int) -> bool:
    """Whether Newton's Hessian of ``n_params`` parameters, from the rows
    :func:`hessian_step` samples for ``hessian_params``, costs NEWTON_CG_HESSIAN_RATIO
    passes' worth (sample rows times parameters against the rows) or more."""
    sample_rows = -(-n_rows // hessian_step(n_rows, hessian_params))
    return sample_rows * n_params >= NEWTON_CG_HESSIAN_RATIO * n_rows


def null_parameters(objective: Objective, sums=None) -> np.ndarray:
    """Natural parameters of the intercept-only (or, without intercepts, all-zero) model;
    ``sums``: :func:`class_weight_sums` if already known."""
    ob = objective
    sums = class_weight_sums(ob) if sums is None else sums
    # a class without weight (class_weight 0) starts, and stays, near probability 0
    sums = np.where(sums > 0, sums, _EMPTY_CLASS_SHARE * sums.sum())
    intercepts, aux = ob.family.null_parameters(sums)
    W = np.zeros((ob.m, ob.d1))
    if ob.fit_intercept:
        W[:, ob.d] = intercepts
    return ob.pack(W, aux)


def class_weight_sums(objective: Objective) -> np.ndarray:
    """(K,) total weight of each class."""
    return objective.class_weight_sums()


def null_log_likelihood(objective: Objective, sums=None) -> float:
    """Log-likelihood of the null model: the intercepts (or cut points) alone, with the
    offset when there is one, as R's null deviance and statsmodels' llnull. In closed
    form without an offset: class frequencies when the model has intercepts or cut
    points, equal probabilities when it has neither (logit and softmax); else the
    constant-only model's fit, or its value at zero."""
    sums = class_weight_sums(objective) if sums is None else sums
    total = sums.sum()
    constant = objective.fit_intercept or objective.q
    if objective.offset is None and constant:
        present = sums > 0
        return float(np.sum(sums[present] * np.log(sums[present] / total)))
    if objective.offset is None and objective.family.link == "logit":
        return float(-total * np.log(objective.n_classes))
    if not constant:  # eta = the offset alone
        return -float(objective.loss_terms(np.zeros(objective.n_params), 0)[0])
    ob = objective  # (in memory: Dask objectives take no offset)
    null = Objective(ob.family, column_subset(ob.X, np.zeros(0, dtype=np.intp)), ob.y, ob.w,
                     ob.n_classes, ob.fit_intercept, reads=ob.reads, offset=ob.offset)
    null.block_rows = null.wide_block_rows = ob.block_rows
    problem = SolverProblem(null, null, np.ones(null.n_params, dtype=bool))
    report = SOLVERS["newton"](problem, problem.from_natural(null_parameters(null, sums)),
                               1e-10, 100)
    return -float(report.value) * null.total_weight


def fit_objective(objective: Objective, solver: str, tol: float, max_iter: int,
                  aliased: np.ndarray | None = None, l1: L1Penalty | None = None,
                  start=None, screen=None, known=None, workspace=None,
                  polish: bool = True, probe: bool = True) -> FitResult:
    """Minimise ``objective`` (+ the ``l1`` penalty) from the null model with the named
    solver ("auto" picks; prox-newton whenever ``l1`` has alpha > 0), the slopes of the
    ``aliased`` columns ((d,) bool) fixed at 0. prox-newton only: ``start``, natural
    parameters to start from (a warm start), ``screen``, (d,) bool columns for its
    first working set, ``known``, (value, gradient) of ``objective`` at ``start``, and
    ``workspace``, working-set columns shared with other fits on the same X. ``polish``:
    whether Newton polishes a converged fit (see :class:`SolverProblem`); ``probe``:
    whether a binary Newton fit asks :func:`_far_from_null` before it starts from a
    sample's fit (a warm start's own sample fit takes its answer)."""
    if solver == "prox-newton" or (solver == "auto" and l1 is not None and l1.alpha > 0):
        return _fit_proximal(objective, l1, tol, max_iter, aliased, start, screen, known,
                             workspace)
    free = free_parameters(objective.n_params, objective.d1, objective.q, aliased)
    name = choose_solver(solver, int(free.sum()), objective)
    sums = class_weight_sums(objective)
    # (the warm start's sample is freed before a Hessian's sample is made)
    warm = (_warm_start(objective, name, tol, aliased, sums, probe) if name == "newton"
            else None)
    moments = column_moments(objective, objective.fit_intercept or objective.q > 0)
    curvature, denser = (hessian_objectives(objective, moments) if name == "newton"
                         else (None, None))
    problem = SolverProblem(objective, curvature, free, polish, denser, moments)
    start = problem.from_natural(null_parameters(objective, sums) if warm is None else warm)
    report = SOLVERS[name](problem, start, tol, max_iter)
    params = problem.to_natural(report.params)
    W, _ = objective.unpack(params)
    loss = (report.value - objective.penalty.value(W)) * objective.total_weight
    return FitResult(
        params=params,
        objective_value=float(report.value),
        log_likelihood=-loss,
        null_log_likelihood=null_log_likelihood(objective, sums),
        n_obs=objective.total_weight,
        solver=report.solver or name,
        report=report,
        hessian=_hessian_at(problem, params),
        aliased=None if aliased is None or not np.any(aliased) else np.asarray(aliased, bool),
    )


def _fit_proximal(objective: Objective, l1, tol, max_iter, aliased, start, screen,
                  known=None, workspace=None):
    """:func:`fit_objective` by :func:`~logitkit.solvers.prox_newton.prox_newton`."""
    l1 = L1Penalty(0.0, objective.d) if l1 is None else l1
    sums = class_weight_sums(objective)
    theta0 = null_parameters(objective, sums) if start is None else start
    report = prox_newton(objective, l1, theta0, tol, max_iter, screen, aliased,
                         None if start is None else known, workspace)
    W, _ = objective.unpack(report.params)
    penalties = objective.penalty.value(W) + l1.value(W[:, : objective.d])
    return FitResult(
        params=report.params,
        objective_value=float(report.value),
        log_likelihood=-(report.value - penalties) * objective.total_weight,
        null_log_likelihood=null_log_likelihood(objective, sums),
        n_obs=objective.total_weight,
        solver="prox-newton",
        report=report,
        aliased=None if aliased is None or not np.any(aliased) else np.asarray(aliased, bool),
    )


def _warm_start(objective: Objective, solver: str, tol: float, aliased, sums, probe: bool):
    """Natural parameters of the fit on every k-th row to start a Newton fit from, or None.
    Ordinal fits start from every WARM_START_STEP-th row (a sample long enough from its
    own sample) whenever they have the rows. Binary fits with at most
    WARM_START_BINARY_PARAMS parameters start from the innermost sample of that chain
    (one fit, fewer than WARM_START_STEP times its rows) when :func:`_far_from_null` says
    so (asked when ``probe``) and its smaller class has WARM_START_EVENTS_PER_PARAM
    weight per parameter. None on an accelerator, for multinomial fits, or when the
    sample fit did not converge or lacks a class that has weight. The sample's rows count
    in n_passes_ as their share; its optimum is within its sampling error of the full
    one, where Newton converges quadratically."""
    free = free_parameters(objective.n_params, objective.d1, objective.q, aliased)
    rows = warm_start_rows(int(free.sum()))
    if (objective.m > 1 or objective.n < WARM_START_STEP * rows
            or on_accelerator(objective.X)):
        return None
    binary = objective.q == 0
    if binary and not (objective.n_params <= WARM_START_BINARY_PARAMS
                       and (not probe or _far_from_null(objective, free))):
        return None
    step = sample_step(objective.n, objective.d, rows) if binary else WARM_START_STEP
    sample = _row_sample(objective, step)
    sample_sums = class_weight_sums(sample)
    if np.any((sample_sums > 0) != (sums > 0)) or (
            binary and sample_sums.min() < WARM_START_EVENTS_PER_PARAM * free.sum()):
        return None
    # no polishing step: two Hessian passes over the sample (probit, 50k x 30: 2 of its
    # 11 passes) for digits below the sample's distance to the full optimum
    result = fit_objective(sample, solver, max(tol, WARM_START_TOL),
                           _WARM_START_MAX_ITER, aliased, polish=False, probe=False)
    if not (result.converged and np.all(np.isfinite(result.params))):
        return None
    return result.params


def warm_start_rows(n_params: int) -> int:
    """The fewest rows a warm start's sample (and a binary fit's probe) takes for a
    model of ``n_params`` parameters: WARM_START_ROWS, or 50 per parameter."""
    return max(WARM_START_ROWS, 50 * n_params)


def sample_step(n_rows: int, n_columns: int, rows: int) -> int:
    """The k of a binary fit's warm-start sample of ``n_rows`` rows of X with
    ``n_columns`` columns: every WARM_START_STEP^j-th row, the largest j >= 1 that leaves
    WARM_START_ROWS_PER_PARAM rows per parameter (a finer sample made its start no
    better: 3M x 10, 5,900 rows and 375,000 rows both 4 iterations), or more while the
    sample's float64 X exceeds WARM_START_SAMPLE_BYTES, down to ``rows`` rows (those of
    the ordinal chain's innermost sample)."""
    least = max(rows, WARM_START_ROWS_PER_PARAM * (n_columns + 1))
    step = WARM_START_STEP
    while True:
        deeper = -(-n_rows // (step * WARM_START_STEP))
        large = -(-n_rows // step) * n_columns * 8 > WARM_START_SAMPLE_BYTES
        if not (deeper >= least or (large and deeper >= rows)):
            return step
        step *= WARM_START_STEP


def _row_sample(objective: Objective, step: int) -> Objective:
    """The objective over every ``step``-th row: of a NumPy X, a C-order copy (1/step of
    X's bytes, freed with the sample fit; the compiled row pass over a strided view of
    62,500 x 100 float64 rows took 13 ms against 4 ms over the copy), else a view (of
    a Dask objective: see its ``subset``)."""
    rows = slice(0, None, step)
    if isinstance(objective.X, np.ndarray):
        return objective.subset(rows, contiguous=True)
    return objective.subset(rows)


def probe_step(n_rows: int, n_columns: int) -> int:
    """The k of :func:`_far_from_null`'s probe, every k-th of ``n_rows`` rows of X with
    ``n_columns`` columns: at least max(WARM_START_ROWS, 50 (n_columns + 1)) rows and
    fewer than twice that (a mean-square estimate's noise about p / rows, 0.02)."""
    return max(1, n_rows // warm_start_rows(n_columns + 1))


def _far_from_null(objective: Objective, free) -> bool:
    """Whether Newton's first step from the null model changes the linear predictor by
    more than WARM_START_NULL_STEP in weighted mean square, measured on the rows of
    :func:`probe_step`. At the null model (one linear predictor, no offset) every row has
    the same Hessian weight h, so the mean square is the Newton decrement over h: the
    intercept's diagonal entry of the mean Hessian, or without an intercept (the null
    model all zeros) the rows' mean weight at eta = 0 (a statsmodels-style design with
    its own column of ones fits without one)."""
    probe = _row_sample(objective, probe_step(objective.n, objective.d))
    _, grad, hess = probe.evaluate(null_parameters(probe), 2)
    grad, hess = to_numpy(grad)[free], to_numpy(hess)
    weight = (hess[objective.d, objective.d] if objective.fit_intercept
              else _null_row_weight(probe))
    decrement = -float(grad @ NewtonSystem(hess[np.ix_(free, free)]).solve(grad))
    return weight > 0 and decrement > WARM_START_NULL_STEP * weight


def _null_row_weight(objective: Objective) -> float:
    """The weighted mean of the rows' Hessian weights at eta = the offset (0 without
    one): what an intercept's entry of the mean Hessian would be at the null model of a
    binary fit without an intercept."""
    eta = np.zeros((objective.n, 1))
    if objective.offset is not None:
        eta += to_numpy(objective.offset).reshape(objective.n, 1)
    y, w = (np.asarray(to_numpy(a), dtype=float) for a in (objective.y, objective.w))
    total = float(np.sum(w))
    derivatives = objective.family.derivatives(eta, np.zeros(0), y, w, 2)
    return float(np.sum(derivatives.hess_eta_diag)) / total if total > 0 else 0.0


def _hessian_at(problem: SolverProblem, params) -> np.ndarray | None:
    """The full natural mean Hessian if the solver evaluated it at ``params``."""
    if problem.last_hessian is None:
        return None
    theta, hess = problem.last_hessian
    return to_numpy(hess) if np.array_equal(theta, params) else None
