"""What an ordinal pass leaves for the post-fit checks: the least row loss (the largest
fitted probability of a row's own class, for the separation check) and the gradient at
the last point evaluated (for the divergence probe), on both row paths."""

import numpy as np
import pytest

from logitkit.families.ordinal import Ordinal
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop


def objective(link, seed=4, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.digitize(X @ np.array([1.5, -1.0, 0.5]) + rng.normal(size=n), [-1.0, 0.0, 1.0])
    w = rng.choice([0.0, 1.0, 2.0], size=n)
    return Objective(Ordinal(link), X, y, w, 4, False), X, y, w


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_pass_reports_the_largest_observed_probability(link, enabled, order, monkeypatch):
    monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
    ob, X, y, w = objective(link)
    theta = np.concatenate([[0.9, -0.7, 0.3], [-1.1, 0.1, 1.2]])
    ob.loss_terms(theta, order)
    eta = X @ theta[:3]
    log_p = Ordinal(link).observed_log_proba(eta[:, None], theta[3:], y)
    expected = np.exp(np.max(log_p[w > 0]))  # rows of weight 0 do not count
    assert ob.largest_observed_proba(theta) == pytest.approx(expected, rel=1e-12)
    assert ob.largest_observed_proba(theta + 1e-3) is None  # another point: unknown


def test_gradient_at_is_the_last_evaluation_only():
    ob, *_ = objective("probit")
    theta = np.array([0.5, -0.5, 0.2, -1.0, 0.0, 1.0])
    _, grad, _ = ob.evaluate(theta, 1)
    kept = ob.gradient_at(theta)
    np.testing.assert_array_equal(kept, grad)
    kept[0] += 1.0  # a copy: the objective's stays
    np.testing.assert_array_equal(ob.gradient_at(theta), grad)
    assert ob.gradient_at(theta + 1e-9) is None
    ob.evaluate(theta + 1e-3, 0)  # a value alone keeps the last gradient's point
    np.testing.assert_array_equal(ob.gradient_at(theta), grad)
    ob.evaluate(theta + 1e-3, 2)
    assert ob.gradient_at(theta) is None
