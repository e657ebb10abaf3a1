"""Newton-CG: Hessian-vector products, its preconditioner, and fits that reach Newton's
optimum (binary, multinomial K=3 and K=50, ordinal with every link; unpenalised and
ridge; float32 X; weights; aliased columns)."""

import numpy as np
import pytest
from click.testing import CliRunner

import logitkit as lk
import logitkit.fitting as fitting
from family_cases import FAMILIES, IDS, small_problem
from logitkit import curvature as curvature_module
from logitkit import objective as objective_module
from logitkit.cli import main
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective
from logitkit.parametrization import SolverProblem


@pytest.mark.parametrize("alpha", [0.0, 0.05])
@pytest.mark.parametrize("name,make,n_classes,fit_intercept", FAMILIES, ids=IDS)
def test_hessian_vector_product_matches_finite_differences(name, make, n_classes,
                                                           fit_intercept, alpha, monkeypatch):
    monkeypatch.setattr(objective_module, "_BLOCK_BYTES", 2048)  # several row blocks
    rng = np.random.default_rng(3)
    ob, theta = small_problem(make(), n_classes, fit_intercept, alpha, rng)
    value, grad, rows = ob.curvature(theta)
    assert value == pytest.approx(ob.evaluate(theta, 0)[0], rel=1e-14)
    np.testing.assert_allclose(grad, ob.evaluate(theta, 1)[1], rtol=1e-12, atol=1e-15)
    for _ in range(3):
        v = rng.normal(size=ob.n_params)
        h = 1e-5
        numeric = (ob.evaluate(theta + h * v, 1)[1] - ob.evaluate(theta - h * v, 1)[1]) / (2 * h)
        np.testing.assert_allclose(rows.times(v), numeric, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ob.hessian_vector_product(theta, v),
                                   ob.evaluate(theta, 2)[2] @ v, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", FAMILIES, ids=IDS)
def test_solver_coordinates_hessian_vector_product(name, make, n_classes, fit_intercept,
                                                    monkeypatch):
    """Through feature scaling, centring and the cut points' exp increments (whose
    second-order term the operator includes), with one slope held fixed."""
    monkeypatch.setattr(objective_module, "_BLOCK_BYTES", 2048)
    rng = np.random.default_rng(4)
    ob, theta = small_problem(make(), n_classes, fit_intercept, 0.01, rng)
    free = np.ones(ob.n_params, dtype=bool)
    free[1] = False  # the second slope of the first eta column
    theta[1] = 0.0
    problem = SolverProblem(ob, free=free)
    s = problem.from_natural(theta)
    value, grad, curvature = problem.curvature(s)
    reference = problem.evaluate(s, 2)
    assert value == pytest.approx(reference[0], rel=1e-14)
    np.testing.assert_allclose(grad, reference[1], rtol=1e-10, atol=1e-14)
    for _ in range(3):
        x = rng.normal(size=problem.n_params)
        np.testing.assert_allclose(curvature.times(x), reference[2] @ x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,make,n_classes,fit_intercept",
                         [FAMILIES[0], FAMILIES[5], FAMILIES[7]], ids=[IDS[0], IDS[5], IDS[7]])
def test_single_column_dense_preconditioner_inverts_the_hessian(name, make, n_classes,
                                                                fit_intercept):
    """With one eta column, the dense block from all rows is the whole natural Hessian, so
    at the optimum (no second-order term) P^-1 H x = x in solver coordinates."""
    rng = np.random.default_rng(5)
    ob, _ = small_problem(make(), n_classes, fit_intercept, 0.01, rng)
    result = fitting.fit_objective(ob, "newton", 1e-12, 100)
    problem = SolverProblem(ob)
    _, _, curvature = problem.curvature(problem.from_natural(result.params))
    precondition = curvature.preconditioner(dense=True, step=1)
    x = rng.normal(size=problem.n_params)
    np.testing.assert_allclose(precondition(curvature.times(x)), x, rtol=1e-6, atol=1e-8)


def test_diagonal_preconditioner_is_the_inverse_diagonal_for_one_column():
    rng = np.random.default_rng(6)
    ob, theta = small_problem(Binomial(), 2, True, 0.01, rng)
    problem = SolverProblem(ob)
    s = problem.from_natural(theta)
    _, _, curvature = problem.curvature(s)
    H = problem.evaluate(s, 2)[2]
    # M = diag of the natural Hessian; P = T' M T in solver coordinates
    T = problem.T_sparse.toarray()
    M = np.diag(np.diag(ob.evaluate(theta, 2)[2]))
    r = rng.normal(size=problem.n_params)
    np.testing.assert_allclose(curvature.preconditioner(dense=False)(r),
                               np.linalg.solve(T.T @ M @ T, r), rtol=1e-10)
    assert H.shape == (problem.n_params, problem.n_params)


def _data(kind, n, d, n_classes, rng, signal=1.0):
    X = rng.normal(size=(n, d)) * np.logspace(-1, 1, d) + 0.5
    B = rng.normal(size=(d, n_classes)) * signal / np.sqrt(d) / np.logspace(-1, 1, d)[:, None]
    latent = (X - 0.5) @ B
    if kind == "ordinal":
        score = latent[:, 0] + rng.logistic(size=n)
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    else:
        y = np.argmax(latent + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y, rng.uniform(0.5, 2.0, size=n)


FITS = [
    ("binomial", lambda: Binomial(), 2, True, 0.0),
    ("binomial-ridge", lambda: Binomial(), 2, True, 1e-3),
    ("multinomial-3", lambda: Multinomial(), 3, True, 0.0),
    ("multinomial-3-ridge-no-intercept", lambda: Multinomial(), 3, False, 1e-3),
    ("ordinal-logit", lambda: Ordinal("logit"), 4, False, 0.0),
    ("ordinal-probit", lambda: Ordinal("probit"), 4, False, 0.0),
    ("ordinal-cloglog-ridge", lambda: Ordinal("cloglog"), 5, False, 1e-3),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,make,n_classes,fit_intercept,alpha", FITS,
                         ids=[f[0] for f in FITS])
def test_reaches_the_newton_optimum(name, make, n_classes, fit_intercept, alpha, dtype):
    rng = np.random.default_rng(7)
    family = make()
    X, y, w = _data(family.name, 3000, 8, n_classes, rng)
    ob = Objective(family, X.astype(dtype), y, w, n_classes, fit_intercept, alpha=alpha)
    newton = fitting.fit_objective(ob, "newton", 1e-8, 100)
    cg = fitting.fit_objective(ob, "newton-cg", 1e-8, 100)
    assert newton.converged and cg.converged, cg.report.reason
    assert cg.solver == "newton-cg"
    # float32 data: objectives computed with float32 products differ by their rounding
    # (about 1e-9 here); both optima are compared on the float64 objective
    exact = Objective(family, X, y, w, n_classes, fit_intercept, alpha=alpha)
    value = exact.evaluate(cg.params, 0)[0]
    assert value == pytest.approx(exact.evaluate(newton.params, 0)[0], rel=1e-13)
    atol = 1e-7 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(cg.params, newton.params, rtol=1e-6, atol=atol)


def _newton_decrement(ob, params):
    """g' H^-1 g at natural ``params`` in solver coordinates (twice the decrease a full
    Newton step would still bring)."""
    problem = SolverProblem(ob)
    _, grad, hess = problem.evaluate(problem.from_natural(params), 2)
    return float(grad @ np.linalg.solve(hess, grad))


def test_fifty_classes_converge_to_the_optimum():
    """K=50 multinomial, 5000 x 20 (1029 parameters): "auto" picks Newton-CG, which
    converges where the old L-BFGS fallback stopped at max_iter, and stops at tol without a
    polishing step: a Newton step from its solution would lower the objective by a few
    units in float64's last place at most (here 4.5e-16 of 2.46, one unit)."""
    rng = np.random.default_rng(8)
    X, y, w = _data("multinomial", 5000, 20, 50, rng, signal=2.0)
    ob = Objective(Multinomial(), X, y, w, 50, True, alpha=1e-4)
    assert fitting.choose_solver("auto", ob.n_params, ob) == "newton-cg"
    result = fitting.fit_objective(ob, "auto", 1e-8, 100)
    assert result.solver == "newton-cg" and result.converged, result.report.reason
    assert result.n_iter < 20
    assert result.report.grad_max <= 1e-8
    assert _newton_decrement(ob, result.params) / 2 < 1e-15 * result.objective_value


def test_wide_binary_with_ridge_reaches_the_optimum():
    rng = np.random.default_rng(9)
    X, y, w = _data("binomial", 2000, 300, 2, rng)
    ob = Objective(Binomial(), X, y, w, 2, True, alpha=1e-2)
    result = fitting.fit_objective(ob, "newton-cg", 1e-8, 100)
    newton = fitting.fit_objective(ob, "newton", 1e-8, 100)
    assert result.converged and newton.converged
    assert result.objective_value == pytest.approx(newton.objective_value, rel=1e-13)
    np.testing.assert_allclose(result.params, newton.params, rtol=1e-6, atol=1e-8)


def test_estimator_with_aliased_column_and_inference_equals_newton():
    """An unpenalised fit with a duplicated column: the aliased slope stays fixed, and the
    standard errors (from the full information computed after the fit) match Newton's."""
    rng = np.random.default_rng(10)
    X, y, _ = _data("multinomial", 2000, 4, 3, rng)
    X = np.column_stack([X, X[:, 1]])
    fits = {}
    for solver in ("newton", "newton-cg"):
        with pytest.warns(lk.AliasedColumnsWarning):
            fits[solver] = lk.LogisticRegression(solver=solver).fit(X, y)
    a, b = fits["newton"], fits["newton-cg"]
    assert b.converged_ and b.result_.solver == "newton-cg"
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-6, atol=1e-8)
    se_a, se_b = (m.summary().to_frame()["std_err"].to_numpy() for m in (a, b))
    assert np.isfinite(se_a).sum() == np.isfinite(se_b).sum() > 0
    np.testing.assert_allclose(se_b, se_a, rtol=1e-6)


def test_ordinal_estimator_and_cli_accept_newton_cg(tmp_path):
    rng = np.random.default_rng(11)
    X, y, _ = _data("ordinal", 1500, 3, 4, rng)
    a = lk.OrdinalLogisticRegression(link="probit").fit(X, y)
    b = lk.OrdinalLogisticRegression(link="probit", solver="newton-cg").fit(X, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-6)
    np.testing.assert_allclose(b.thresholds_, a.thresholds_, rtol=1e-6, atol=1e-8)
    import pandas as pd

    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=(y > 1).astype(int))
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = CliRunner().invoke(main, ["fit", str(tmp_path / "d.csv"), "--target", "label",
                                    "--solver", "newton-cg", "-o", str(tmp_path / "m.lkm")])
    assert out.exit_code == 0, out.output
    assert lk.load(tmp_path / "m.lkm").result_.solver == "newton-cg"


@pytest.mark.parametrize("pair_products", [True, False])
@pytest.mark.parametrize("name,make,n_classes,fit_intercept",
                         [FAMILIES[2], FAMILIES[3], FAMILIES[6]], ids=[IDS[2], IDS[3], IDS[6]])
def test_sampled_class_blocks_are_the_sample_hessian_blocks(name, make, n_classes,
                                                            fit_intercept, pair_products,
                                                            monkeypatch):
    """Every 3rd row over several row blocks: each eta column's block, the all-columns
    (base class) block sum_kl H_kl, and the aux coupling, scaled to the full weight (from
    the pairwise products of columns, or Gram products)."""
    monkeypatch.setattr(objective_module, "_BLOCK_BYTES", 2048)
    monkeypatch.setattr(curvature_module, "_PAIR_PRODUCT_COLUMNS", 64 if pair_products else 0)
    rng = np.random.default_rng(12)
    ob, theta = small_problem(make(), n_classes, fit_intercept, 0.0, rng)
    _, _, rows = ob.curvature(theta)
    assert len(rows.kept) > 1
    blocks, cross, aux = rows.class_blocks(3)
    sample = ob.subset(slice(0, None, 3))
    H = sample.evaluate(theta, 2)[2] * sample.total_weight * 3 / ob.total_weight
    d1, m = ob.d1, ob.m
    HW = H[: m * d1, : m * d1].reshape(m, d1, m, d1)
    for k in range(m):
        np.testing.assert_allclose(blocks[k], HW[k, :, k, :], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(cross[k], H[k * d1:(k + 1) * d1, m * d1:], rtol=1e-10,
                                   atol=1e-14)
    if m > 1:
        np.testing.assert_allclose(blocks[m], HW.sum(axis=(0, 2)), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(aux, ob.evaluate(theta, 2)[2][m * d1:, m * d1:], rtol=1e-12)


@pytest.mark.parametrize("dense", [True, False])
def test_torch_tensors_give_the_numpy_fit(dense, monkeypatch):
    """The Hessian-vector products, kept rows and preconditioner blocks run where X lives
    (CPU torch here; LOGITKIT_TEST_DEVICE is not needed for the algebra)."""
    torch = pytest.importorskip("torch")
    solver_module = __import__("sys").modules["logitkit.solvers.newton_cg"]
    monkeypatch.setattr(solver_module, "DENSE_BLOCK_PASSES", 1e9 if dense else 0.0)
    rng = np.random.default_rng(13)
    X, y, w = _data("multinomial", 2000, 5, 4, rng)
    for family, n_classes, labels in ((Multinomial(), 4, y), (Ordinal("cloglog"), 4, y),
                                      (Binomial(), 2, (y > 1).astype(int))):
        fit_intercept = family.name != "ordinal"
        ours = Objective(family, X, labels, w, n_classes, fit_intercept, alpha=1e-3)
        tensors = Objective(family, torch.as_tensor(X), torch.as_tensor(labels),
                            torch.as_tensor(w), n_classes, fit_intercept, alpha=1e-3)
        a = fitting.fit_objective(ours, "newton-cg", 1e-8, 100)
        b = fitting.fit_objective(tensors, "newton-cg", 1e-8, 100)
        assert a.converged and b.converged
        np.testing.assert_allclose(b.params, a.params, rtol=1e-9, atol=1e-11)


def test_more_classes_than_int8_codes_hold():
    # 130 classes: int16 codes; the fit equals the one on the same labels as strings
    rng = np.random.default_rng(9)
    X = rng.normal(size=(2600, 2))
    y = np.arange(2600) % 130
    a = lk.LogisticRegression(alpha=1e-2).fit(X, y)
    b = lk.LogisticRegression(alpha=1e-2).fit(X, np.char.add("c", y.astype(str)))
    assert a.converged_ and len(a.classes_) == 130
    order = np.argsort(np.char.add("c", a.classes_.astype(str)))
    np.testing.assert_allclose(a.coef_[order], b.coef_, atol=1e-10)
    np.testing.assert_array_equal(np.char.add("c", a.predict(X).astype(str)), b.predict(X))
