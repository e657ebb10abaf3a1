"""The first solver pass from the scan (logitkit.dask.null_start): at the null model
(slopes 0) the value, gradient and Hessian come from per-class sums that the scan
computes, equal to those of a pass, and a fit makes no graph of its own there
(tests/conftest.py's ``dask_client``: a LocalCluster of 2 worker processes)."""

import numpy as np
import pytest

import logitkit as lk
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.fitting import null_parameters

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")
dask_objective = pytest.importorskip("logitkit.dask.objective")
arrays = pytest.importorskip("logitkit.dask.arrays")
null_start = pytest.importorskip("logitkit.dask.null_start")

N = 700
CHUNKS = ((250, 1, 0, 449), 4)
FAMILIES = {"binary": (Binomial(), 2), "multinomial": (Multinomial(), 3),
            "ordinal probit": (Ordinal("probit"), 4)}


def _data(kind: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4)) * [1.0, 10.0, 0.1, 1.0] + [0.0, 50.0, 0.0, -3.0]
    X[:, 3] = np.round(X[:, 3])  # (few distinct values: a near-singular class covariance)
    eta = X @ [0.8, -0.02, 3.0, 0.5] + rng.logistic(size=N)
    K = FAMILIES[kind][1]
    y = np.digitize(eta, np.quantile(eta, np.linspace(0, 1, K + 1)[1:-1]))
    w = rng.integers(0, 4, N).astype(float)  # (weights of 0 too)
    return X, y, w


@pytest.mark.parametrize("persist", [True, False])
@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_null_terms_equal_a_pass(dask_client, kind, persist):
    family, K = FAMILIES[kind]
    X, y, w = _data(kind)
    fit_intercept = kind != "ordinal probit"
    data = arrays.prepare(da.from_array(X, chunks=CHUNKS), y, w, persist=persist,
                          class_weight="balanced", null_steps=([1, 7], [1, 7]))
    ob = dask_objective.DaskObjective(family, data, K, fit_intercept)
    theta = null_parameters(ob)
    for objective in (ob, ob.subset(slice(0, None, 7))):
        for order in (0, 1, 2):
            known = null_start.null_terms(objective, theta, order)
            passed = dask_objective._compute(objective._loss_pass(theta, order))[0]
            assert known[0] == pytest.approx(passed[0], rel=1e-13)
            scale = np.abs(X).max() * objective.total_weight
            for a, b in zip(known[1:3], passed[1:3], strict=True):
                if b is None:
                    assert a is None
                else:
                    np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13 * scale)
            assert known[3] == pytest.approx(passed[3], rel=1e-13)
    # a point with a slope: a pass
    theta[0] = 0.1
    assert null_start.null_terms(ob, theta, 1) is None


def test_the_scan_moments_by_class(dask_client):
    X, y, w = _data("multinomial", 1)
    data = arrays.prepare(da.from_array(X, chunks=CHUNKS), y, w, persist=False,
                          null_steps=([1, 5], [5]))
    for step in (1, 5):
        W, S, G = data.moments[step]
        Xs, ys, ws = X[::step], y[::step], w[::step]
        for k in range(3):
            mine = ys == k
            assert W[k] == pytest.approx(ws[mine].sum(), rel=1e-14)
            np.testing.assert_allclose(S[k], ws[mine] @ Xs[mine], rtol=1e-12)
            if step == 5:
                np.testing.assert_allclose(G[k], (Xs[mine] * ws[mine, None]).T @ Xs[mine],
                                           rtol=1e-12)
        assert (G is None) == (step == 1)
    pseudo = null_start.pseudo_rows(*data.moments[5])
    for k in range(3):  # the pseudo-rows' per-class moments are the data's
        Xp, wp = pseudo[0][pseudo[1] == k], pseudo[2][pseudo[1] == k]
        W, S, G = (m[k] for m in data.moments[5])
        assert wp.sum() == pytest.approx(W, rel=1e-14)
        np.testing.assert_allclose(wp @ Xp, S, rtol=1e-10, atol=1e-10 * np.abs(S).max())
        np.testing.assert_allclose((Xp * wp[:, None]).T @ Xp, G, rtol=1e-10,
                                   atol=1e-12 * np.abs(G).max())


@pytest.fixture
def loss_points(monkeypatch):
    """The slopes (m, d) of every loss pass that the Dask objectives compute."""
    seen = []
    compute = dask_objective._compute

    def spy(*passes):
        seen.extend(p.objective.unpack(p.arguments[0])[0][:, : p.objective.d]
                    for p in passes if p.record is dask_objective._loss_record)
        return compute(*passes)

    monkeypatch.setattr(dask_objective, "_compute", spy)
    return seen


@pytest.mark.parametrize("persist", ["auto", False])
@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_a_fit_makes_no_pass_at_the_null_model(dask_client, loss_points, kind, persist):
    """Newton (binary: its Hessian from every 9th row; multinomial: from all rows;
    ordinal: the warm start's fit on every 8th row starts at the null model) and
    L-BFGS."""
    rng = np.random.default_rng(3)
    n, d = 170_000 if kind == "binary" else 24_000, 3
    X = rng.normal(size=(n, d))
    eta = X @ [0.8, -0.4, 0.3] + rng.logistic(size=n)
    y = (eta > 0).astype(int) if kind == "binary" else np.digitize(eta, [-1.0, 1.0])
    model = lk.OrdinalLogisticRegression if kind == "ordinal" else lk.LogisticRegression
    Xd = da.from_array(X, chunks=((20_000, 1, n - 20_001), d))
    for solver in ("newton", "lbfgs"):
        del loss_points[:]
        expected = model(solver=solver).fit(X, y)
        fitted = model(solver=solver).fit(Xd, y, persist=persist)
        np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
        assert fitted.n_iter_ == expected.n_iter_
        assert loss_points  # (the fit's passes were seen)
        assert all(np.any(slopes != 0) for slopes in loss_points)


def test_nan_in_a_row_of_weight_zero_is_found(dask_client):
    X, y, w = _data("binary")
    w[:] = 1.0
    w[400] = 0.0
    X[400, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity in partition 3 .*row 400 "):
        lk.LogisticRegression().fit(da.from_array(X, chunks=CHUNKS), y, sample_weight=w)
