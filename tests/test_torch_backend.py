"""The same objective and solvers on PyTorch tensors (CPU here; CUDA on a GPU machine)."""

import numpy as np
import pytest

from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.fitting import fit_objective
from logitkit.objective import Objective

torch = pytest.importorskip("torch")

CASES = [
    ("binomial", Binomial, 2, True),
    ("multinomial", Multinomial, 4, True),
    ("ordinal-logit", lambda: Ordinal("logit"), 4, False),
    ("ordinal-probit", lambda: Ordinal("probit"), 3, False),
    ("ordinal-cloglog", lambda: Ordinal("cloglog"), 3, False),
]


def _data(n_classes, seed=0, n=600):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1]
    latent = X @ [0.8, -0.05, 4.0] + rng.logistic(size=n)
    y = np.digitize(latent, np.quantile(latent, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return X, y, rng.uniform(0.5, 2.0, size=n)


def _pair(make, n_classes, fit_intercept, dtype=torch.float64):
    X, y, w = _data(n_classes)
    numpy_ob = Objective(make(), X, y, w, n_classes, fit_intercept, alpha=0.01)
    torch_ob = Objective(make(), torch.as_tensor(X, dtype=dtype), torch.as_tensor(y),
                         torch.as_tensor(w), n_classes, fit_intercept, alpha=0.01)
    return numpy_ob, torch_ob


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", CASES, ids=[c[0] for c in CASES])
def test_objective_agrees_with_numpy(name, make, n_classes, fit_intercept):
    numpy_ob, torch_ob = _pair(make, n_classes, fit_intercept)
    rng = np.random.default_rng(1)
    theta = rng.normal(scale=0.3, size=numpy_ob.n_params)
    if numpy_ob.q:
        theta[-numpy_ob.q:] = np.sort(theta[-numpy_ob.q:])
    for a, b in zip(numpy_ob.evaluate(theta, 2), torch_ob.evaluate(theta, 2), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    groups = np.arange(numpy_ob.n) % 7
    for a, b in zip(numpy_ob.score_products(theta, groups), torch_ob.score_products(theta, groups),
                    strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", CASES, ids=[c[0] for c in CASES])
def test_solvers_reach_the_numpy_optimum(name, make, n_classes, fit_intercept):
    numpy_ob, torch_ob = _pair(make, n_classes, fit_intercept)
    # Newton reaches the optimum to rounding; L-BFGS stalls at max |gradient| ~1e-8
    for solver, tolerance in (("newton", 1e-8), ("lbfgs", 1e-6)):
        ours = fit_objective(torch_ob, solver, 1e-10, 500)
        reference = fit_objective(numpy_ob, solver, 1e-10, 500)
        assert ours.converged
        np.testing.assert_allclose(ours.params, reference.params, rtol=tolerance,
                                   atol=tolerance)
        assert ours.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-9)


def test_float32_tensors_are_computed_in_float32_and_agree():
    numpy_ob, torch_ob = _pair(Binomial, 2, True, dtype=torch.float32)
    assert torch_ob.X.dtype == torch.float32
    ours = fit_objective(torch_ob, "newton", 1e-6, 100)
    reference = fit_objective(numpy_ob, "newton", 1e-10, 100)
    assert ours.objective_value == pytest.approx(reference.objective_value, rel=1e-6)
