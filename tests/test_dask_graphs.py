"""A Dask fit makes few graphs (each costs a round trip to the scheduler): a row sample's
Hessian pass joins the gradient pass at the same point, and the scan finds the class
totals and row samples that the ordinal warm start takes (tests/conftest.py's
``dask_client``: a LocalCluster of 2 worker processes)."""

import numpy as np
import pytest

import logitkit as lk
from logitkit.backends import weighted_counts
from logitkit.families import Multinomial
from logitkit.objective import Objective

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")
dask_objective = pytest.importorskip("logitkit.dask.objective")
arrays = pytest.importorskip("logitkit.dask.arrays")
placement = pytest.importorskip("logitkit.dask.placement")

N = 600


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3))
    y = np.digitize(X @ [0.8, -0.2, 1.0] + rng.logistic(size=N), [-1.0, 1.0])
    return X, y, rng.integers(1, 4, N).astype(float)


@pytest.fixture
def computes(monkeypatch):
    """The record functions of each graph the Dask objectives compute, in order."""
    seen = []
    compute = dask_objective._compute

    def spy(*passes):
        seen.append({p.record.__name__ for p in passes})
        return compute(*passes)

    monkeypatch.setattr(dask_objective, "_compute", spy)
    return seen


@pytest.mark.parametrize("persist", ["auto", False])
def test_a_sample_hessian_comes_from_the_graph_of_the_gradient(dask_client, computes,
                                                               persist):
    X, y, w = _data()
    data = arrays.prepare(da.from_array(X, chunks=((200, 1, 0, 399), 3)), y, w,
                          persist=persist)
    ob = dask_objective.DaskObjective(Multinomial(), data, 3, True, alpha=0.1)
    sample = ob.subset(slice(0, None, 7))
    theta = np.linspace(-0.5, 0.5, ob.n_params)
    value, grad, later = ob.evaluate_with(theta, sample)
    sample_value, sample_grad, hess = later()
    assert sample.total_weight == pytest.approx(w[::7].sum(), rel=1e-14)
    separate = ob.evaluate(theta, 1)
    assert value == separate[0]
    np.testing.assert_array_equal(grad, separate[1])
    for a, b in zip((sample_value, sample_grad, hess), sample.evaluate(theta, 2), strict=True):
        np.testing.assert_array_equal(a, b)
    memory = Objective(Multinomial(), X, y, w, 3, True, alpha=0.1)
    mine = memory.subset(slice(0, None, 7))
    np.testing.assert_allclose(hess, mine.evaluate(theta, 2)[2], rtol=1e-12)
    # one graph, which brought the sample's class totals too
    assert computes[0] == {"_loss_record", "_class_sums_record"}
    del computes[:]
    value, grad, later = ob.evaluate_with(theta, ob)  # with itself: one order-2 pass
    np.testing.assert_allclose(later()[2], memory.evaluate(theta, 2)[2], rtol=1e-12)
    np.testing.assert_allclose(grad, memory.evaluate(theta, 1)[1], rtol=1e-12)
    assert computes == [{"_loss_record"}]


def test_in_memory_the_sample_pass_runs_when_asked_for():
    X, y, w = _data()
    ob = Objective(Multinomial(), X, y, w, 3, True)
    sample = ob.subset(slice(0, None, 5))
    theta = np.linspace(-0.5, 0.5, ob.n_params)
    value, grad, later = ob.evaluate_with(theta, sample)
    assert ob.reads.rows == N
    np.testing.assert_array_equal(later()[2], sample.evaluate(theta, 2)[2])
    assert ob.reads.rows == N + 2 * 120  # (later, then the check)
    assert value == ob.evaluate(theta, 1)[0]


def test_the_scan_finds_the_class_totals_of_row_samples(dask_client):
    X, y, w = _data(1)
    data = arrays.prepare(da.from_array(X, chunks=((50, 301, 249), 3)), y, w,
                          class_weight="balanced", persist=False, total_steps=[8, 64])
    per_class = N / (3 * np.bincount(y))
    for k in (8, 64):
        np.testing.assert_allclose(data.step_totals[k],
                                   weighted_counts(y[::k], (w * per_class[y])[::k], 3),
                                   rtol=1e-13)
    copy = arrays.sampled(data, 8)  # a streamed sample's copy knows its totals
    np.testing.assert_array_equal(copy.class_totals, data.step_totals[8])
    assert copy.step_totals == {8: data.step_totals[64]}


def test_an_ordinal_warm_start_takes_no_graph_for_totals_or_row_samples(dask_client,
                                                                         computes):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24_000, 5))
    y = np.digitize(X @ [1.0, -0.5, 0.2, 0.0, 0.3] + rng.logistic(size=24_000), [-1, 0, 1])
    expected = lk.OrdinalLogisticRegression(alpha=0.01).fit(X, y)
    fitted = lk.OrdinalLogisticRegression(alpha=0.01).fit(
        da.from_array(X, chunks=((5_000, 7_001, 11_999), 5)), y)
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
    assert fitted.n_iter_ == expected.n_iter_
    assert {"_loss_record"} in computes  # (the fit's passes were seen)
    assert not [c for c in computes if c & {"_class_sums_record", "_sample_record"}
                and "_loss_record" not in c]


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_a_streamed_fit_copies_a_row_sample_only_to_fit_it_alone(dask_client, monkeypatch,
                                                                 kind):
    """Newton's Hessian sample (every 9th row here) is read with the gradient passes, not
    copied into memory; the ordinal warm start's sample, fitted alone, is copied once, by
    the scan (no read of its own); the binary one (these data are far from the null
    model: fitting._far_from_null) is the chain's innermost sample, which the scan brings
    back to the client, as it does the probe's rows."""
    copies = []
    sampled = dask_objective.sampled

    def spy(data, step):
        copies.append((step, step in data.copies))
        return sampled(data, step)

    monkeypatch.setattr(dask_objective, "sampled", spy)
    rng = np.random.default_rng(5)
    n = 170_000
    X = rng.normal(size=(n, 3))
    eta = X @ [0.8, -0.4, 0.3] + rng.logistic(size=n)
    y = (eta > 0).astype(int) if kind == "binary" else np.digitize(eta, [-1.0, 1.0])
    model = lk.OrdinalLogisticRegression if kind == "ordinal" else lk.LogisticRegression
    expected = model().fit(X, y)
    fitted = model().fit(da.from_array(X, chunks=((40_000, 60_001, 69_999), 3)), y,
                         persist=False)
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
    assert fitted.n_iter_ == expected.n_iter_
    assert copies == ([(8, True)] if kind == "ordinal" else [])


def test_persisted_passes_take_one_task_per_worker(dask_client, monkeypatch):
    """Persisted partitions are computed in one task per worker that holds them,
    submitted with the blocks' futures; the sums are those of the same tasks computed as
    a graph and of one task per partition, bit for bit (added in partition order)."""
    X, y, w = _data(2)
    data = arrays.prepare(da.from_array(X, chunks=((100, 150, 1, 0, 349), 3)), y, w,
                          persist=True)
    ob = dask_objective.DaskObjective(Multinomial(), data, 3, True)
    batches = placement.worker_batches(data, ob._partitions, dask_objective.CLIENT_RECORDS)
    assert sorted(i for batch in batches for i in batch) == list(range(4))
    assert len(batches) <= 2 and set(data.placement.values()) <= set(
        dask_client.scheduler_info()["workers"])
    theta = np.linspace(-0.5, 0.5, ob.n_params)
    submitted, submit = [], placement.submit_batches
    monkeypatch.setattr(placement, "submit_batches",
                        lambda *args: submitted.append(submit(*args)) or submitted[-1])
    batched = ob.evaluate(theta, 2)
    assert len(submitted) == 1 and len(submitted[0]) == len(batches)
    monkeypatch.setattr(placement, "submit_batches", lambda *args: None)
    graphed = ob.evaluate(theta, 2)
    monkeypatch.setattr(placement, "worker_batches", lambda *args: None)
    for a, b, c in zip(batched, graphed, ob.evaluate(theta, 2), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("persist", ["auto", False])
def test_the_innermost_warm_start_is_fitted_on_the_client(dask_client, monkeypatch,
                                                          persist):
    """The ordinal warm start's innermost sample (every 8th row here) comes back with the
    scan and is fitted in memory: every graph of the fit is over all rows."""
    steps = []
    compute = dask_objective._compute

    def spy(*passes):
        steps.extend(p.objective.step for p in passes if p.reads_x)
        return compute(*passes)

    monkeypatch.setattr(dask_objective, "_compute", spy)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(24_000, 4))
    y = np.digitize(X @ [1.0, -0.5, 0.2, 0.3] + rng.logistic(size=24_000), [-1, 0, 1])
    expected = lk.OrdinalLogisticRegression(link="cloglog").fit(X, y)
    fitted = lk.OrdinalLogisticRegression(link="cloglog").fit(
        da.from_array(X, chunks=((5_000, 7_001, 11_999), 4)), y, persist=persist)
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
    np.testing.assert_allclose(fitted.thresholds_, expected.thresholds_, rtol=1e-10)
    assert fitted.n_iter_ == expected.n_iter_
    assert steps and set(steps) == {1}
