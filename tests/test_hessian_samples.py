"""Newton's Hessian row samples: random draws (one row of each run of k, weight k) are
unbiased and reproducible; heavy rows (a large squared norm in standardised columns)
are kept whole; the share of heavy rows tells heavy-tailed columns from normal ones; a
structured design's norms equal the dense array's."""

import numpy as np
import pytest
import scipy.sparse as sp

import logitkit as lk
from logitkit import hessian_samples
from logitkit.families import Binomial
from logitkit.objective import Objective
from logitkit.parametrization import column_moments
from logitkit.sparse import SparseDesign


def _objective(X, w=None):
    n = X.shape[0]
    y = np.arange(n) % 2
    return Objective(Binomial(), X, y, np.ones(n) if w is None else w, 2, True)


def test_a_random_draw_takes_one_row_of_each_run_at_weight_k():
    X = np.arange(1000.0)[:, None] * np.ones((1, 3))
    w = np.linspace(1.0, 2.0, 1000)
    sample = hessian_samples.random_sample(_objective(X, w), 10)
    rows = sample.X[:, 0].astype(int)
    assert sample.n == 100 and sample.X.flags.c_contiguous
    np.testing.assert_array_equal(rows // 10, np.arange(100))  # one of each run
    np.testing.assert_allclose(sample.w, 10 * w[rows])
    np.testing.assert_array_equal(sample.y, rows % 2)
    again = hessian_samples.random_sample(_objective(X, w), 10)  # seeded: the same rows
    np.testing.assert_array_equal(again.X, sample.X)
    assert len(np.unique(rows % 10)) > 5  # (not every k-th row)


def test_heavy_rows_are_kept_whole_at_their_own_weight():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))  # (a normal row passes 57.9 with odds 1.5e-5)
    heavy = np.array([3, 777, 15_001])  # (none in the column-moment sample)
    X[heavy, 2] = 1e3
    objective = _objective(X)
    norms = hessian_samples.standardised_norms(X, *column_moments(objective, True))
    np.testing.assert_array_equal(hessian_samples.heavy_rows(norms, 20, 100), heavy)
    np.testing.assert_array_equal(hessian_samples.heavy_rows(norms, 20, 2), heavy[:2])
    sample = hessian_samples.random_sample(objective, 50, norms)
    kept = np.flatnonzero(np.abs(sample.X[:, 2]) == 1e3)
    assert len(kept) == 3 and np.all(sample.w[kept] == 1.0)
    light = np.ones(sample.n, dtype=bool)
    light[kept] = False
    # the others one of each run of 51 rows (397 runs: the sample keeps 400 rows)
    assert np.all(sample.w[light] == 51.0) and sample.n <= 400
    assert sample.total_weight == pytest.approx(20_000, rel=0.01)


def test_the_heavy_share_tells_heavy_tails_from_normal_columns():
    rng = np.random.default_rng(1)
    for d in (1, 2, 10, 50):
        normal = _objective(rng.normal(size=(100_000, d)))
        moments = column_moments(normal, True)
        assert hessian_samples.heavy_share(normal, moments) < hessian_samples.HEAVY_SHARE
    for X in (rng.standard_t(2, size=(100_000, 20)), rng.lognormal(0, 1.5, (100_000, 20))):
        heavy = _objective(X)
        moments = column_moments(heavy, True)
        assert hessian_samples.heavy_share(heavy, moments) > 4 * hessian_samples.HEAVY_SHARE


def test_a_sparse_design_has_the_dense_norms_and_draws():
    rng = np.random.default_rng(2)
    X = sp.random_array((5_000, 30), density=0.1, format="csr", random_state=rng)
    dense, design = _objective(X.toarray()), _objective(SparseDesign(sp.csr_array(X)))
    moments = column_moments(dense, True)
    norms = hessian_samples.standardised_norms(dense.X, *moments)
    np.testing.assert_allclose(hessian_samples.standardised_norms(design.X, *moments),
                               norms, rtol=1e-10, atol=1e-10)
    drawn = [hessian_samples.random_sample(o, 7, norms) for o in (dense, design)]
    np.testing.assert_array_equal(drawn[1].X.toarray(), drawn[0].X)
    np.testing.assert_array_equal(drawn[1].w, drawn[0].w)


@pytest.mark.parametrize("kind", ["t2", "lognormal"])
def test_heavy_tailed_fits_reach_the_optimum_of_all_rows_hessians(monkeypatch, kind):
    """Binary (110k x 50: every 5th row) and multinomial fits (K=3, 200k x 50: every 4th;
    at these steps the fits take all rows, unless told otherwise) whose first Hessian
    sample keeps the heavy rows whole reach the optimum of fits that take every Hessian
    from all rows."""
    monkeypatch.setattr(hessian_samples, "_MIN_DRAW_STEP", 4)  # (the samples' mechanism)
    rng = np.random.default_rng(3)
    n, d = 200_000, 50
    X = rng.standard_t(2, size=(n, d)) if kind == "t2" else rng.lognormal(0, 1.5, (n, d))
    eta = (X - X.mean(0)) / X.std(0) @ (rng.normal(size=(d, 3)) * 0.3)
    y3 = np.argmax(eta + rng.gumbel(size=(n, 3)), axis=1)
    kept = []
    draw = hessian_samples.random_sample
    monkeypatch.setattr(hessian_samples, "random_sample", lambda objective, step, norms=None:
                        kept.append(norms is not None) or draw(objective, step, norms))
    for rows, y in ((slice(0, 110_000), y3 == 0), (slice(None), y3)):
        fitted = lk.LogisticRegression(alpha=1e-4).fit(X[rows], y[rows])
        assert kept.pop() and not kept  # (the main fit's first sample, and no other)
        with monkeypatch.context() as m:
            m.setattr(hessian_samples, "hessian_step", lambda n, p: 1)
            exact = lk.LogisticRegression(alpha=1e-4).fit(X[rows], y[rows])
        assert fitted.converged_
        assert fitted.result_.objective_value == pytest.approx(
            exact.result_.objective_value, rel=1e-12)
        np.testing.assert_allclose(fitted.coef_, exact.coef_, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("order", ["C", "F"])
def test_samples_copy_rows_in_the_order_of_x(order):
    """Every k-th row of X in column order (a DataFrame's block) is a copy in column
    order, of X in row order a view; a random draw is a copy in row order: the same
    numbers either way."""
    rng = np.random.default_rng(4)
    X = np.asarray(rng.normal(size=(1_000, 6)), order=order)
    ob = Objective(Binomial(), X, rng.integers(0, 2, 1_000).astype(float), np.ones(1_000), 2,
                   True)
    every = hessian_samples.hessian_sample(ob, 7)
    drawn = hessian_samples.random_sample(ob, 7)
    if order == "F":
        assert every.X.flags.f_contiguous and not np.shares_memory(every.X, X)
    else:
        assert np.shares_memory(every.X, X)
    assert drawn.X.flags.c_contiguous and not np.shares_memory(drawn.X, X)
    np.testing.assert_array_equal(every.X, X[::7])
    assert drawn.n == every.n
    rows = [np.flatnonzero((X == row).all(axis=1))[0] for row in drawn.X]
    np.testing.assert_array_equal(drawn.X, X[rows])


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_random_draw_copies_the_rows_once(order):
    """The draw's rows are gathered into one copy (a second, transient one had put the
    weekly suite case's extra memory at 29.6% of X instead of 17.5%)."""
    import tracemalloc

    rng = np.random.default_rng(5)
    X = np.asarray(rng.normal(size=(40_000, 50)), order=order)
    ob = Objective(Binomial(), X, rng.integers(0, 2, 40_000).astype(float),
                   np.ones(40_000), 2, True)
    tracemalloc.start()
    drawn = hessian_samples.random_sample(ob, 4)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert drawn.X.nbytes <= peak < 1.5 * drawn.X.nbytes
