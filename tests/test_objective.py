"""Finite-difference checks of every family's gradient and Hessian through the Objective
(natural coordinates) and through the solver parametrisation."""

import numpy as np
import pytest

from family_cases import FAMILIES, IDS, small_problem
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective
from logitkit.parametrization import SolverProblem


def _numeric_gradient(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("name,make,n_classes,fit_intercept", FAMILIES, ids=IDS)
def test_natural_gradient_and_hessian(name, make, n_classes, fit_intercept, alpha):
    rng = np.random.default_rng(0)
    ob, theta = small_problem(make(), n_classes, fit_intercept, alpha, rng)
    value, grad, hess = ob.evaluate(theta, 2)
    assert value == pytest.approx(ob.evaluate(theta, 0)[0], rel=1e-14)
    num_grad = _numeric_gradient(lambda t: ob.evaluate(t, 0)[0], theta)
    np.testing.assert_allclose(grad, num_grad, rtol=1e-6, atol=1e-8)
    num_hess = np.array([
        _numeric_gradient(lambda t, i=i: ob.evaluate(t, 1)[1][i], theta)
        for i in range(theta.size)
    ])
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hess, hess.T, atol=1e-12)


@pytest.mark.parametrize("full", [False, True])
def test_multinomial_hessian_per_pair_of_classes_equals_the_low_rank_form(full,
                                                                          monkeypatch):
    """The slopes block from a Gram product per pair of eta columns (up to
    PAIR_GRAMS_MAX_ETA of them) equals the per-column plus low-rank form of more."""
    from logitkit import block_sums

    ob, theta = small_problem(Multinomial(full=full), 5, True, 0.2, np.random.default_rng(3))
    _, _, pairs = ob.evaluate(theta, 2)
    monkeypatch.setattr(block_sums, "PAIR_GRAMS_MAX_ETA", ob.m - 1)
    _, _, low_rank = ob.evaluate(theta, 2)
    np.testing.assert_allclose(pairs, low_rank, rtol=1e-12, atol=1e-12)
    assert not np.array_equal(pairs, low_rank)  # (two different sums)


@pytest.mark.parametrize("full", [False, True])
def test_multinomial_hessian_at_equal_linear_predictors(full, monkeypatch):
    """At zero slopes without an offset every row's softmax Hessian is its weight times
    one matrix: the Hessian is formed from one Gram product (HessianSum's ``uniform``),
    and equals the general blocks' and the finite differences'; an offset, or a slope
    off zero, takes the general blocks."""
    from logitkit import block_sums

    rng = np.random.default_rng(2)
    ob, theta = small_problem(Multinomial(full=full), 4, True, 0.2, rng)
    W, aux = ob.unpack(theta)
    W[:, : ob.d] = 0.0
    theta = ob.pack(W, aux)
    uniform = []
    original = block_sums.HessianSum.__init__

    def spy(self, objective, uniform_rows=False):
        uniform.append(uniform_rows)
        original(self, objective, uniform_rows)

    monkeypatch.setattr(block_sums.HessianSum, "__init__", spy)
    _, grad, hess = ob.evaluate(theta, 2)
    assert uniform == [True]
    monkeypatch.setattr(ob, "_uniform_curvature", lambda W: False)
    _, _, general = ob.evaluate(theta, 2)
    np.testing.assert_allclose(hess, general, rtol=1e-12, atol=1e-13)
    num_hess = np.array([
        _numeric_gradient(lambda t, i=i: ob.evaluate(t, 1)[1][i], theta)
        for i in range(theta.size)
    ])
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-7)
    monkeypatch.undo()
    W[0, 1] = 1e-3
    assert not ob._uniform_curvature(W)
    W[0, 1] = 0.0
    ob.offset = rng.normal(size=(ob.n, ob.m))
    assert not ob._uniform_curvature(W)


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", FAMILIES, ids=IDS)
def test_solver_coordinates_chain_rule(name, make, n_classes, fit_intercept):
    rng = np.random.default_rng(1)
    ob, theta = small_problem(make(), n_classes, fit_intercept, 0.1, rng)
    problem = SolverProblem(ob)
    s = problem.from_natural(theta)
    np.testing.assert_allclose(problem.to_natural(s), theta, rtol=1e-12, atol=1e-12)
    # s: slopes times the column scales; intercepts (or the first cut point, less) plus
    # the column means times the slopes: the model on centred, scaled columns
    W, aux = ob.unpack(theta)
    S = s[: ob.m * ob.d1].reshape(ob.m, ob.d1)
    np.testing.assert_allclose(S[:, : ob.d], W[:, : ob.d] * problem.scales, rtol=1e-12)
    if fit_intercept:
        np.testing.assert_allclose(S[:, ob.d], W[:, ob.d] + W[:, : ob.d] @ problem.means)
    if ob.q:
        np.testing.assert_allclose(s[ob.m * ob.d1], aux[0] - W[0, : ob.d] @ problem.means)
    _, grad, hess = problem.evaluate(s, 2)
    np.testing.assert_allclose(grad, _numeric_gradient(problem.value, s), rtol=1e-6, atol=1e-8)
    num_hess = np.array(
        [_numeric_gradient(lambda t, i=i: problem.evaluate(t, 1)[1][i], s) for i in range(s.size)]
    )
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", FAMILIES, ids=IDS)
def test_score_products_are_the_sums_of_row_score_outer_products(name, make, n_classes,
                                                                 fit_intercept):
    """rows = sum_i s_i s_i' / w_i with s_i = w_i dl_i/dtheta (each row's own gradient);
    clusters = sum_g S_g S_g'. Zero weights included, float64 and float32 X."""
    rng = np.random.default_rng(7)
    ob, theta = small_problem(make(), n_classes, fit_intercept, 0.0, rng)
    ob.w[::10] = 0.0
    scores = np.array([Objective(make(), ob.X[i:i + 1], ob.y[i:i + 1], ob.w[i:i + 1],
                                 n_classes, fit_intercept).loss_terms(theta, 1)[1]
                       for i in range(ob.n)])
    nonzero = ob.w > 0
    expected = (scores[nonzero] / ob.w[nonzero, None]).T @ scores[nonzero]
    groups = rng.integers(0, 7, size=ob.n)
    sums = np.array([scores[groups == g].sum(axis=0) for g in range(7)])
    products = ob.score_products(theta, groups)
    np.testing.assert_allclose(products.rows, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(products.clusters, sums.T @ sums, rtol=1e-10, atol=1e-10)
    assert products.hc2 is None and products.hc3 is None  # no bread given
    single = Objective(make(), ob.X.astype(np.float32), ob.y, ob.w, n_classes, fit_intercept)
    single.block_rows = single.wide_block_rows = 64
    np.testing.assert_allclose(single.score_products(theta).rows, expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())
    if not ob.has_hat_values:
        bread = np.eye(ob.n_params)
        assert ob.score_products(theta, bread=bread).hc2 is None  # no hat values here
        return
    # hat values of one copy, h_i = v_i x_i' B x_i, over blocks of a float32 X and of X in
    # column order too, for the inverse information and for any symmetric B
    column = Objective(make(), np.asfortranarray(ob.X), ob.y, ob.w, n_classes, fit_intercept)
    column.block_rows = column.wide_block_rows = 64
    design = np.column_stack([ob.X, np.ones(ob.n)]) if fit_intercept else ob.X
    eta = design @ theta
    v = np.exp(eta) / (1 + np.exp(eta)) ** 2
    inverse = np.linalg.inv(ob.loss_terms(theta, 2)[2])
    u = np.ones(ob.n_params) / np.sqrt(ob.n_params)
    projector = np.eye(ob.n_params) - np.outer(u, u)
    X_before = ob.X.copy()
    indefinite = projector @ inverse @ projector - 1e-3 * np.trace(inverse) * np.outer(u, u)
    for bread in (inverse, indefinite):
        h = v * np.einsum("ij,jk,ik->i", design, bread, design)
        products = ob.score_products(theta, bread=bread)
        for power, hc in ((1, "hc2"), (2, "hc3")):
            meat = (scores[nonzero] / (ob.w[nonzero] * (1 - h[nonzero]) ** power)[:, None]).T \
                @ scores[nonzero]
            np.testing.assert_allclose(getattr(products, hc), meat, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(getattr(single.score_products(theta, bread=bread), hc),
                                       meat, rtol=1e-5, atol=1e-5 * np.abs(meat).max())
            np.testing.assert_allclose(getattr(column.score_products(theta, bread=bread), hc),
                                       meat, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ob.X, X_before)  # the blocks are never written to


def test_ordinal_probabilities_are_stable_in_the_tails():
    fam = Ordinal("logit")
    eta = np.array([[-60.0], [0.0], [60.0]])
    proba = fam.predict_proba(eta, np.array([-1.0, 1.0]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba >= 0)
    # far in the upper tail the top class carries all the mass, the bottom a tiny positive one
    assert proba[2, 2] == pytest.approx(1.0) and 0 < proba[2, 0] < 1e-20
    der = fam.derivatives(eta, np.array([-1.0, 1.0]), np.array([0.0, 1.0, 2.0]), np.ones(3), 2)
    assert np.isfinite(der.loss) and np.all(np.isfinite(der.hess_aux))


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_ordinal_predicted_class_is_the_most_probable(link):
    """predict_class (CDF differences) picks predict_proba's argmax (log probabilities),
    in the tails too; K = 2 and K = 5."""
    fam = Ordinal(link)
    eta = np.linspace(-60.0, 60.0, 2001)[:, None]
    for cuts in (np.array([0.3]), np.array([-9.0, -3.0, 1.0, 7.0])):
        expected = np.argmax(fam.predict_proba(eta, cuts), axis=1)
        np.testing.assert_array_equal(fam.predict_class(eta, cuts), expected)
        assert set(expected) == set(range(len(cuts) + 1))


def test_binomial_loss_is_stable_for_huge_eta():
    der = Binomial().derivatives(np.array([[800.0], [-800.0]]), np.zeros(0),
                                 np.array([0.0, 1.0]), np.ones(2), 2)
    assert der.loss == pytest.approx(1600.0)
    np.testing.assert_allclose(der.grad_eta[:, 0], [1.0, -1.0])


def test_the_logit_closed_forms_equal_the_generic_link_terms():
    """LogitLink's one-exp-one-log1p ends and log_prob agree with the generic forms built
    from its log CDF, survival, density and density slope, infinite ends included."""
    from logitkit.families.ordinal import Link, LogitLink

    # the generic second-order terms are differences of larger numbers: in far tails (a cell
    # of probability 1e-13) and narrow cells they lose digits, which is why logit has its own

    rng = np.random.default_rng(0)
    lower = rng.normal(scale=5, size=200)
    b = np.concatenate([[-np.inf, -np.inf], lower, [3.0]])  # -inf: the first class
    a = np.concatenate([[0.5, -30.0], lower + rng.exponential(2.0, size=200), [np.inf]])
    logit = LogitLink()
    with np.errstate(invalid="ignore", divide="ignore"):
        closed, generic = logit.ends(a, b, 2), Link.ends(logit, a, b, 2)
        np.testing.assert_allclose(logit.log_prob(a, b), Link.log_prob(logit, a, b),
                                   rtol=1e-12)
    for x, y in zip(closed, generic, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-7, atol=1e-12)
