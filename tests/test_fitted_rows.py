"""The fitting rows kept by reference for post-estimation (logitkit.fitted_rows)."""

import pickle

import numpy as np
import pytest

import logitkit as lk


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X @ [1.0, -0.5, 0.2] + rng.logistic(size=n) > 0).astype(int)
    return X, y


def test_fit_keeps_a_reference_and_the_objective_is_the_fits():
    X, y = _data()
    w = np.arange(1, 301) % 3 + 1.0
    m = lk.LogisticRegression().fit(X, y, sample_weight=w)
    rows = m.fitted_rows()
    assert rows.X is X and np.array_equal(rows.codes, y)
    assert np.array_equal(rows.weights, w)
    ob = m.fitted_objective()
    theta = m.result_.params
    _, grad, _ = ob.evaluate(theta, 1)
    assert np.max(np.abs(grad)) < 1e-8  # the fitted optimum of the same objective


def test_rows_given_are_encoded_as_at_predict_time():
    X, y = _data()
    m = lk.OrdinalLogisticRegression().fit(X, np.where(y == 1, "b", "a"))
    ob = m.fitted_objective(X[:50], np.where(y[:50] == 1, "b", "a"))
    assert ob.n == 50 and np.array_equal(ob.y, y[:50])
    with pytest.raises(ValueError, match="pass both X and y"):
        m.fitted_rows(X=X)


def test_no_rows_after_pickling_or_loading(tmp_path):
    X, y = _data()
    m = lk.LogisticRegression().fit(X, y)
    back = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(back.coef_, m.coef_)
    with pytest.raises(ValueError, match="holds no training rows"):
        back.fitted_rows()
    assert m.fitted_rows().X is X  # pickling a copy leaves the model's own rows
    m.save(tmp_path / "m.lkm")
    loaded = lk.load(tmp_path / "m.lkm")
    with pytest.raises(ValueError, match="pass the data as X=..., y=..."):
        loaded.fitted_objective()
    assert loaded.fitted_objective(X, y).n == len(y)


def test_minibatch_validation_split_keeps_the_training_part():
    X, y = _data()
    m = lk.LogisticRegression(solver="adam", epochs=2, validation_split=0.2,
                              random_state=0).fit(X, y)
    assert m.fitted_rows().X.shape[0] == 240
