"""solver="auto" above 1000 parameters with one linear predictor: L-BFGS first, truncated
Newton from where it stops when its progress is too slow (logitkit.solvers.lbfgs_first)."""

import importlib
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import logitkit as lk

lbfgs_module = importlib.import_module("logitkit.solvers.lbfgs")
WINDOW = lbfgs_module._RATE_WINDOW


def _wide(n, d, rho, seed):
    """(X, binary y, 4-level y): AR(1) columns with correlation rho between neighbours."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    for j in range(1, d):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    eta = X[:, :20] @ rng.normal(size=20) * 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    levels = np.digitize(eta + rng.logistic(size=n), [-1.0, 0.0, 1.0])
    return X, y, levels


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _fit(estimator, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return estimator(**params).fit(X, y)


@pytest.mark.parametrize(("rho", "ran"), [(0.0, "lbfgs"), (0.95, "lbfgs, then newton-cg")])
def test_binary_auto_reaches_newton_cgs_optimum(rho, ran):
    # well-conditioned: L-BFGS alone, one pass an iteration (none to re-evaluate its end);
    # correlated columns: L-BFGS gives up early and Newton-CG finishes
    X, y, _ = _wide(600, 1100, rho, seed=1)
    auto = _fit(lk.LogisticRegression, X, y, alpha=1e-3)
    reference = _fit(lk.LogisticRegression, X, y, alpha=1e-3, solver="newton-cg")
    assert auto.converged_ and auto.result_.solver == ran
    # L-BFGS stops at tol, without Newton-CG's polishing step
    assert auto.result_.objective_value <= reference.result_.objective_value * (1 + 1e-10)
    np.testing.assert_allclose(auto.coef_, reference.coef_, rtol=0, atol=1e-5)
    if ran == "lbfgs":
        assert auto.n_passes_ <= auto.n_iter_ + 4
    else:  # the hand-over came after the rate window, well before L-BFGS's budget
        history = auto.result_.report.history
        handed = [h for h in history if "hessian_products" not in h]  # L-BFGS's
        assert lbfgs_module._RATE_WINDOW < len(handed) < 60
        assert [h["iteration"] for h in history] == [*range(1, len(handed) + 1),
                                                      *range(len(handed), auto.n_iter_ + 1)]


def test_ordinal_auto_takes_lbfgs_first():
    X, _, levels = _wide(600, 1100, 0.95, seed=2)
    auto = _fit(lk.OrdinalLogisticRegression, X, levels, alpha=1e-3)
    reference = _fit(lk.OrdinalLogisticRegression, X, levels, alpha=1e-3, solver="newton-cg")
    assert auto.converged_ and auto.result_.solver.startswith("lbfgs")
    assert auto.result_.objective_value <= reference.result_.objective_value * (1 + 1e-10)
    np.testing.assert_allclose(auto.coef_, reference.coef_, rtol=0, atol=1e-5)


def test_multinomial_auto_keeps_newton_cg():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 400))
    y = rng.integers(0, 4, size=300)  # 3 x 401 = 1203 parameters
    model = _fit(lk.LogisticRegression, X, y, alpha=1e-2)
    assert model.result_.solver == "newton-cg" and model.converged_


def test_max_iter_counts_both_solvers():
    X, y, _ = _wide(600, 1100, 0.95, seed=1)
    with pytest.warns(ConvergenceWarning, match="after 14 iterations"):
        model = lk.LogisticRegression(alpha=1e-3, max_iter=14).fit(X, y)
    assert model.n_iter_ == 14 and not model.converged_
    assert model.result_.solver == "lbfgs, then newton-cg"


@pytest.mark.parametrize(("best", "slow"), [
    ([1.0] * WINDOW, False),  # no more iterations than the window: no judgement yet
    ([0.5**k for k in range(WINDOW + 1)], False),  # halving: about 40 iterations in all
    ([0.9**k for k in range(WINDOW + 1)], True),  # 0.9 an iteration: about 260
    ([1.0] * (WINDOW + 1), True),  # no progress over the window
    ([1.0] * WINDOW + [1e-13], False),  # at tol
])
def test_rate_judgement(best, slow):
    assert lbfgs_module._too_slow(best, 1e-12, 60) is slow


def test_sparse_x_smaller_than_lbfgs_history_keeps_newton_cg():
    # 3,000 x 5,000 CSR, 5 entries a row (180 KB of values): L-BFGS's 60 vectors of 5,001
    # parameters (2.4 MB) would be 13x X's values
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(4)
    X = sp.random_array((3000, 5000), density=1e-3, rng=rng, format="csr")
    y = rng.integers(0, 2, size=3000)
    sparse = _fit(lk.LogisticRegression, X, y, alpha=1e-2)
    dense = _fit(lk.LogisticRegression, X.toarray(), y, alpha=1e-2)
    assert sparse.result_.solver == "newton-cg" and dense.result_.solver.startswith("lbfgs")
    assert sparse.converged_ and dense.converged_
    np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=0, atol=1e-5)
