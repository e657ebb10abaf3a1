"""An ordinal fit's score products (the sandwich's meat) formed in Newton's last pass
(Objective.scores_in_pass), against the separate pass they replace: the same robust
covariance to rounding, one read of X less; with clusters the inference keeps its pass."""

from contextlib import contextmanager

import numpy as np
import pytest

import logitkit as lk
from logitkit.objective import Objective


@contextmanager
def _no_scores(self, wanted=True):
    yield


def data(seed=2, n=4000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    latent = X @ np.array([0.8, -0.4, 0.0]) + rng.logistic(size=n)
    return X, np.digitize(latent, [-1.0, 0.2, 1.5]), rng.choice([0.5, 1.0, 2.0], size=n)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_scores_from_the_last_pass_equal_their_own_pass(link, monkeypatch):
    X, y, w = data()
    fused = lk.OrdinalLogisticRegression(link=link).fit(X, y, sample_weight=w)
    monkeypatch.setattr(Objective, "scores_in_pass", _no_scores)
    separate = lk.OrdinalLogisticRegression(link=link).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(fused.coef_, separate.coef_)
    for cov_type in ("nonrobust", "HC0", "HC1"):
        np.testing.assert_allclose(fused.covariance(cov_type).to_numpy(),
                                   separate.covariance(cov_type).to_numpy(), rtol=1e-12)
    assert fused.n_passes_ == separate.n_passes_ - 1


def test_clustered_fits_keep_the_inference_pass(monkeypatch):
    """Cluster-robust meats need per-cluster score sums: the fit does not form the
    row-score products in its last pass, and the clustered covariance is unchanged."""
    X, y, w = data(seed=3)
    groups = np.arange(len(y)) % 40
    fused = lk.OrdinalLogisticRegression(link="probit", cov_type="cluster").fit(
        X, y, sample_weight=w, clusters=groups)
    monkeypatch.setattr(Objective, "scores_in_pass", _no_scores)
    separate = lk.OrdinalLogisticRegression(link="probit", cov_type="cluster").fit(
        X, y, sample_weight=w, clusters=groups)
    np.testing.assert_allclose(fused.covariance_.to_numpy(),
                               separate.covariance_.to_numpy(), rtol=1e-12)
    assert fused.n_passes_ == separate.n_passes_
