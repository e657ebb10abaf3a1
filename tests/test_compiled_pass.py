"""The fused, compiled value-and-gradient passes (logitkit.solvers.compiled_pass) against
the NumPy pass they replace on binary X: the row pass (X in C order, four rows at a time
or one) and the column pass (gradients of X in column order) give the same loss,
gradient and least row loss to rounding, the same fits and passes, and the gate keeps
every other X on NumPy."""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from compiled_checks import assert_same_terms
from logitkit.encoding import DesignEncoder
from logitkit.families import Binomial, Multinomial
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop, compiled_pass

pytest.importorskip("numba")


def data(n, d, seed, weights="mixed", scale=1.0):
    """(X, y, w): y from a logit model, w with zeros and fractions (``weights`` "mixed")."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    y = (X @ rng.normal(size=d) + rng.logistic(size=n) > 0).astype(float)
    w = np.ones(n)
    if weights == "mixed":
        w = rng.choice([0.0, 0.5, 1.0, 3.0], size=n)
    return X, y, w


def terms(objective, theta, order, enabled, monkeypatch, fused="rows"):
    monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
    assert compiled_pass.path(objective, order) == (fused if enabled else None)
    loss, grad, _ = objective.loss_terms(theta, order)
    least = objective._least_losses[-1][1]
    return loss, grad, least


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("d", [1, 7, 16])
@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("by_four", [True, False])
def test_pass_equals_numpy(intercept, d, extreme, by_four, monkeypatch):
    # several blocks of the NumPy pass and several compiled chunks of 301 rows: the last
    # ends part-way, and so does each chunk's last group of four rows
    monkeypatch.setattr(compiled_pass, "FOUR_ROWS_FROM", 1 if by_four else 17)
    monkeypatch.setattr(compiled_pass, "FOUR_ROWS_CHUNK", 301)
    monkeypatch.setattr(compiled_pass, "ROW_CHUNK", 301)
    X, y, w = data(2_000, d, seed=d + 10 * intercept, scale=2_000.0 if extreme else 1.0)
    ob = Objective(Binomial(), X, y, w, 2, intercept, alpha=1e-3)
    ob.block_rows = 700
    theta = np.random.default_rng(d).normal(size=ob.n_params)
    theta[:d] /= np.linalg.norm(theta[:d])  # eta ~ N(intercept, scale^2)
    if extreme:  # |eta| beyond 800 on most rows: exp(-|z|) underflows, losses are ~|z|
        assert np.mean(np.abs(X @ theta[:d]) > 800) > 0.5
    for order in (0, 1):
        assert_same_terms(terms(ob, theta, order, True, monkeypatch),
                          terms(ob, theta, order, False, monkeypatch), ob.n_params)


def test_least_loss_skips_rows_of_zero_weight(monkeypatch):
    X, y, w = data(500, 3, seed=1, weights="ones")
    theta = np.array([2.0, -1.0, 0.5, 0.3])
    eta = X @ theta[:3] + theta[3]
    rows = eta * (2 * y - 1)  # the margin: the row loss falls as it grows
    w[np.argmax(rows)] = 0.0  # the row of least loss weighs nothing
    ob = Objective(Binomial(), X, y, w, 2, True)
    _, _, least = terms(ob, theta, 0, True, monkeypatch)
    _, _, least0 = terms(ob, theta, 0, False, monkeypatch)
    np.testing.assert_allclose(least, least0, rtol=1e-12)
    expected = np.logaddexp(0, -np.delete(rows, np.argmax(rows))).min()
    np.testing.assert_allclose(least, expected, rtol=1e-12)


def _compiled_and_numpy_fits(monkeypatch, kernel: str, fit):
    """(fit() with the compiled loops, fit() without), checking that the first called
    ``compiled_pass.<kernel>`` and the second did not."""
    calls, original = [], getattr(compiled_pass, kernel)
    monkeypatch.setattr(compiled_pass, kernel, lambda *a: calls.append(1) or original(*a))
    fits = []
    for enabled in (True, False):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        fits.append(fit())
        assert bool(calls) is enabled
        calls.clear()
    return fits


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize(("solver", "n"), [("lbfgs", 4_000), ("auto", 200_000)])
def test_fit_equals_numpy_fit(intercept, solver, n, monkeypatch):
    # "auto" on 200,000 rows: Newton with Hessians from a row sample, values and gradients
    # from full passes
    X, y, w = data(n, 6, seed=5)
    fused, plain = _compiled_and_numpy_fits(
        monkeypatch, "row_terms",
        lambda: lk.LogisticRegression(alpha=1e-3, solver=solver,
                                      fit_intercept=intercept).fit(X, y, w))
    np.testing.assert_allclose(fused.coef_, plain.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fused.intercept_, plain.intercept_, rtol=0, atol=1e-10)
    assert fused.n_passes_ == plain.n_passes_
    assert fused.n_iter_ == plain.n_iter_


def test_gate(monkeypatch):
    monkeypatch.setattr(compiled_loop, "ENABLED", True)
    X, y, w = data(300, 4, seed=2)
    narrow = Objective(Binomial(), X, y, w, 2, True)
    assert compiled_pass.path(narrow, 0) == compiled_pass.path(narrow, 1) == "rows"
    assert not compiled_pass.supports(narrow, 2)  # Hessians: the NumPy pass
    middle = Objective(Binomial(), *data(300, compiled_pass.MAX_VALUE_COLUMNS + 1, seed=2),
                       2, True)
    assert compiled_pass.path(middle, 0) is None and compiled_pass.path(middle, 1) == "rows"
    widest = compiled_pass.MAX_COLUMNS
    wide = Objective(Binomial(), np.zeros((2, widest)), y[:2], w[:2], 2, True)
    assert compiled_pass.path(wide, 1) == "rows"
    beyond = Objective(Binomial(), np.zeros((2, widest + 1)), y[:2], w[:2], 2, True)
    assert not compiled_pass.supports(beyond, 1)
    single = Objective(Binomial(), X.astype(np.float32), y, w, 2, True)
    assert compiled_pass.path(single, 0) == compiled_pass.path(single, 1) == "rows"
    others = [
        Objective(Binomial(), X.astype(np.float16), y, w, 2, True),  # another dtype
        Objective(Binomial(), X[:, ::2], y, w, 2, True),  # neither C nor F order
        Objective(Multinomial(full=True), X, y, w, 2, True),  # another family
        Objective(Binomial(), X, y, w, 2, True, offset=np.ones((300, 1))),  # an offset
    ]
    frame = pd.DataFrame({"x": X[:, 0], "c": pd.Categorical(np.arange(300) % 3)})
    design = DesignEncoder.fit(frame).design(frame)  # a Design, not an array
    codes = Objective(Binomial(), design, y, w, 2, True)
    assert compiled_pass.path(codes, 0) == compiled_pass.path(codes, 1) == "categorical"
    assert not compiled_pass.supports(codes, 2)
    others.append(Objective(Multinomial(full=True), design, y, w, 2, True))
    for ob in others:
        assert not compiled_pass.supports(ob, 0) and not compiled_pass.supports(ob, 1)
    column_order = Objective(Binomial(), np.asfortranarray(X), y, w, 2, True)
    assert compiled_pass.path(column_order, 0) is None  # (values: BLAS reads X once)
    assert compiled_pass.path(column_order, 1) == "columns"
    monkeypatch.setattr(compiled_loop, "ENABLED", False)  # LOGITKIT_NUMBA=0
    assert not compiled_pass.supports(narrow, 1) and not compiled_pass.supports(wide, 1)
    assert not compiled_pass.supports(column_order, 1)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("d", [2, 3, 6, 33])  # (one column is in both orders: rows')
@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_pass_equals_numpy(intercept, d, extreme, dtype, monkeypatch):
    """X in column order (a DataFrame's float64 block): chunks of 97 rows, so the last
    ends part-way, and four-column groups that end part-way; products in float64, so
    float32 X gives the exact sums over its values (the float64 copy's NumPy pass)."""
    monkeypatch.setattr(compiled_pass, "COLUMN_CHUNK_BYTES",
                        97 * d * np.dtype(dtype).itemsize)
    X, y, w = data(2_003, d, seed=d + 10 * intercept, scale=2_000.0 if extreme else 1.0)
    X = np.asfortranarray(X.astype(dtype))
    ob = Objective(Binomial(), X, y, w, 2, intercept, alpha=1e-3)
    exact = Objective(Binomial(), X.astype(np.float64), y, w, 2, intercept, alpha=1e-3)
    exact.block_rows = ob.block_rows = 700
    theta = np.random.default_rng(d).normal(size=ob.n_params)
    theta[:d] /= np.linalg.norm(theta[:d])
    loss, grad, least = terms(ob, theta, 1, True, monkeypatch, fused="columns")
    loss0, grad0, least0 = terms(exact, theta, 1, False, monkeypatch)
    np.testing.assert_allclose(loss, loss0, rtol=1e-12)
    np.testing.assert_allclose(least, least0, rtol=1e-12, atol=1e-300)
    assert grad.shape == grad0.shape == (ob.n_params,)
    np.testing.assert_allclose(grad, grad0, rtol=1e-12, atol=1e-12 * np.abs(grad0).max())


@pytest.mark.parametrize("weighted", [True, False])
def test_column_order_fit_equals_row_order_fit(weighted):
    """The same fit from X in column order (as ``DataFrame.to_numpy()`` gives it) and in
    row order, iteration for iteration."""
    X, y, w = data(30_000, 12, seed=8)
    fits = [lk.LogisticRegression(alpha=1e-4).fit(order(X), y, w if weighted else None)
            for order in (np.ascontiguousarray, np.asfortranarray)]
    np.testing.assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-10)
    np.testing.assert_allclose(fits[1].intercept_, fits[0].intercept_, rtol=1e-10)
    assert fits[1].n_iter_ == fits[0].n_iter_ and fits[1].n_passes_ == fits[0].n_passes_


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("d", [1, 6, 33, 130, 1001])
@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("weights", ["mixed", "ones"])
def test_row_pass_equals_numpy(intercept, d, extreme, weights, monkeypatch):
    # the row pass at every width, four rows at a time (1001 columns) or one: 2,003 rows,
    # so the chunks and the groups of 4 end part-way; several NumPy blocks
    X, y, w = data(2_003, d, seed=d + 10 * intercept, weights=weights,
                   scale=2_000.0 if extreme else 1.0)
    if weights == "ones":
        w = np.broadcast_to(1.0, w.shape)  # an unweighted fit's read-only ones
    ob = Objective(Binomial(), X, y, w, 2, intercept, alpha=1e-3)
    ob.block_rows = 700
    theta = np.random.default_rng(d).normal(size=ob.n_params)
    theta[:d] /= np.linalg.norm(theta[:d])
    if extreme:  # |eta| beyond 800 on most rows: exp(-|z|) underflows, losses are ~|z|
        assert np.mean(np.abs(X @ theta[:d]) > 800) > 0.5
    loss, grad, least = terms(ob, theta, 1, True, monkeypatch, fused="rows")
    loss0, grad0, least0 = terms(ob, theta, 1, False, monkeypatch)
    np.testing.assert_allclose(loss, loss0, rtol=1e-12)
    np.testing.assert_allclose(least, least0, rtol=1e-12, atol=1e-300)
    assert grad.shape == grad0.shape == (ob.n_params,)
    np.testing.assert_allclose(grad, grad0, rtol=1e-12, atol=1e-12 * np.abs(grad0).max())
    # the value pass (compiled up to MAX_VALUE_COLUMNS, else NumPy's) reports the same
    monkeypatch.setattr(compiled_loop, "ENABLED", True)
    narrow = d <= compiled_pass.MAX_VALUE_COLUMNS
    assert compiled_pass.path(ob, 0) == ("rows" if narrow else None)
    assert ob.loss_terms(theta, 0)[0] == pytest.approx(loss0, rel=1e-12)


@pytest.mark.parametrize("d", [3, 40])
@pytest.mark.parametrize("extreme", [False, True])
def test_float32_row_pass(d, extreme, monkeypatch):
    # products and sums in float64: the exact sums over the float32 data to float64
    # rounding; the NumPy pass (eta and a block's X' r in float32, as BLAS computes them)
    # to about float32 rounding
    X, y, w = data(3_001, d, seed=d, scale=2_000.0 if extreme else 1.0)
    X32 = X.astype(np.float32)
    ob = Objective(Binomial(), X32, y, w, 2, True, alpha=1e-3)
    exact = Objective(Binomial(), X32.astype(np.float64), y, w, 2, True, alpha=1e-3)
    theta = np.random.default_rng(d).normal(size=ob.n_params)
    theta[:d] /= np.linalg.norm(theta[:d])
    loss, grad, least = terms(ob, theta, 1, True, monkeypatch, fused="rows")
    loss0, grad0, least0 = terms(ob, theta, 1, False, monkeypatch)
    monkeypatch.setattr(compiled_loop, "ENABLED", False)
    loss_x, grad_x, _ = exact.loss_terms(theta, 1)
    least_x = exact._least_losses[-1][1]
    for got, rtol in (((loss, grad, least), 1e-12), ((loss0, grad0, least0), 1e-6)):
        np.testing.assert_allclose(got[0], loss_x, rtol=rtol)
        np.testing.assert_allclose(got[1], grad_x, rtol=10 * rtol,
                                   atol=rtol * np.abs(grad_x).max())
        np.testing.assert_allclose(got[2], least_x, rtol=100 * rtol, atol=0.1 * rtol)


def test_torch_x_takes_the_numpy_path(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(compiled_loop, "ENABLED", True)
    X, y, w = data(200, 3, seed=4)
    ob = Objective(Binomial(), torch.asarray(X), torch.asarray(y), torch.asarray(w), 2, True)
    assert not compiled_pass.supports(ob, 1)


# float32 with Newton only: lbfgs's line search stalls on float32 rounding short of a
# tolerance that pins the optimum, at points that differ between the paths
@pytest.mark.parametrize(("solver", "n", "dtype"), [("lbfgs", 4_000, np.float64),
                                                    ("auto", 6_000, np.float64),
                                                    ("auto", 6_000, np.float32)])
@pytest.mark.parametrize("weighted", [True, False])
def test_row_pass_fit_equals_numpy_fit(solver, n, dtype, weighted, monkeypatch):
    # the row pass in float64 a row at a time (240 columns), and in float32 (40)
    columns = 240 if dtype == np.float64 else 40
    X, y, w = data(n, columns, seed=7)
    X = X.astype(dtype)
    fused, plain = _compiled_and_numpy_fits(
        monkeypatch, "row_terms",
        lambda: lk.LogisticRegression(alpha=1e-3, solver=solver).fit(
            X, y, w if weighted else None))
    # float32: the NumPy pass computes eta and a block's X' r in float32, the row pass
    # in float64
    atol = 1e-10 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(fused.coef_, plain.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(fused.intercept_, plain.intercept_, rtol=0, atol=atol)
    if dtype == np.float64:
        assert fused.n_passes_ == plain.n_passes_ and fused.n_iter_ == plain.n_iter_
