"""Newton with a sampled, kept and secant-updated Hessian reaches the exact optimum."""

import numpy as np
import pytest

import logitkit.fitting as fitting
import logitkit.hessian_samples as hessian_samples
import logitkit.objective as objective_module
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective
from logitkit.solvers.newton import secant_update


def _problem(family, n_classes, fit_intercept, dtype=np.float64, n=6000, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.logspace(-2, 2, d)
    latent = X @ (rng.normal(size=(d, n_classes)) / np.logspace(-2, 2, d)[:, None])
    if family.name == "ordinal":
        score = latent[:, 0] + rng.logistic(size=n)
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    else:
        y = np.argmax(latent + rng.gumbel(size=(n, n_classes)), axis=1)
    w = rng.uniform(0.5, 2.0, size=n)
    return Objective(family, X.astype(dtype), y, w, n_classes, fit_intercept, alpha=1e-3)


CASES = [
    ("binomial", lambda: Binomial(), 2, True),
    ("multinomial", lambda: Multinomial(), 4, True),
    ("ordinal", lambda: Ordinal("logit"), 4, False),
]


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", CASES, ids=[c[0] for c in CASES])
def test_sampled_hessian_reaches_the_full_newton_optimum(monkeypatch, name, make, n_classes,
                                                         fit_intercept):
    objective = _problem(make(), n_classes, fit_intercept)
    full = fitting.fit_objective(objective, "newton", 1e-9, 100)
    # curvature from every 6th row (1000 of 6000): kept over steps and secant-updated
    monkeypatch.setattr(objective_module, "HESSIAN_SAMPLE_ROWS", (500, 1000))
    monkeypatch.setattr(hessian_samples, "_MIN_SAMPLED_PARAMS", 1)
    assert hessian_samples.hessian_objective(objective).n == 1000
    sampled = fitting.fit_objective(objective, "newton", 1e-9, 100)
    assert full.converged and sampled.converged
    assert sampled.objective_value == pytest.approx(full.objective_value, rel=1e-12)
    np.testing.assert_allclose(sampled.params, full.params, rtol=1e-5, atol=1e-6)


def test_sampled_hessian_with_float32_data(monkeypatch):
    exact = fitting.fit_objective(_problem(Binomial(), 2, True), "newton", 1e-9, 100)
    monkeypatch.setattr(objective_module, "HESSIAN_SAMPLE_ROWS", (500, 1000))
    monkeypatch.setattr(hessian_samples, "_MIN_SAMPLED_PARAMS", 1)
    single = fitting.fit_objective(_problem(Binomial(), 2, True, dtype=np.float32), "newton",
                                   1e-5, 100)
    assert single.converged
    assert single.objective_value == pytest.approx(exact.objective_value, rel=1e-6)


def test_float32_fit_keeps_its_sampled_hessian_at_the_data_precision(monkeypatch):
    """Steps whose decrease float32 data cannot show are taken in full; the sampled Hessian
    is kept and secant-updated over them while the gradient falls fast (not re-formed at
    every step), and the fit ends at the optimum of the same data in float64."""
    from logitkit.parametrization import SolverProblem

    single = _problem(Binomial(), 2, True, dtype=np.float32, n=60_000)
    double = Objective(Binomial(), single.X.astype(np.float64), single.y, single.w, 2, True,
                       alpha=1e-3)
    exact = fitting.fit_objective(double, "newton", 1e-11, 100)
    monkeypatch.setattr(objective_module, "HESSIAN_SAMPLE_ROWS", (500, 1000))
    monkeypatch.setattr(hessian_samples, "_MIN_SAMPLED_PARAMS", 1)
    formed = []
    for name in ("hessian", "evaluate_with_hessian"):
        method = getattr(SolverProblem, name)
        monkeypatch.setattr(SolverProblem, name, lambda self, s, method=method, name=name:
                            formed.append(name) or method(self, s))
    result = fitting.fit_objective(single, "newton", 1e-8, 100)
    assert result.converged and result.report.grad_max <= 1e-8
    assert len(formed) < result.n_iter
    assert result.objective_value == pytest.approx(exact.objective_value, rel=1e-13)
    np.testing.assert_allclose(result.params, exact.params, rtol=1e-5, atol=1e-7)


def testsecant_update_matches_the_measured_curvature_and_skips_inconsistent_steps():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    H = A @ A.T + 5 * np.eye(5)
    true = H + 0.3 * np.diag(rng.uniform(size=5))
    step = rng.normal(size=5)
    change = true @ step
    M = H.copy()
    assert secant_update(M, step, change)
    np.testing.assert_allclose(M @ step, change, rtol=1e-12)  # the secant condition
    np.testing.assert_allclose(M, M.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(M) > 0)
    M = H.copy()
    assert not secant_update(M, step, -change)  # negative curvature: noise, left alone
    np.testing.assert_array_equal(M, H)


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_default_fit_reaches_the_optimum_to_float64_precision(kind, spector, anes96, ucla):
    """The final Newton step after the stopping test: fitted probabilities of the default
    fit are within 1e-12 (relative) of a fit to tol=1e-14 (Spector: 1.9e-9 without it)."""
    import logitkit as lk

    if kind == "binary":
        X, y, make = spector[["GPA", "TUCE", "PSI"]], spector["GRADE"], lk.LogisticRegression
    elif kind == "multinomial":
        X, y = anes96[["logpopul", "selfLR", "age", "educ", "income"]], anes96["PID"]
        make = lk.LogisticRegression
    else:
        X, y, make = ucla[["pared", "public", "gpa"]], ucla["apply"], lk.OrdinalLogisticRegression
    default, tight = make().fit(X, y), make(tol=1e-14).fit(X, y)
    np.testing.assert_allclose(default.predict_proba(X), tight.predict_proba(X), rtol=1e-12)
