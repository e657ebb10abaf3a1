"""An exact fit checks X for NaN and infinity in its first pass (no read of its own):
finite X is never read just to be checked, and a NaN or infinity anywhere still gives the
clear error naming its row and column, before any result and without other warnings."""

import warnings

import numpy as np
import pytest

import logitkit as lk
import logitkit.estimators as estimators

# (rows, columns): the compiled chunk pass, the compiled row pass, the NumPy pass
# (float32 / multinomial / ordinal), and a wide design that takes Newton-CG
SHAPES = [(300, 3), (2000, 120), (300, 1100)]


def _data(n, d, kind, rng):
    X = rng.normal(size=(n, d))
    eta = X[:, 0] + 0.5 * X[:, 1] + rng.logistic(size=n)
    return X, (eta > 0).astype(int) if kind == "binary" else np.digitize(eta, [-1, 1])


# (estimator, kind of y, shape): ordinal fits on three classes and narrow X
CASES = [(name, kind, shape) for name in ("newton", "lbfgs", "newton-cg")
         for kind in ("binary", "multinomial") for shape in SHAPES]
CASES += [("ordinal", "multinomial", shape) for shape in SHAPES[:2]]


def _estimators():
    return {"newton": lk.LogisticRegression(), "lbfgs": lk.LogisticRegression(solver="lbfgs"),
            "newton-cg": lk.LogisticRegression(solver="newton-cg"),
            "ordinal": lk.OrdinalLogisticRegression()}


@pytest.mark.parametrize("name, kind, shape", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_x_is_not_read_to_be_checked(monkeypatch, name, kind, shape, dtype):
    calls = []
    monkeypatch.setattr(estimators, "check_finite_design", lambda X: calls.append(X.shape))
    X, y = _data(*shape, kind, np.random.default_rng(0))
    # (float32 X: a tolerance that its precision reaches with every solver)
    tol = 1e-5 if dtype == np.float32 else 1e-8
    model = _estimators()[name].set_params(alpha=1e-2, tol=tol).fit(X.astype(dtype), y)
    assert calls == [] and np.isfinite(model.coef_).all()


@pytest.mark.parametrize("name, kind, shape", CASES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinity_anywhere_is_the_clear_error(name, kind, shape, bad):
    rng = np.random.default_rng(1)
    X, y = _data(*shape, kind, rng)
    n, d = shape
    for row, column in [(0, 1), (n - 1, d - 1), (n // 2, d // 2)]:
        Xb = X.copy()
        Xb[row, column] = bad
        weights = np.ones(n)
        weights[row] = 0.0  # a row of weight 0 contributes nothing to the sums
        model = _estimators()[name]
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with pytest.raises(ValueError, match=rf"X contains (NaN|infinity).*row {row}, "
                                                 rf"column {column}$"):
                model.fit(Xb, y, sample_weight=weights)
        assert [str(w.message) for w in seen] == []
        assert not hasattr(model, "coef_")
