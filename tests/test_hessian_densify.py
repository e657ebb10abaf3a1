"""Newton's Hessian from every k-th row gives way to a denser sample (all rows last) when
the steps show that the sample misrepresents the curvature: a dummy column that is 0 on
every sampled row (rows with a period that divides k), or heavy-tailed columns whose
few large rows carry the curvature. The fits then converge in a few iterations, to the
optimum of a fit with Hessians from all rows, on NumPy and on Dask alike; proximal
Newton's working-set models (L1, elastic net) likewise."""

import importlib
import warnings

import numpy as np
import pytest

import logitkit as lk
from logitkit import hessian_samples
from logitkit.families import Binomial
from logitkit.objective import Objective
from logitkit.parametrization import SolverProblem

# (the module: logitkit.solvers exports the function under the same name)
newton_module = importlib.import_module("logitkit.solvers.newton")

N_ROWS = 56_000  # with 56 parameters the Hessian takes every 2nd row


def _alternating(seed=0):
    """50 normal columns and a dummy of the odd rows, which every 2nd row (the Hessian
    sample) never sees: that sample's Hessian has no curvature along the dummy."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, 50))
    odd = (np.arange(N_ROWS) % 2).astype(float)
    X = np.column_stack([X, odd, rng.normal(size=(N_ROWS, 4))])
    beta = np.concatenate([rng.normal(size=50) / 7, [1.5], rng.normal(size=4) / 7])
    return X, (X @ beta + rng.logistic(size=N_ROWS) > 0).astype(int)


def test_the_data_sample_every_second_row():
    assert hessian_samples.hessian_step(N_ROWS, 56) == 2


@pytest.mark.parametrize("alpha", [0.0, 1e-4])
def test_a_sample_blind_to_a_column_gives_way(monkeypatch, alpha):
    """Kept on the sample, the fit stops at max_iter: without a penalty the sample's
    Hessian is singular along the dummy (no step there); with alpha = 1e-4 its only
    curvature there is the penalty's (every step shortened hundredfold by the line
    search). Given way (to a random draw), it reaches the optimum of a fit with all
    rows' Hessians within its tolerance."""
    X, y = _alternating()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = lk.LogisticRegression(alpha=alpha, max_iter=30).fit(X, y)
        monkeypatch.setattr(hessian_samples, "hessian_step", lambda n, p: 1)
        exact = lk.LogisticRegression(alpha=alpha).fit(X, y)
    monkeypatch.undo()
    monkeypatch.setattr(hessian_samples, "_denser", lambda *a: iter(()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the ConvergenceWarning)
        kept = lk.LogisticRegression(alpha=alpha, max_iter=30).fit(X, y)
    # (without a penalty it even ended "without further progress" at the sample's
    # singular Hessian, the dummy's slope 0 and max |gradient| 0.07)
    assert kept.log_likelihood_ < exact.log_likelihood_ - 100
    assert fitted.converged_ and fitted.n_iter_ <= 12
    assert fitted.log_likelihood_ == pytest.approx(exact.log_likelihood_, rel=1e-10)
    np.testing.assert_allclose(fitted.coef_, exact.coef_, rtol=1e-6, atol=1e-8)
    if alpha == 0:  # the standard errors, from the Hessian at the optimum
        np.testing.assert_allclose(fitted.summary().table["std_err"],
                                   exact.summary().table["std_err"], rtol=1e-6)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_a_lasso_model_blind_to_a_column_gives_way_to_all_rows(monkeypatch, l1_ratio):
    """Proximal Newton's working-set model takes the same rows: kept on the sample it
    ended "without further progress" at KKT violation 0.013 after 26 iterations (a
    ConvergenceWarning); it now moves to all rows and reaches the optimum of a fit that
    took them from the start."""
    working_columns = importlib.import_module("logitkit.solvers.working_columns")
    X, y = _alternating()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = lk.LogisticRegression(alpha=1e-3, l1_ratio=l1_ratio).fit(X, y)
        monkeypatch.setattr(working_columns, "sample_step", lambda *a: 1)
        exact = lk.LogisticRegression(alpha=1e-3, l1_ratio=l1_ratio).fit(X, y)
    assert fitted.converged_ and fitted.n_iter_ <= 12
    assert fitted.result_.objective_value == pytest.approx(exact.result_.objective_value,
                                                           rel=1e-12)
    np.testing.assert_allclose(fitted.coef_, exact.coef_, rtol=1e-5, atol=1e-7)
    assert fitted.coef_[0, 50] > 1  # the dummy, which the sample saw as 0


@pytest.mark.parametrize("seed", [1, 2])
def test_heavy_rows_are_kept_whole_in_the_first_sample(monkeypatch, seed):
    """t(2) columns, where a few large rows carry the curvature: every 4th row's Hessian,
    kept, needs 10 and 26 iterations on these draws; the first sample that keeps the
    heavy rows whole needs 5, to the same optimum."""
    monkeypatch.setattr(hessian_samples, "_MIN_DRAW_STEP", 4)  # (else all rows at k=4)
    rng = np.random.default_rng(seed)
    n = 4 * N_ROWS // 2
    X = rng.standard_t(2, size=(n, 55))
    y = (X @ (rng.normal(size=55) / 15) + rng.logistic(size=n) > 0).astype(int)
    assert hessian_samples.hessian_step(n, 56) == 4
    log = _densified(monkeypatch)
    fitted = lk.LogisticRegression().fit(X, y)
    assert log == []  # (the first sample served to the end)
    monkeypatch.setattr(hessian_samples, "HEAVY_SHARE", np.inf)
    monkeypatch.setattr(hessian_samples, "_denser", lambda *a: iter(()))
    kept = lk.LogisticRegression().fit(X, y)
    assert fitted.converged_ and kept.converged_
    assert fitted.n_iter_ <= 6 < 10 <= kept.n_iter_
    assert fitted.log_likelihood_ == pytest.approx(kept.log_likelihood_, rel=1e-10)
    np.testing.assert_allclose(fitted.coef_, kept.coef_, rtol=1e-5, atol=1e-6)  # (slopes ~1e-3)


def _densified(monkeypatch) -> list:
    """The rows of each Hessian objective Newton moves to, as the fits go."""
    log = []
    densify = SolverProblem.densify_hessian

    def logged(problem):
        moved = densify(problem)
        if moved:
            log.append(problem.hessian_objective.n)
        return moved

    monkeypatch.setattr(SolverProblem, "densify_hessian", logged)
    return log


def test_rows_with_a_period_give_way_to_a_random_draw_of_as_many(monkeypatch):
    """The dummy of the odd rows, which every 2nd row never sees: the fit moves to one
    row drawn at random from each pair (as many rows), not to all rows (with the copy's
    limit lifted: at this size a draw would copy half of X, and all rows serve)."""
    X, y = _alternating()
    monkeypatch.setattr(hessian_samples, "_MIN_DRAW_STEP", 2)
    log = _densified(monkeypatch)
    fitted = lk.LogisticRegression().fit(X, y)
    assert log == [N_ROWS // 2]
    monkeypatch.setattr(hessian_samples, "hessian_step", lambda n, p: 1)
    exact = lk.LogisticRegression().fit(X, y)
    assert fitted.converged_ and fitted.n_iter_ <= 8
    np.testing.assert_allclose(fitted.coef_, exact.coef_, rtol=1e-6, atol=1e-8)


def test_the_evidence_of_a_misrepresenting_sample():
    change, taken = np.array([1.0, 0.0]), np.array([1.0, 0.0])
    # curvature along the step 1 where the Hessian predicted 0.25 (decrement 1, t 0.5)
    assert newton_module._misrepresents(1.0, 0.5, 0.01, change, taken)
    assert not newton_module._misrepresents(2.0, 1.0, 0.01, change, taken)  # (0.5)
    # a settled full step that cut the gradient 3-fold, and one that cut it 30-fold
    assert newton_module._misrepresents(1e-3, 1.0, 0.3, 0.5e-3 * change, taken)
    assert not newton_module._misrepresents(1e-3, 1.0, 0.03, 0.5e-3 * change, taken)
    # ... and an unsettled one (decrement 0.1): damped steps far from the optimum
    assert not newton_module._misrepresents(0.1, 1.0, 0.3, 0.05 * change, taken)


def test_denser_samples_end_with_all_rows():
    X, y = _alternating()
    objective = Objective(Binomial(), X, y, np.ones(N_ROWS), 2, True)
    first, denser = hessian_samples.hessian_objectives(objective)
    # (a draw of every 2nd row's number would copy half of X: all rows instead)
    assert first.n == N_ROWS // 2 and [o.n for o in denser] == [N_ROWS]
    steps = [o.n for o in hessian_samples._denser(objective, 100, None, True)]
    assert steps == [N_ROWS // 100, -(-N_ROWS // 12), N_ROWS]
    assert [o.n for o in hessian_samples._denser(objective, 40, None, True)] == [
        N_ROWS // 40, N_ROWS]  # (every 5th: all rows)
    assert list(hessian_samples._denser(objective, 1, None, True)) == []


@pytest.mark.filterwarnings("ignore:Sending large graph")  # (the test's NumPy X)
@pytest.mark.parametrize("persist", ["auto", False])
def test_a_dask_fit_gives_way_as_the_numpy_fit_does(dask_client, monkeypatch, persist):
    """A Dask X's samples are every k-th row, never random draws: the same path as a
    NumPy fit that takes no draws (with them, the NumPy fit ends within its tolerance
    of the same optimum: 1.2e-6 relative apart on this draw)."""
    da = pytest.importorskip("dask.array")
    X, y = _alternating(seed=1)
    drawn = lk.LogisticRegression(max_iter=30).fit(X, y)
    monkeypatch.setattr(hessian_samples, "_draws", lambda objective: False)
    expected = lk.LogisticRegression(max_iter=30).fit(X, y)
    np.testing.assert_allclose(drawn.coef_, expected.coef_, rtol=1e-5)
    fitted = lk.LogisticRegression(max_iter=30).fit(
        da.from_array(X, chunks=((20_000, 1, 35_999), 55)), y, persist=persist)
    assert fitted.converged_ and fitted.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
    np.testing.assert_allclose(fitted.intercept_, expected.intercept_, rtol=1e-10)
