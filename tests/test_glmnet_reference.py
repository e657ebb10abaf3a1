"""R glmnet's binomial ridge, lasso and elastic-net solutions reproduced (tests/reference/
glmnet_binomial, from the xrnet package's test data; see tests/reference/README.md).

glmnet minimises -loglik / n + lambda * ((1 - alpha) / 2 ||b||^2 + alpha ||b||_1), our
objective with alpha -> ``alpha`` and glmnet's alpha -> ``l1_ratio``. Its default
``standardize = TRUE`` penalises the coefficients of the columns scaled to unit standard
deviation (1/n) and, with an intercept, centred; the reported coefficients are mapped back
to the original columns. ``penalty.factor`` is rescaled by glmnet to sum to the number of
columns; logitkit takes factors as given. The lambda of each solution is the 10th of
glmnet's 100-value grid from lambda_max down to lambda_max / 100, which
``regularization_path`` reproduces.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import logitkit as lk

HERE = Path(__file__).parent / "reference" / "glmnet_binomial"
DATA = pd.read_csv(HERE / "data.csv")
X, Y = DATA.drop(columns="y").to_numpy(), DATA["y"].to_numpy()
EXPECTED = pd.read_csv(HERE / "coefficients.csv", index_col=0)
L1_RATIO = {"ridge": 0.0, "lasso": 1.0, "enet": 0.5}
# glmnet ran with thresh = 1e-15: our fits agree to 1.5e-9 (measured); the stored
# coefficients carry 17 digits
ATOL = 1e-7


def _scaled(intercept: bool, standardize: bool):
    """(X as glmnet fits it, column means, column scales): centred with an intercept,
    scaled to unit standard deviation when standardizing (glmnet scales by the standard
    deviation even without an intercept, where it does not centre)."""
    if not standardize:
        return X, np.zeros(X.shape[1]), np.ones(X.shape[1])
    means = X.mean(axis=0) if intercept else np.zeros(X.shape[1])
    scales = X.std(axis=0)
    return (X - means) / scales, means, scales


def _original(model, means, scales, intercept):
    """(intercept, coefficients...) of the original columns."""
    coef = model.coef_.ravel() / scales
    b0 = float(model.intercept_[0]) - coef @ means if intercept else 0.0
    return np.r_[b0, coef]


@pytest.mark.parametrize("column", [c for c in EXPECTED.columns if not c.endswith("_pf")])
def test_glmnet_solution_at_the_tenth_lambda(column):
    penalty, inter, std = column.split("_")
    intercept, standardize = inter == "intercept", std == "standardized"
    Xs, means, scales = _scaled(intercept, standardize)
    estimator = lk.LogisticRegression(fit_intercept=intercept, tol=1e-12, max_iter=1000)
    path = lk.regularization_path(Xs, Y, estimator=estimator, l1_ratio=L1_RATIO[penalty],
                                  n_alphas=100, alpha_min_ratio=0.01)
    got = _original(path.estimator(9), means, scales, intercept)
    np.testing.assert_allclose(got, EXPECTED[column].to_numpy(), rtol=0, atol=ATOL)
    # the same solution from a single fit at that alpha
    single = lk.LogisticRegression(alpha=path.alphas_[9], l1_ratio=L1_RATIO[penalty],
                                   fit_intercept=intercept, tol=1e-12).fit(Xs, Y)
    np.testing.assert_allclose(_original(single, means, scales, intercept), got,
                               rtol=0, atol=ATOL)
    # exact zeros where glmnet's solution has them
    assert np.array_equal(got[1:] == 0, EXPECTED[column].to_numpy()[1:] == 0)


def test_glmnet_unpenalised_columns_and_lambda_grid():
    """penalty.factor = (0, 0, 1, ..., 1), rescaled by glmnet to (0, 0, 1.25, ...): the
    grid's lambda_max is found at the fit with the two unpenalised columns."""
    lambdas = pd.read_csv(HERE / "lambda_pf.csv")["lambda"].to_numpy()
    Xs, means, scales = _scaled(True, True)
    factor = np.r_[0.0, 0.0, np.ones(X.shape[1] - 2)]
    factor *= X.shape[1] / factor.sum()
    estimator = lk.LogisticRegression(penalty_factor=factor, tol=1e-12, max_iter=1000)
    path = lk.regularization_path(Xs, Y, estimator=estimator, l1_ratio=0.5, n_alphas=100,
                                  alpha_min_ratio=0.01)
    # glmnet finds lambda_max at its own fit of the unpenalised columns (thresh 1e-15):
    # the grids agree to 1.1e-9 relative (measured)
    np.testing.assert_allclose(path.alphas_, lambdas, rtol=1e-8)
    got = _original(path.estimator(9), means, scales, True)
    expected = EXPECTED["enet_intercept_standardized_pf"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    assert np.all(got[1:3] != 0) and np.array_equal(got[3:] == 0, expected[3:] == 0)


def test_cv_glmnet_deviance_and_auc_curves():
    """cv.glmnet's cross-validated deviance and AUC over its 5 folds: the grid from all
    rows, each fold's path on its training rows (standardized by their own means and
    deviations, as glmnet does inside each fold) at that grid, held-out rows scored."""
    from sklearn.metrics import roc_auc_score

    folds = pd.read_csv(HERE / "cv_foldid.csv")["foldid"].to_numpy()
    curves = pd.read_csv(HERE / "cv_curves.csv")
    grid = lk.regularization_path((X - X.mean(axis=0)) / X.std(axis=0), Y, l1_ratio=0.0,
                                  n_alphas=20, alpha_min_ratio=0.001).alphas_
    deviance, auc = [], []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        means, scales = X[train].mean(axis=0), X[train].std(axis=0)
        path = lk.regularization_path((X[train] - means) / scales, Y[train], l1_ratio=0.0,
                                      alphas=grid,
                                      estimator=lk.LogisticRegression(tol=1e-12))
        held_out = (X[test] - means) / scales
        probas = [path.estimator(i).predict_proba(held_out)[:, 1] for i in range(len(grid))]
        deviance.append([-2 * np.mean(np.where(Y[test] == 1, np.log(p), np.log1p(-p)))
                         for p in probas])
        auc.append([roc_auc_score(Y[test], p) for p in probas])
    # equal fold sizes: cv.glmnet's weighted mean over folds is the plain mean; glmnet's
    # own fits stopped at thresh 1e-10 (measured agreement 2.6e-8)
    np.testing.assert_allclose(np.mean(deviance, axis=0), curves["deviance"], rtol=0,
                               atol=1e-6)
    np.testing.assert_allclose(np.mean(auc, axis=0), curves["auc"], rtol=0, atol=1e-12)
