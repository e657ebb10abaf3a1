"""The compiled value-and-gradient pass over a categorical design
(logitkit.solvers.compiled_categorical) against the NumPy pass it replaces: the same
loss, gradient and least row loss to rounding, with the numeric columns read in place
(one DataFrame block) or copied piece by piece (columns of several dtypes), and the same
fits."""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from compiled_checks import assert_same_terms
from logitkit.encoding import DesignEncoder
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective
from logitkit.solvers import compiled_categorical, compiled_loop, compiled_pass

pytest.importorskip("numba")


def frame_and_labels(n, seed, mixed=False, levels=(4, 9), scale=1.0):
    """(DataFrame, y): Categorical columns of ``levels`` levels (a level unused), float64
    numeric columns in one block, or (``mixed``) float64, float32, int and bool ones."""
    rng = np.random.default_rng(seed)
    columns, eta = {}, np.zeros(n)
    for c, size in enumerate(levels):
        codes = rng.integers(0, size - 1, n)  # the last level unused
        columns[f"c{c}"] = pd.Categorical.from_codes(codes, [f"L{j}" for j in range(size)])
        eta += rng.normal(size=size)[codes]
    numeric = rng.normal(size=(n, 3)) * scale
    eta += numeric @ rng.normal(size=3) / scale
    if mixed:
        columns.update(x=numeric[:, 0], x32=numeric[:, 1].astype(np.float32),
                       k=np.round(numeric[:, 2]).astype(np.int64), flag=numeric[:, 2] > 0)
    else:
        columns.update({f"x{j}": numeric[:, j] for j in range(3)})
    y = (eta + rng.logistic(size=n) > 0).astype(float)
    return pd.DataFrame(columns), y


def terms(objective, theta, order, enabled, monkeypatch):
    monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
    assert compiled_pass.path(objective, order) == ("categorical" if enabled else None)
    loss, grad, _ = objective.loss_terms(theta, order)
    return loss, grad, objective._least_losses[-1][1]


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("levels", [(4, 9), (200,)])  # (int16 codes)
def test_pass_equals_numpy(intercept, mixed, extreme, levels, monkeypatch):
    # chunks of 301 rows and pieces of 700: the last of each ends part-way
    monkeypatch.setattr(compiled_pass, "COLUMN_CHUNK_BYTES", 301 * 8 * 3)
    monkeypatch.setattr(compiled_categorical, "PIECE_BYTES", 700 * 8 * 3)
    frame, y = frame_and_labels(2_000, seed=len(levels), mixed=mixed, levels=levels,
                                scale=2_000.0 if extreme else 1.0)
    design = DesignEncoder.fit(frame).design(frame)
    assert isinstance(design.numeric, np.ndarray) is not mixed
    w = np.random.default_rng(1).choice([0.0, 0.5, 1.0, 3.0], size=len(y))
    ob = Objective(Binomial(), design, y, w, 2, intercept, alpha=1e-3)
    ob.block_rows = 900
    theta = np.random.default_rng(2).normal(size=ob.n_params)
    if extreme:  # |eta| in the thousands on most rows: exp(-|z|) underflows
        theta[design.layout.numeric_at] *= 2.0
    for order in (0, 1):
        assert_same_terms(terms(ob, theta, order, True, monkeypatch),
                          terms(ob, theta, order, False, monkeypatch), ob.n_params)


def test_unit_weights_and_one_numeric_column_of_none(monkeypatch):
    frame, y = frame_and_labels(1_000, seed=3)
    for columns in (["c0", "c1", "x0"], ["c0", "c1"]):  # one numeric column, none
        design = DesignEncoder.fit(frame[columns]).design(frame[columns])
        ob = Objective(Binomial(), design, y, np.broadcast_to(1.0, len(y)), 2, True)
        theta = np.random.default_rng(4).normal(size=ob.n_params)
        for order in (0, 1):
            assert_same_terms(terms(ob, theta, order, True, monkeypatch),
                              terms(ob, theta, order, False, monkeypatch), ob.n_params)


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
@pytest.mark.parametrize(("solver", "n"), [("lbfgs", 5_000), ("auto", 150_000)])
def test_fit_equals_numpy_fit(mixed, alpha, solver, n, monkeypatch):
    # "auto" on 150,000 rows: Newton with Hessians from a row sample, values and gradients
    # from full passes
    frame, y = frame_and_labels(n, seed=5, mixed=mixed)
    calls, original = [], compiled_categorical.design_terms
    monkeypatch.setattr(compiled_categorical, "design_terms",
                        lambda *a: calls.append(1) or original(*a))
    fits = []
    for enabled in (True, False):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        fits.append(lk.LogisticRegression(alpha=alpha, solver=solver).fit(frame, y))
        assert bool(calls) is enabled
        calls.clear()
    fused, plain = fits
    np.testing.assert_allclose(fused.coef_, plain.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fused.intercept_, plain.intercept_, rtol=0, atol=1e-10)
    assert fused.n_passes_ == plain.n_passes_ and fused.n_iter_ == plain.n_iter_
    if alpha == 0.0:
        np.testing.assert_allclose(fused.summary().table["std_err"],
                                   plain.summary().table["std_err"], rtol=1e-8)


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("levels", [(4, 9, 3), (200,)])
def test_level_tables_equal_numpy_and_dense(mixed, levels, monkeypatch):
    # weights of both signs and zeros, for three weight vectors at once; pieces of 700
    # rows (the last part-way)
    monkeypatch.setattr(compiled_categorical, "PIECE_BYTES", 700 * 8 * 3)
    frame, _ = frame_and_labels(2_000, seed=6, mixed=mixed, levels=levels)
    design = DesignEncoder.fit(frame).design(frame)
    W = np.random.default_rng(7).choice([-1.5, 0.0, 0.25, 2.0], size=(3, 2_000))
    grams = {}
    for enabled in (True, False):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        grams[enabled] = design.weighted_grams(W)
    np.testing.assert_allclose(grams[True], grams[False], rtol=1e-12, atol=1e-9)
    dense = design.toarray()
    expected = np.einsum("ni,kn,nj->kij", dense, W, dense)
    np.testing.assert_allclose(grams[True], expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("levels", [(4, 9, 3), (200,)])
def test_products_equal_numpy_and_dense(mixed, levels, monkeypatch):
    # X @ B and V X for one and several columns, on a design longer than a chunk
    frame, _ = frame_and_labels(9_000, seed=8, mixed=mixed, levels=levels)
    design = DesignEncoder.fit(frame).design(frame)
    rng = np.random.default_rng(9)
    B, V = rng.normal(size=(design.shape[1], 3)), rng.normal(size=(3, len(frame)))
    products = {}
    for enabled in (True, False):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        products[enabled] = (design @ B, design @ B[:, 0], V @ design, V[0] @ design)
    dense = design.toarray()
    expected = (dense @ B, dense @ B[:, 0], V @ dense, V[0] @ dense)
    for compiled, plain, exact in zip(products[True], products[False], expected,
                                      strict=True):
        assert compiled.shape == exact.shape
        np.testing.assert_allclose(compiled, plain, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(compiled, exact, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize(("family", "n_classes", "intercept"),
                         [(Multinomial(full=True), 3, True), (Multinomial(), 4, False),
                          (Ordinal("logit"), 4, False)])
def test_preconditioner_blocks_equal_the_dense_ones(family, n_classes, intercept):
    # truncated Newton's preconditioner blocks from every 3rd row, over several blocks:
    # from the design's Gram products (no dense copy) as from its dense one-hot copy
    frame, _ = frame_and_labels(3_000, seed=10, mixed=True)
    design = DesignEncoder.fit(frame).design(frame)
    rng = np.random.default_rng(11)
    y = rng.integers(0, n_classes, size=len(frame)).astype(float)
    w = rng.uniform(0.2, 3.0, size=len(frame))
    blocks = []
    for X in (design, design.toarray()):
        ob = Objective(family, X, y, w, n_classes, intercept, alpha=1e-3)
        ob.block_rows = 700
        if not blocks:
            theta = ob.pack(rng.normal(scale=0.3, size=(ob.m, ob.d1)),
                            np.sort(rng.normal(size=ob.q)))
        blocks.append(ob.curvature(theta)[2].class_blocks(3))
    for got, want in zip(*blocks, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
