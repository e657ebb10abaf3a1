"""Fits on dask arrays equal the NumPy fits of the same rows (issue 13), on a LocalCluster
with 2 worker processes (tests/conftest.py's ``dask_client``)."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from logitkit.inference import available_cov_types, covariance

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

N = 600
# row chunks: one partition; uneven; a partition of one row and an empty one
PARTITIONS = {"one": (N,), "uneven": (50, 301, 249), "tiny": (200, 1, 0, 399)}


def _data(kind: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3)) * [1.0, 4.0, 0.5] + [0.0, 2.0, -1.0]
    eta = X @ [0.8, -0.2, 1.0]
    if kind == "binary":
        y = (eta + rng.logistic(size=N) > 0).astype(int)
    elif kind == "multinomial":
        y = np.array(["a", "b", "c"])[np.digitize(eta + rng.logistic(size=N), [-1.0, 1.0])]
    else:
        y = np.digitize(eta + rng.logistic(size=N), [-2.0, 0.0, 1.5]) * 10
    w = rng.integers(1, 4, N).astype(float)
    clusters = rng.integers(0, 25, N)  # each cluster's rows lie in several partitions
    return X, y, w, clusters


def _dask(values, chunks):
    if values.ndim == 2:
        return da.from_array(values, chunks=(chunks, values.shape[1]))
    return da.from_array(values, chunks=(chunks,))


def _assert_same_fit(numpy_fit, dask_fit, X, Xd):
    """Coefficients, log-likelihoods, every covariance and the predictions to 1e-8."""
    assert dask_fit.n_iter_ == numpy_fit.n_iter_
    np.testing.assert_allclose(dask_fit.coef_, numpy_fit.coef_, rtol=1e-8, atol=1e-10)
    for name in ("intercept_", "thresholds_"):
        if hasattr(numpy_fit, name):
            np.testing.assert_allclose(getattr(dask_fit, name), getattr(numpy_fit, name),
                                       rtol=1e-8, atol=1e-10)
    for name in ("log_likelihood", "null_log_likelihood", "n_obs", "objective_value"):
        assert getattr(dask_fit.result_, name) == pytest.approx(
            getattr(numpy_fit.result_, name), rel=1e-10)
    if numpy_fit.inference_ is not None:
        types = available_cov_types(numpy_fit.inference_)
        assert available_cov_types(dask_fit.inference_) == types
        assert dask_fit.inference_.n_clusters == numpy_fit.inference_.n_clusters
        for cov_type in types:
            expected = covariance(numpy_fit.inference_, cov_type)[0]
            np.testing.assert_allclose(covariance(dask_fit.inference_, cov_type)[0],
                                       expected, rtol=1e-8,
                                       atol=1e-8 * np.abs(expected).max())
    proba = dask_fit.predict_proba(Xd)
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), numpy_fit.predict_proba(X), rtol=1e-8,
                               atol=1e-12)
    labels = dask_fit.predict(Xd)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), numpy_fit.predict(X))
    assert dask_fit.n_passes_ > dask_fit.n_iter_


MODELS = {
    "binary": ("binary", lambda: lk.LogisticRegression()),
    "binary-ridge-class-weight": ("binary", lambda: lk.LogisticRegression(
        alpha=0.01, class_weight={0: 2.0, 1: 0.5})),
    "multinomial-balanced": ("multinomial", lambda: lk.LogisticRegression(
        class_weight="balanced")),
    "multinomial-newton-cg": ("multinomial", lambda: lk.LogisticRegression(
        solver="newton-cg")),
    "multinomial-lbfgs-ridge": ("multinomial", lambda: lk.LogisticRegression(
        solver="lbfgs", alpha=0.001)),
    "ordinal-logit": ("ordinal", lambda: lk.OrdinalLogisticRegression()),
    "ordinal-probit": ("ordinal", lambda: lk.OrdinalLogisticRegression(link="probit")),
    "ordinal-cloglog": ("ordinal", lambda: lk.OrdinalLogisticRegression(link="cloglog")),
}


# every model on the partitioning with a 1-row and an empty partition (persisted); one
# partition (persisted) and uneven ones (streamed) for a model of each kind
CASES = [(model, "tiny") for model in MODELS] + [
    (model, partitions) for partitions in ("one", "uneven")
    for model in ("binary", "multinomial-balanced", "ordinal-cloglog")]


@pytest.mark.parametrize(("model", "partitions"), CASES)
def test_dask_fit_equals_the_numpy_fit(dask_client, model, partitions):
    kind, make = MODELS[model]
    X, y, w, clusters = _data(kind)
    chunks = PARTITIONS[partitions]
    expected = make().fit(X, y, sample_weight=w, clusters=clusters)
    # y, weights and clusters partitioned differently from X: aligned to X's partitions
    fitted = make().fit(_dask(X, chunks), _dask(y, (N // 2, N - N // 2)),
                        sample_weight=_dask(w, (N,)), clusters=_dask(clusters, (100,) * 6),
                        persist=partitions != "uneven")
    _assert_same_fit(expected, fitted, X, _dask(X, chunks))


def test_streamed_and_persisted_fits_are_equal_and_the_fit_is_an_in_memory_model(
        dask_client, tmp_path):
    X, y, w, clusters = _data("ordinal", seed=1)
    Xd = _dask(X, PARTITIONS["uneven"])
    streamed = lk.OrdinalLogisticRegression().fit(Xd, y, sample_weight=w, persist=False)
    persisted = lk.OrdinalLogisticRegression().fit(Xd, y, sample_weight=w, persist=True)
    np.testing.assert_array_equal(streamed.coef_, persisted.coef_)
    assert streamed.n_passes_ == persisted.n_passes_
    path = tmp_path / "model.lkm"
    persisted.save(path)
    np.testing.assert_array_equal(lk.load(path).predict_proba(X), persisted.predict_proba(X))
    assert "Ordinal logit" in str(persisted.summary(cov_type="HC1"))


def test_local_scheduler_without_a_client_gives_the_same_fit(dask_client):
    X, y, w, clusters = _data("multinomial", seed=2)
    Xd = _dask(X, PARTITIONS["tiny"])
    on_cluster = lk.LogisticRegression().fit(Xd, y, sample_weight=w, clusters=clusters)
    with dask.config.set(scheduler="threads"):
        local = lk.LogisticRegression().fit(Xd, y, sample_weight=w, clusters=clusters)
    np.testing.assert_array_equal(local.coef_, on_cluster.coef_)
    np.testing.assert_array_equal(local.inference_.cluster_meat,
                                  on_cluster.inference_.cluster_meat)


def test_the_client_computes_with_one_blas_thread_during_a_fit(dask_client, monkeypatch):
    """The client's samples and p x p algebra run with one BLAS thread while the
    distributed workers (here on the same cores) run the passes; the threads are
    restored after the fit."""
    from threadpoolctl import threadpool_info

    import logitkit.dask.estimator as dask_estimator

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before, seen, make = blas_threads(), [], dask_estimator.dask_objective

    def spy(*args):
        seen.extend(blas_threads())
        return make(*args)

    monkeypatch.setattr(dask_estimator, "dask_objective", spy)
    X, y, _, _ = _data("binary", seed=3)
    lk.LogisticRegression().fit(_dask(X, PARTITIONS["tiny"]), y)
    assert seen and set(seen) == {1}
    assert blas_threads() == before


def test_separated_classes_are_reported_as_possible(dask_client):
    X, _, _, _ = _data("binary")
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(lk.PerfectSeparationWarning, match="not run on Dask input"):
        model = lk.LogisticRegression().fit(_dask(X, PARTITIONS["tiny"]), y)
    assert model.separation_status_ == "possible (not checked on Dask input)"
    assert "possible (not checked on Dask input)" in str(model.summary())


def test_lazy_predictions_have_the_in_memory_shapes(dask_client):
    X, y, _, _ = _data("binary")
    model = lk.LogisticRegression().fit(X, y)
    Xd = _dask(X, PARTITIONS["tiny"])
    scores = model.decision_function(Xd)
    assert isinstance(scores, da.Array) and scores.shape == (N,)
    np.testing.assert_allclose(scores.compute(), model.decision_function(X), rtol=1e-12)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(model.predict_log_proba(Xd).compute(),
                                   model.predict_log_proba(X), rtol=1e-12)


def test_predictions_on_a_dask_dataframe_use_the_fitted_encoder(dask_client):
    dd = pytest.importorskip("dask.dataframe")
    X, y, _, _ = _data("multinomial")
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        kind=pd.Categorical(np.where(X[:, 0] > 0, "up", "down")))
    model = lk.LogisticRegression().fit(frame, y)
    lazy = model.predict_proba(dd.from_pandas(frame, npartitions=3))
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), model.predict_proba(frame), rtol=1e-12)
    labels = model.predict(dd.from_pandas(frame, npartitions=3)).compute()
    np.testing.assert_array_equal(labels, model.predict(frame))


def test_bad_input_is_refused_naming_the_partition_and_column(dask_client):
    X, y, w, _ = _data("binary")
    chunks = PARTITIONS["uneven"]
    bad = X.copy()
    bad[400, 2] = np.nan  # partition 2 starts at row 351
    with pytest.raises(ValueError, match=r"NaN or infinity in partition 2 .*row 400 "
                                         r"\(row 49 of the partition\), column 2"):
        lk.LogisticRegression().fit(_dask(bad, chunks), y)
    weights = w.copy()
    weights[60] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight has -1.* partition 1 .*row 60"):
        lk.LogisticRegression().fit(_dask(X, chunks), y, sample_weight=_dask(weights, chunks))
    labels = y.astype(float)
    labels[5] = np.nan
    with pytest.raises(ValueError, match=r"y contains missing values .* partition 0"):
        lk.LogisticRegression().fit(_dask(X, chunks), _dask(labels, chunks))
    unknown = _dask(X, chunks)[_dask(X, chunks)[:, 0] > -100]  # unknown chunk sizes
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        lk.LogisticRegression().fit(unknown, y)
    with pytest.raises(ValueError, match="y has 599 rows, X has 600"):
        lk.LogisticRegression().fit(_dask(X, chunks), _dask(y[:-1], (599,)))
    with pytest.raises(ValueError, match=r"minibatch solver.*\('sgd', 'adam'"):
        lk.LogisticRegression(solver="adam").fit(_dask(X, chunks), y)
    with pytest.raises(ValueError, match="persist must be"):
        lk.LogisticRegression().fit(_dask(X, chunks), y, persist="yes")


def _killed_worker_fit(client, kill: bool):
    """A binary fit of 48k x 8 rows made on the workers (16 partitions, persisted); with
    ``kill``, one worker process is killed after the solver's first pass (the second
    waits until it is dead, so that it and the later ones lose that worker's data)."""
    from logitkit.dask import objective

    rng = da.random.default_rng(5)
    X = rng.normal(size=(48_000, 8), chunks=(3_000, 8))
    y = (X @ np.linspace(-1, 1, 8) + rng.logistic(size=48_000, chunks=3_000) > 0)
    passes, killed = [], []
    original = objective.DaskObjective.loss_terms

    def loss_terms(self, theta, order, *rest):
        passes.append(order)
        if kill and len(passes) == 2:
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return original(self, theta, order, *rest)

    objective.DaskObjective.loss_terms = loss_terms
    try:
        model = lk.LogisticRegression().fit(X, y.astype(int), persist=True)
    finally:
        objective.DaskObjective.loss_terms = original
    assert len(passes) > 3  # passes after the kill
    return model, killed


@pytest.mark.parametrize("labels", [
    np.array([2, 0, 2, 1, 0]), np.array([-4, 3, 3, -4], dtype=np.int32),
    np.array([7], dtype=np.uint8), np.array([5, 2**40, 5]),  # (a range too wide to count)
    np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
    np.array([], dtype=np.int64), np.array(["b", "a", "b"])])
def test_a_partition_labels_and_codes_are_numpy_unique(labels):
    """The scan's labels of a partition (integer labels counted, not sorted) are
    ``np.unique``'s, and so are their codes."""
    from logitkit.dask.arrays import _unique

    found, codes = _unique(labels, "y", 0)
    expected, inverse = np.unique(labels, return_inverse=True)
    assert found.dtype == expected.dtype
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(codes, inverse)


def test_a_worker_killed_during_a_fit_does_not_change_it(dask_client):
    undisturbed, _ = _killed_worker_fit(dask_client, kill=False)
    disturbed, killed = _killed_worker_fit(dask_client, kill=True)
    assert len(killed) == 1
    np.testing.assert_allclose(disturbed.coef_, undisturbed.coef_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(disturbed.intercept_, undisturbed.intercept_, rtol=1e-10)
    # the nanny restarted the process: the shared cluster has its 2 workers again
    dask_client.wait_for_workers(2, timeout=60)
    assert killed[0] not in dask_client.run(os.getpid).values()


def test_row_samples_are_the_numpy_rows_and_follow_the_numpy_path(dask_client):
    """Every k-th row of the whole data (Hessian samples, the ordinal warm start, column
    scales), whatever the partitions: the same sums as NumPy's X[::k]; an ordinal fit
    large enough to start from a sample's fit, and aliased columns, as in memory."""
    from logitkit.dask.arrays import prepare
    from logitkit.dask.objective import DaskObjective
    from logitkit.families import Multinomial
    from logitkit.objective import Objective

    X, y, w, _ = _data("multinomial")
    codes = np.unique(y, return_inverse=True)[1]
    theta = np.linspace(-0.5, 0.5, 8)
    # streamed: a row sample is read with the whole data's partitions until its first
    # pass alone, which makes a persisted copy (other partitions: other dask keys)
    for persist, partitions in (("auto", "tiny"), (False, "uneven")):
        data = prepare(_dask(X, PARTITIONS[partitions]), _dask(y, (N,)), w, persist=persist)
        assert data.persisted == (persist == "auto")  # far below the workers' limits
        for step in (1, 7, 64):
            ob = Objective(Multinomial(), X, codes, w, 3, True).subset(slice(0, None, step))
            dob = DaskObjective(Multinomial(), data, 3, True).subset(slice(0, None, step))
            assert dob.step == step and dob.data is data
            assert dob.n == ob.n and dob.total_weight == pytest.approx(ob.total_weight)
            for a, b in zip(dob.loss_terms(theta, 2), ob.loss_terms(theta, 2), strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-12)
            assert dob.step == (1 if persist is False else step)
            assert dob.data.persisted == (persist == "auto" or step > 1)
            np.testing.assert_array_equal(dob.sample_rows(3)[0], ob.sample_rows(3)[0])
            sub, dsub = ob.subset(slice(0, None, 3)), dob.subset(slice(0, None, 3))
            np.testing.assert_allclose(dsub.loss_terms(theta, 1)[1], sub.loss_terms(theta, 1)[1],
                                       rtol=1e-12)
    rng = np.random.default_rng(4)
    Xo = rng.normal(size=(24_000, 5))
    yo = np.digitize(Xo @ [1.0, -0.5, 0.2, 0.0, 0.3] + rng.logistic(size=24_000), [-1, 0, 1])
    expected = lk.OrdinalLogisticRegression(link="probit").fit(Xo, yo)
    for persist in ("auto", False):  # (streamed: the warm start's sample in memory)
        fitted = lk.OrdinalLogisticRegression(link="probit").fit(
            _dask(Xo, (5_000, 7_001, 11_999)), yo, persist=persist)
        assert fitted.n_iter_ == expected.n_iter_
        np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-10)
    aliased = np.column_stack([X, X[:, 0] - 2 * X[:, 2]])
    binary = (X[:, 0] + np.random.default_rng(1).logistic(size=N) > 0).astype(int)
    with pytest.warns(lk.AliasedColumnsWarning, match=r"\['x3'\]"):
        in_memory = lk.LogisticRegression().fit(aliased, binary)
    with pytest.warns(lk.AliasedColumnsWarning, match=r"\['x3'\]"):
        on_dask = lk.LogisticRegression().fit(_dask(aliased, PARTITIONS["tiny"]), binary)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, rtol=1e-10, atol=1e-14)
