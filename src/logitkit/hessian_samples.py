"""Row samples that Newton takes its curvature from: the values and gradients stay exact,
the Hessian may come from every k-th row, and a sample that misrepresents the curvature
gives way to denser ones, all rows last.

A sample's Hessian is an unbiased estimate of the mean Hessian, but a few rows can carry
most of it: with heavy-tailed columns (Student's t(2), lognormal) a row's squared norm in
standardised columns reaches hundreds of times the columns' number, and every k-th row
then misses or overweights them. Where such *heavy* rows carry a share of the squared
norms (measured on the column-moment sample), the first sample of a NumPy X (or a
sparse or categorical design) keeps every heavy row whole and draws one of each run of k
of the others (weight k): the rows that dominate the estimate's error are exact. A sample
that still misrepresents the curvature
(a period in the rows, as weekday dummies of rows in time order, that every k-th row
sees as constant) gives way to a random draw of the same size, then to ever denser ones.
"""

from __future__ import annotations

import numpy as np

from logitkit.design import is_design
from logitkit.objective import HESSIAN_DENSER, Objective, hessian_sample_step
from logitkit.parametrization import column_moments, moment_step

# below this many parameters a Hessian pass costs little more than a gradient pass (3M x
# 10: 1.6x), so the rows are sampled only when the sample is at most 1/_FEW_PARAMS_STEP
# of them: there the saving outweighs the linear convergence of a sampled Hessian (binary
# 900k x 10, one thread, best of 3 interleaved: 2.52 s, 6 iterations, sampled, against
# 3.19 s, 4 iterations of full Hessians)
_MIN_SAMPLED_PARAMS = 50
_FEW_PARAMS_STEP = 8
# a row is heavy when its squared norm in standardised columns (whose mean is the number of
# columns d) exceeds max(HEAVY_FACTOR d, d + HEAVY_SDS sqrt(2 d)): a row of d independent
# normal columns (chi-square, d degrees of freedom) almost never is (the share below, 300k
# rows: 2.4% at d = 1, 0.5% at d = 2, 0 from d = 10; the suite's Toeplitz-correlated
# columns, rho 0.95: 0.8%; with a factor of 2 instead of 4 their fit took the norms' pass
# and the same 5 iterations)
HEAVY_FACTOR = 4.0
HEAVY_SDS = 6.0
# Newton's first sample keeps the heavy rows whole when they carry at least this share of
# the column-moment sample's squared norms (300k x 50: t(2) columns 38% to 43% on two
# draws, lognormal 44%)
HEAVY_SHARE = 0.05
# a random draw (heavy rows or not) is a copy of 1 / k of X's rows: below a step k of 6
# (past 17% of X) all rows serve instead, with no copy
_MIN_DRAW_STEP = 6
# the seed of the random draws (the same data give the same fit)
_SAMPLE_SEED = 0


def hessian_objective(objective: Objective, moments=None) -> Objective:
    """The objective Newton takes curvature from first (:func:`hessian_objectives`)."""
    return hessian_objectives(objective, moments)[0]


def hessian_objectives(objective: Objective, moments=None):
    """(The objective Newton takes curvature from first, an iterator of the denser ones it
    moves to when a sample misrepresents the curvature:
    :func:`~logitkit.solvers.newton.newton`). The first: itself, or every k-th row
    (evenly spaced rows also represent data sorted by class: :func:`hessian_sample`), k
    from :func:`hessian_step`; of a NumPy X or a design with heavy rows
    (:func:`heavy_share`), the heavy rows and a random draw of the others
    (:func:`random_sample`). The denser ones, of a NumPy X or a design: a random draw of
    the same size (unless the first was one), then of HESSIAN_DENSER times the rows, ...,
    all rows last (all rows instead of a draw with a step under _MIN_DRAW_STEP, and
    of the first sample with heavy rows); of other X, every
    (k / HESSIAN_DENSER)-th row, ..., all rows. ``moments``: X's (means, scales) as
    :func:`~logitkit.parametrization.column_moments` gives them, if known."""
    step = hessian_step(objective.n, objective.n_params)
    if step == 1:
        return objective, iter(())
    if not _draws(objective):
        return hessian_sample(objective, step), _denser(objective, step, None)
    if moments is None:
        moments = column_moments(objective, objective.fit_intercept or objective.q > 0)
    if heavy_share(objective, moments) < HEAVY_SHARE:
        return hessian_sample(objective, step), _denser(objective, step, None, True)
    if step < _MIN_DRAW_STEP:
        return objective, iter(())
    norms = standardised_norms(objective.X, *moments)
    objective.reads.rows += objective.n
    return random_sample(objective, step, norms), _denser(objective, step, norms)


def _denser(objective: Objective, step: int, norms, redraw: bool = False):
    """The denser Hessian objectives of :func:`hessian_objectives`: random draws (keeping
    the heavy rows of ``norms`` whole) where :func:`_draws`, the first at ``step`` when
    ``redraw``; every k-th row of other X."""
    draws = _draws(objective)
    if draws and redraw and step >= _MIN_DRAW_STEP:
        yield random_sample(objective, step)
    while step > 1:
        step //= HESSIAN_DENSER
        if step < (_MIN_DRAW_STEP if draws else 2):
            yield objective
            return
        yield random_sample(objective, step, norms) if draws else hessian_sample(
            objective, step)


def _draws(objective: Objective) -> bool:
    """Whether Newton's samples of ``objective``'s X may be random draws: a NumPy X or a
    structured design (sparse, categorical), whose rows a gather copies (a Dask or torch
    X takes every k-th row)."""
    return isinstance(objective.X, np.ndarray) or is_design(objective.X)


def hessian_sample(objective: Objective, step: int) -> Objective:
    """The objective over every ``step``-th row: a view of X in row order (no copy); of
    a NumPy X in column order (a DataFrame's block) a copy in column order, whose strided
    view made the Hessian passes' products slow (500k x 100 in column order, one thread:
    the fit 0.58 s over the view, 0.44 s over a C-order copy, 0.37 s for X in row order;
    every 6th row of 300k x 50 copied in column order in 11 ms against 22 ms in C order,
    Gram products and X @ W' over either copy in the same time). A random draw's rows
    (:func:`random_sample`) stay a C-order copy: gathered in column order they took
    longer (22-31 against 18 ms for 50,000 of 300k rows)."""
    rows = slice(0, None, step)
    if isinstance(objective.X, np.ndarray) and not objective.X.flags.c_contiguous:
        return objective.subset(rows, contiguous=True, order="K")
    return objective.subset(rows)


def random_sample(objective: Objective, step: int, norms=None) -> Objective:
    """The objective over one row drawn at random from each run of ``step`` rows, its
    weight times ``step`` (each row drawn with probability 1 / step: an unbiased Hessian
    that no period in the rows can fool); given the rows' standardised squared ``norms``
    ((n,)), every heavy row (:func:`heavy_rows`, at most half as many as the draws)
    whole at its own weight and the others drawn from longer runs, so that the sample
    keeps the draws' number of rows. A copy of X's rows (C order for NumPy)."""
    n = objective.n
    draws = -(-n // step)
    heavy = np.zeros(0, dtype=np.intp) if norms is None else heavy_rows(
        norms, objective.d, draws // 2)
    if heavy.size:  # (runs of ``light``, as long as the rows left need)
        step = -(-n // (draws - heavy.size))
    rows = _one_of_each_run(n, step)
    factor = np.full(rows.size, float(step))
    if heavy.size:
        whole = np.zeros(n, dtype=bool)
        whole[heavy] = True
        light = rows[~whole[rows]]
        rows = np.concatenate([heavy, light])
        factor = np.concatenate([np.ones(heavy.size), np.full(light.size, float(step))])
        order = np.argsort(rows, kind="stable")
        rows, factor = rows[order], factor[order]
    return objective.subset(rows, contiguous=True, weight_factor=factor)


def _one_of_each_run(n: int, step: int) -> np.ndarray:
    """(ceil(n / step) or one fewer,) one row index drawn at random from each run of
    ``step`` rows of n (seeded), each row's chance 1 / step."""
    runs = -(-n // step)
    rows = np.arange(0, n, step) + np.random.default_rng(_SAMPLE_SEED).integers(0, step, runs)
    return rows[rows < n]


def heavy_threshold(d: int) -> float:
    """The standardised squared norm above which a row of ``d`` columns is heavy."""
    return max(HEAVY_FACTOR * d, d + HEAVY_SDS * np.sqrt(2.0 * d))


def heavy_rows(norms, d: int, most: int) -> np.ndarray:
    """(h,) sorted indices of the rows whose ``norms`` pass :func:`heavy_threshold`, the
    ``most`` largest of them when there are more."""
    heavy = np.flatnonzero(norms > heavy_threshold(d))
    if heavy.size > most:
        heavy = np.sort(heavy[np.argpartition(norms[heavy], heavy.size - most)[-most:]])
    return heavy


def heavy_share(objective: Objective, moments) -> float:
    """The weighted share of the standardised squared norms that heavy rows carry, on
    the rows :func:`~logitkit.parametrization.column_moments` samples."""
    X, w = objective.sample_rows(moment_step(objective.n))
    norms = standardised_norms(X, *moments)
    weighted = norms * np.asarray(w, dtype=np.float64)
    total = float(weighted.sum())
    heavy = float(weighted[norms > heavy_threshold(objective.d)].sum())
    return heavy / total if total > 0 else 0.0


def standardised_norms(X, means, scales, block_bytes: int = 2**20) -> np.ndarray:
    """(n,) float64 squared norms of X's (n, d) rows in standardised columns,
    sum_j ((x_ij - means_j) / scales_j)^2, in blocks of rows (temporaries of at most
    ``block_bytes``); of a structured design (sparse, categorical) from its squares."""
    n, d = X.shape
    inverse = 1.0 / np.asarray(scales, dtype=np.float64)
    shifts = np.asarray(means, dtype=np.float64) * inverse**2
    constant = float(np.sum(means * shifts))
    norms = np.empty(n)
    rows = max(1, block_bytes // (8 * max(getattr(X, "row_width", d), 1)))
    for start in range(0, n, rows):
        block = X[start:start + rows]
        if is_design(block):
            norms[start:start + rows] = (block.square() @ inverse**2 - 2.0 * (block @ shifts)
                                         + constant)
            continue
        Z = np.asarray(block, dtype=np.float64) - means
        Z *= inverse
        norms[start:start + rows] = np.einsum("ij,ij->i", Z, Z)
    return norms


def hessian_step(n_rows: int, n_params: int) -> int:
    """The k of :func:`hessian_objectives`' every-k-th-row sample (1: all rows)."""
    step = hessian_sample_step(n_rows, n_params)
    return 1 if step < (2 if n_params >= _MIN_SAMPLED_PARAMS else _FEW_PARAMS_STEP) else step
