"""regularization_path: the grid, warm-started fits equal to independent fits, and the
RegularizationPath interface (estimator(i), plot) that LogisticRegressionCV builds on."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import get_scorer

import logitkit as lk


def _data(K=2, n=300, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    eta = X[:, 0] - 0.8 * X[:, 1] + 0.4 * X[:, 2] + rng.logistic(size=n)
    return X, np.digitize(eta, np.linspace(-1.0, 1.0, K - 1))


@pytest.mark.parametrize("estimator, K, l1_ratio", [
    (lk.LogisticRegression(), 2, 1.0),
    (lk.LogisticRegression(penalty_groups="grouped"), 3, 0.5),
    (lk.LogisticRegression(), 3, 1.0),
    (lk.OrdinalLogisticRegression(link="probit"), 4, 1.0),
])
def test_path_equals_independent_fits(estimator, K, l1_ratio):
    X, y = _data(K)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    path = lk.regularization_path(X, y, estimator=estimator, l1_ratio=l1_ratio, n_alphas=12,
                                  alpha_min_ratio=1e-2, sample_weight=w)
    assert np.all(np.diff(path.alphas_) < 0) and path.alphas_[0] == path.alpha_max_
    assert path.n_nonzero_[0] == 0 and path.n_nonzero_[1] > 0  # alpha_max is the smallest
    assert path.n_nonzero_[-1] == X.shape[1] or path.n_nonzero_[-1] > path.n_nonzero_[1]
    assert np.all(path.kkt_violation_ <= estimator.tol)
    np.testing.assert_allclose(path.alphas_[-1], path.alphas_[0] * 1e-2)
    for i in (1, 5, 11):
        alone = clone(estimator).set_params(alpha=path.alphas_[i], l1_ratio=l1_ratio)
        alone.fit(X, y, sample_weight=w)
        np.testing.assert_allclose(path.coefs_[i], alone.coef_, atol=2e-7)
        fitted = path.estimator(i)
        assert fitted.alpha == path.alphas_[i] and fitted.l1_ratio == l1_ratio
        np.testing.assert_allclose(fitted.predict_proba(X), alone.predict_proba(X), atol=1e-7)
        # both fits stop at KKT violations <= tol (1e-8) from different starts: their
        # deviances differ by about n * alpha * |coefficient difference| (measured 5e-9)
        np.testing.assert_allclose(path.deviance_[i], -2 * alone.log_likelihood_, rtol=1e-7)
    shape = path.coefs_.shape
    assert shape[0] == 12 and shape[1:] == alone.coef_.shape
    if K > 2 and isinstance(estimator, lk.LogisticRegression):
        assert path.intercepts_.shape == (12, K) and path.thresholds_ is None
    if isinstance(estimator, lk.OrdinalLogisticRegression):
        assert path.thresholds_.shape == (12, K - 1) and path.intercepts_ is None


def test_given_alphas_are_sorted_and_estimators_work_with_scorers():
    X, y = _data()
    path = lk.regularization_path(X, y, alphas=[0.001, 0.1, 0.01])
    np.testing.assert_array_equal(path.alphas_, [0.1, 0.01, 0.001])
    scorer = get_scorer("neg_log_loss")
    scores = [scorer(path.estimator(i), X, y) for i in range(len(path))]
    assert scores[0] < scores[-1] < 0
    assert path.estimator(0) is not path.estimator(0)  # copies


def test_ridge_path_starts_at_glmnets_alpha_max():
    X, y = _data()
    path = lk.regularization_path(X, y, l1_ratio=0.0, n_alphas=5)
    lasso = lk.regularization_path(X, y, l1_ratio=1.0, n_alphas=5)
    # glmnet: lambda_max of a ridge is that of l1_ratio 0.001
    np.testing.assert_allclose(path.alpha_max_, lasso.alpha_max_ / 1e-3)
    assert np.all(path.n_nonzero_ == X.shape[1])  # a ridge zeroes nothing
    alone = lk.LogisticRegression(alpha=path.alphas_[3]).fit(X, y)
    np.testing.assert_allclose(path.coefs_[3], alone.coef_, atol=1e-7)


def test_unpenalised_columns_stay_in_the_path():
    X, y = _data()
    factor = np.ones(X.shape[1])
    factor[7] = 0.0
    path = lk.regularization_path(X, y, estimator=lk.LogisticRegression(penalty_factor=factor),
                                  n_alphas=4)
    assert np.all(path.coefs_[:, 0, 7] != 0) and path.n_nonzero_[0] == 1


def test_bad_arguments_are_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="alphas"):
        lk.regularization_path(X, y, alphas=[0.1, 0.0])
    with pytest.raises(ValueError, match="n_alphas"):
        lk.regularization_path(X, y, n_alphas=0)
    with pytest.raises(ValueError, match="alpha_min_ratio"):
        lk.regularization_path(X, y, alpha_min_ratio=2.0)
    with pytest.raises(ValueError, match="l1_ratio"):
        lk.regularization_path(X, y, l1_ratio=1.5)
    with pytest.raises(ValueError, match="prox-newton"):
        lk.regularization_path(X, y, estimator=lk.LogisticRegression(solver="newton"))
    with pytest.raises(TypeError, match="LogisticRegression"):
        lk.regularization_path(X, y, estimator=object())
    with pytest.raises(ValueError, match="unpenalised"):
        lk.regularization_path(X, y, estimator=lk.LogisticRegression(
            penalty_factor=np.zeros(X.shape[1])))


def test_plot_draws_every_coefficient():
    plt = pytest.importorskip("matplotlib.pyplot")
    X, y = _data(K=3)
    path = lk.regularization_path(X, y, n_alphas=6)
    ax = path.plot()
    assert len(ax.get_lines()) == path.coefs_[0].size + 1  # and the zero line
    plt.close(ax.figure)
