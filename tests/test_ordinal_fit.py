"""Ordinal fits on many rows: Newton starts from the fit on a row sample, reaches the
optimum of the start from the null model in fewer passes, and the whole fit stays
within a quarter of X in extra memory."""

import tracemalloc

import numpy as np
import pytest

import logitkit as lk
from logitkit import fitting
from logitkit.families import Ordinal
from logitkit.objective import Objective

LINKS = ("logit", "probit", "cloglog")


def _data(n, d, link, seed=0):
    """X (n, d) and 5 levels cut at the quintiles of the link's latent variable."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    noise = {"logit": rng.logistic(size=n), "probit": rng.normal(size=n),
             "cloglog": np.log(-np.log(rng.uniform(size=n)))}[link]
    latent = X @ (rng.normal(size=d) / np.sqrt(d)) * 2.0 + noise
    return X, np.digitize(latent, np.quantile(latent, [0.2, 0.4, 0.6, 0.8]))


@pytest.mark.parametrize("link", LINKS)
def test_warm_start_reaches_the_optimum_of_the_null_start(link, monkeypatch):
    X, y = _data(24_000, 8, link)
    warm = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    monkeypatch.setattr(fitting, "WARM_START_ROWS", 10**9)  # no sample fit: null start
    cold = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    assert warm.converged_ and cold.converged_
    assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, rel=1e-13)
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(warm.thresholds_, cold.thresholds_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(warm.covariance().to_numpy(), cold.covariance().to_numpy(),
                               rtol=1e-7)
    assert warm.n_passes_ < cold.n_passes_


def test_no_warm_start_from_a_sample_that_misses_a_class():
    """Every 8th row is the sample; a class found only on the others would have no cut
    point there, so the fit starts from the null model."""
    n = fitting.WARM_START_STEP * fitting.WARM_START_ROWS
    X, y = _data(n, 3, "logit")
    y = np.where(np.arange(n) % fitting.WARM_START_STEP != 0, y, np.minimum(y, 3))
    objective = Objective(Ordinal("logit"), X, y, np.ones(n), 5, False)
    sums = fitting.class_weight_sums(objective)
    assert fitting._warm_start(objective, "newton", 1e-8, None, sums, True) is None
    y[0] = 4  # one row of the top class in the sample: the sample fit is used
    objective = Objective(Ordinal("logit"), X, y, np.ones(n), 5, False)
    start = fitting._warm_start(objective, "newton", 1e-8, None,
                                fitting.class_weight_sums(objective), True)
    assert start is not None and np.all(np.diff(start[3:]) > 0)


@pytest.mark.parametrize("link", LINKS)
def test_extra_memory_is_under_a_quarter_of_X(link):
    """tracemalloc's peak over a whole default fit (screen, sample fits, Newton, the
    divergence probe, inference) at 20k x 20."""
    X, y = _data(20_000, 20, link)
    lk.OrdinalLogisticRegression(link=link).fit(X[:500], y[:500])  # first calls, untraced
    tracemalloc.start()
    model = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert model.converged_
    assert peak <= 0.25 * X.nbytes
