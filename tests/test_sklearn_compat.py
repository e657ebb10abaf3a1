"""scikit-learn's estimator checks, and use inside Pipeline / GridSearchCV / clone."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import logitkit as lk

# An ordinal model assumes the classes are ordered along a direction of X; the check's
# three blobs are not, so its accuracy bar does not apply to a proportional-odds model.
_ORDINAL_EXPECTED = {
    "check_classifiers_train": "blobs in an unordered triangle violate proportional odds",
}


# The check's data are completely separated (the fits warn so): without a penalty the
# maximum-likelihood estimate does not exist, so where the solver stops, and hence the
# near-0/1 probabilities, depend on rounding and need not agree to 1e-7.
_SEPARATED_EXPECTED = {
    "check_sample_weight_equivalence_on_dense_data": "separated data: no unique MLE",
    "check_sample_weight_equivalence_on_sparse_data": "separated data: no unique MLE",
}


def _expected_failures(estimator):
    if isinstance(estimator, lk.OrdinalLogisticRegression):
        return _ORDINAL_EXPECTED
    if estimator.alpha == 0 and estimator.solver == "auto":
        return _SEPARATED_EXPECTED
    return {}


# The checks' small random data are often (quasi-)separated, and the weight-equivalence
# check gives 30 columns to fewer rows of positive weight (so some columns are aliased):
# warning so is what an unpenalised fit must do there, so those warnings are let through.
@pytest.mark.filterwarnings("ignore::logitkit.PerfectSeparationWarning")
@pytest.mark.filterwarnings("ignore::logitkit.AliasedColumnsWarning")
@parametrize_with_checks(
    [lk.LogisticRegression(), lk.LogisticRegression(alpha=0.1),
     lk.OrdinalLogisticRegression(),
     lk.LogisticRegression(solver="adam", learning_rate=0.05, epochs=20, alpha=1e-3,
                           random_state=0)],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_pipeline_grid_search_cross_val_and_clone():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    pipe = make_pipeline(StandardScaler(), lk.LogisticRegression(alpha=0.01))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6
    search = GridSearchCV(lk.LogisticRegression(), {"alpha": [1e-3, 1e-1, 10.0]}, cv=3).fit(X, y)
    assert search.best_params_["alpha"] in (1e-3, 1e-1)
    assert search.best_estimator_.coef_.shape == (3, 6)
    cloned = clone(search.best_estimator_)
    assert cloned.get_params() == search.best_estimator_.get_params()
    assert not hasattr(cloned, "coef_")


def test_ordinal_in_a_grid_search():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.digitize(X @ [3.0, -1.5, 0.6] + rng.logistic(size=300), [-1.5, 1.5])
    search = GridSearchCV(lk.OrdinalLogisticRegression(),
                          {"link": ["logit", "probit"], "alpha": [0.0, 0.1]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.7
    assert search.best_estimator_.coef_[0] > 0 > search.best_estimator_.coef_[1]
