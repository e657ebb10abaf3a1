"""The same objective and solvers on PyTorch tensors.

CPU torch by default (CI); ``LOGITKIT_TEST_DEVICE=cuda pytest tests/test_torch_backend.py``
runs them on a GPU.
"""

import contextlib
import os

import numpy as np
import pytest

from logitkit import fitting, parametrization
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.fitting import fit_objective
from logitkit.objective import Objective
from logitkit.solvers.newton import NewtonSystem

torch = pytest.importorskip("torch")
DEVICE = os.environ.get("LOGITKIT_TEST_DEVICE", "cpu")

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
    torch_ob = Objective(make(), torch.as_tensor(X, dtype=dtype, device=DEVICE),
                         torch.as_tensor(y, device=DEVICE), torch.as_tensor(w, device=DEVICE),
                         n_classes, fit_intercept, alpha=0.01)
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
    bread = np.linalg.inv(numpy_ob.loss_terms(theta, 2)[2])
    for a, b in zip(numpy_ob.score_products(theta, groups, bread),
                    torch_ob.score_products(theta, groups, bread), strict=True):
        if a is None:  # hat-value products of multinomial and ordinal objectives
            assert b is None
            continue
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,make,n_classes,fit_intercept", CASES, ids=[c[0] for c in CASES])
def test_solvers_reach_the_numpy_optimum(name, make, n_classes, fit_intercept):
    numpy_ob, torch_ob = _pair(make, n_classes, fit_intercept)
    # Newton reaches the optimum to rounding; L-BFGS stalls near max |gradient| ~1e-8 (on
    # a GPU a little above: its sums run in another order), so it gets the default tol
    for solver, tol, tolerance in (("newton", 1e-10, 1e-8), ("lbfgs", 1e-8, 1e-6)):
        ours = fit_objective(torch_ob, solver, tol, 500)
        reference = fit_objective(numpy_ob, solver, tol, 500)
        assert ours.converged
        np.testing.assert_allclose(ours.params, reference.params, rtol=tolerance,
                                   atol=tolerance)
        assert ours.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-9)


@pytest.mark.parametrize("name,make,n_classes", [
    ("multinomial", Multinomial, 4), ("ordinal-probit", lambda: Ordinal("probit"), 5)])
def test_newton_algebra_on_the_device_follows_the_host(name, make, n_classes, monkeypatch):
    """Hessians (from a row sample, kept and secant-updated, for the multinomial) factorised
    where X lives: the same iterates as the host's NumPy algebra and the same Hessian at
    the optimum."""
    X, y, w = _data(n_classes, n=48_000)
    objectives = [Objective(make(), A, b, v, n_classes, name == "multinomial") for A, b, v in (
        (X, y, w), (torch.as_tensor(X, device=DEVICE), torch.as_tensor(y, device=DEVICE),
                    torch.as_tensor(w, device=DEVICE)))]
    monkeypatch.setattr(parametrization, "DEVICE_ALGEBRA_MIN_PARAMS", 0)  # (small p here)
    monkeypatch.setattr(fitting, "on_accelerator", lambda X: False)  # one start for both
    calls = []
    original = NewtonSystem.__init__

    def spy(system, hess):
        calls.append(type(hess).__module__.split(".")[0])
        original(system, hess)

    monkeypatch.setattr(NewtonSystem, "__init__", spy)
    reference, ours = (fit_objective(ob, "newton", 1e-9, 100) for ob in objectives)
    assert calls.count("torch") == calls.count("numpy") > 1
    assert ours.n_iter == reference.n_iter and ours.converged
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.hessian, reference.hessian, rtol=1e-9, atol=1e-12)


def test_a_singular_hessian_on_the_device_gives_the_host_minimum_norm_step():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 6))
    A[:, 5] = A[:, 0] - 2 * A[:, 3]  # rank 5
    hess, grad = A.T @ A, A.T @ rng.normal(size=40)
    host, here = NewtonSystem(hess), NewtonSystem(torch.as_tensor(hess, device=DEVICE))
    assert host.singular and here.singular
    np.testing.assert_allclose(here.solve(grad), host.solve(grad), rtol=1e-9, atol=1e-12)
    regular = hess + np.eye(6)
    np.testing.assert_allclose(NewtonSystem(torch.as_tensor(regular, device=DEVICE)).solve(grad),
                               -np.linalg.solve(regular, grad), rtol=1e-10)


def test_float32_tensors_are_computed_in_float32_and_agree():
    numpy_ob, torch_ob = _pair(Binomial, 2, True, dtype=torch.float32)
    assert torch_ob.X.dtype == torch.float32
    ours = fit_objective(torch_ob, "newton", 1e-6, 100)
    reference = fit_objective(numpy_ob, "newton", 1e-10, 100)
    assert ours.objective_value == pytest.approx(reference.objective_value, rel=1e-6)


def _binary_data(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 100.0, 0.01, 1.0]
    y = (X @ [1.0, -0.01, 50.0, 0.0] + rng.logistic(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_estimators_take_tensors_and_agree_with_numpy(kind):
    import logitkit as lk

    X, y = _binary_data()
    if kind != "binary":
        noise = np.random.default_rng(4).logistic(size=len(y))
        y = np.digitize(X @ [1.0, -0.01, 50.0, 0.0] + noise, [-1.0, 1.0])
    make = lk.OrdinalLogisticRegression if kind == "ordinal" else lk.LogisticRegression
    reference = make().fit(X, y)
    for model in (make().fit(torch.as_tensor(X, device=DEVICE),
                             torch.as_tensor(y, device=DEVICE)),
                  make(device=DEVICE).fit(X, y)):
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(model.predict_proba(torch.as_tensor(X, device=DEVICE)),
                                   reference.predict_proba(X), atol=1e-12)
        np.testing.assert_allclose(model.summary().to_frame()["std_err"],
                                   reference.summary().to_frame()["std_err"], rtol=1e-9)


def test_the_ordinal_warm_start_is_skipped_on_an_accelerator(monkeypatch):
    """The row-sample warm start runs for host arrays and CPU tensors, not on a GPU (where
    the small fit's launches cost more than the passes it saves); the optimum is the same."""
    import logitkit as lk
    from logitkit import backends

    starts = []  # the full fits' warm starts (the sample's own fit asks for one too)
    warm_start = fitting._warm_start

    def spy(objective, *args):
        start = warm_start(objective, *args)
        if objective.n == 24_000:
            starts.append(start)
        return start

    monkeypatch.setattr(fitting, "_warm_start", spy)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(24_000, 3))
    y = np.digitize(X @ [1.0, -0.5, 0.25] + rng.logistic(size=len(X)), [-1.0, 1.0])
    reference = lk.OrdinalLogisticRegression().fit(X, y)
    tensor = torch.as_tensor(X, device=DEVICE)
    model = lk.OrdinalLogisticRegression().fit(tensor, torch.as_tensor(y, device=DEVICE))
    assert starts[0] is not None
    assert backends.on_accelerator(tensor) == (DEVICE != "cpu")
    assert (starts[1] is None) == backends.on_accelerator(tensor)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.thresholds_, reference.thresholds_, rtol=1e-9)


def test_float32_tensor_fit_matches_float64_objective():
    import logitkit as lk

    X, y = _binary_data()
    reference = lk.LogisticRegression().fit(X, y)
    model = lk.LogisticRegression().fit(
        torch.as_tensor(X, dtype=torch.float32, device=DEVICE), y)
    assert model.converged_
    assert model.result_.objective_value == pytest.approx(reference.result_.objective_value,
                                                          rel=1e-6)


def test_minibatch_training_on_tensors_matches_numpy():
    import logitkit as lk

    X, y = _binary_data()
    params = {"solver": "adam", "epochs": 3, "batch_size": 64, "random_state": 0}
    reference = lk.LogisticRegression(**params).fit(X, y)
    model = lk.LogisticRegression(**params).fit(torch.as_tensor(X, device=DEVICE), y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=1e-12)


def test_every_entry_point_takes_tensors_on_the_device():
    """partial_fit, evaluate, score and validation data with X, y and weights as tensors on
    DEVICE give what the same NumPy calls give."""
    import logitkit as lk

    X, y = _binary_data()
    w = np.random.default_rng(5).uniform(0.5, 2.0, size=len(y))
    Xt, yt, wt = (torch.as_tensor(a, device=DEVICE) for a in (X, y, w))
    params = {"solver": "adam", "epochs": 2, "batch_size": 64, "random_state": 0}
    results = []
    for Xs, ys, ws in ((X, y, w), (Xt, yt, wt)):
        model = lk.LogisticRegression(**params).fit(Xs, ys, sample_weight=ws,
                                                    validation_data=(Xs, ys, ws))
        model.partial_fit(Xs, ys, sample_weight=ws)
        results.append((model.coef_, model.history_["val_loss"],
                        model.evaluate(Xs, ys, sample_weight=ws)["loss"],
                        model.score(Xs, ys, sample_weight=ws)))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-9)


def test_the_progress_bar_on_the_device_shows_what_the_host_shows(capsys):
    """verbose=1: the device loop reports per window of steps; each epoch's bar ends at the
    same step count, loss and accuracy as the host loop's."""
    import re

    import logitkit as lk

    X, y = _binary_data()
    params = {"solver": "adam", "epochs": 2, "batch_size": 32, "random_state": 0,
              "verbose": 1}
    ends = []
    for Xs in (X, torch.as_tensor(X, device=DEVICE)):
        lk.LogisticRegression(**params).fit(Xs, y)
        # a full bar may be drawn twice (by the last update and by close): keep one
        lines = re.findall(r"(\d+/47) \[[^\]]*?(loss=[\d.]+, accuracy=[\d.]+)\]",
                           capsys.readouterr().err)
        ends.append(list(dict.fromkeys(lines))[-2:])
    assert ends[0] == ends[1] and len(ends[0]) == 2 and ends[0][1][0] == "47/47"


def test_bad_tensors_are_clear_errors():
    import logitkit as lk

    X, y = _binary_data()
    bad = torch.tensor(X, device=DEVICE)  # a copy: as_tensor would share X's memory
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinity"):
        lk.LogisticRegression().fit(bad, y)
    bad[3, 1] = -float("inf")
    with pytest.raises(ValueError, match="NaN or infinity"):
        lk.LogisticRegression().fit(bad.float(), y)
    with pytest.raises(ValueError, match="2-D tensor"):
        lk.LogisticRegression().fit(torch.as_tensor(X[:, 0], device=DEVICE), y)
    model = lk.LogisticRegression().fit(torch.as_tensor(X, device=DEVICE), y)
    with pytest.raises(ValueError, match="expecting 4 features"):
        model.predict(torch.as_tensor(X[:, :3], device=DEVICE))


MINIBATCH_CONFIGS = [
    {"solver": "sgd", "momentum": 0.9, "nesterov": True, "schedule": "exponential"},
    {"solver": "adam", "schedule": "cosine", "alpha": 0.01},
    {"solver": "rmsprop", "momentum": 0.5},
    {"solver": "adagrad", "learning_rate": 0.05, "shuffle": False},
]


def _refuse_host_data(monkeypatch):
    """Make a device step fail, as a CUDA graph capture does, when host data (a Python
    scalar, list or NumPy array) is copied into a tensor inside it; on CPU torch too."""
    from logitkit.solvers.device_loop import DeviceLoop

    inside = []
    for name in ("asarray", "as_tensor", "tensor"):
        original = getattr(torch, name)

        def guarded(obj, *args, _original=original, _name=name, **kwargs):
            if inside and not isinstance(obj, torch.Tensor):
                raise AssertionError(f"torch.{_name}({type(obj).__name__}) in a device step")
            return _original(obj, *args, **kwargs)

        monkeypatch.setattr(torch, name, guarded)
    step = DeviceLoop._step

    def guarded_step(self, *args):
        inside.append(1)
        try:
            return step(self, *args)
        finally:
            inside.pop()

    monkeypatch.setattr(DeviceLoop, "_step", guarded_step)


@pytest.mark.parametrize("config", MINIBATCH_CONFIGS, ids=[c["solver"] for c in MINIBATCH_CONFIGS])
@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal", "probit", "cloglog"])
def test_the_device_loop_follows_the_host_trajectory(config, kind, monkeypatch):
    """Every optimizer and family: the device loop (CUDA graphs on a GPU) reproduces the
    host loop's weights and history; 203 rows in batches of 16 leave a short last batch.
    No step copies host data to the device (a CUDA graph capture would refuse it)."""
    import logitkit as lk
    from logitkit.solvers.device_loop import DeviceLoop

    captures = []
    capture = DeviceLoop._capture
    monkeypatch.setattr(DeviceLoop, "_capture", lambda self: captures.append(1) or capture(self))
    _refuse_host_data(monkeypatch)
    X, y = _binary_data(n=203)
    if kind != "binary":
        y = np.digitize(X @ [1.0, -0.01, 50.0, 0.0], [-1.0, 1.0])
    X = X / X.std(axis=0)
    params = {"epochs": 3, "batch_size": 16, "random_state": 0, **config}
    make = lk.LogisticRegression
    if kind not in ("binary", "multinomial"):
        make = lk.OrdinalLogisticRegression
        params["link"] = "logit" if kind == "ordinal" else kind
    reference = make(**params).fit(X, y)
    model = make(**params).fit(torch.as_tensor(X, device=DEVICE), torch.as_tensor(y, device=DEVICE))
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-12)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(model.history_[key], reference.history_[key], rtol=1e-9)
    assert len(captures) == (1 if DEVICE.startswith("cuda") else 0)


def test_a_failed_graph_capture_falls_back_to_eager_steps(monkeypatch):
    """If a step cannot be captured (on CUDA), training warns and goes on step by step,
    with the same results; simulated on CPU torch."""
    import logitkit as lk
    from logitkit.solvers.device_loop import DeviceLoop

    init = DeviceLoop.__init__

    def capturing(self, *args):
        init(self, *args)
        self.capture = True

    def capture(self):
        raise RuntimeError("Cannot copy between CPU and CUDA tensors during capture")

    monkeypatch.setattr(DeviceLoop, "__init__", capturing)
    monkeypatch.setattr(DeviceLoop, "_side_stream", lambda self: contextlib.nullcontext())
    monkeypatch.setattr(DeviceLoop, "_capture", capture)
    X, y = _binary_data(n=203)
    params = {"solver": "adam", "epochs": 2, "batch_size": 16, "random_state": 0}
    reference = lk.LogisticRegression(**params).fit(X, y)
    with pytest.warns(RuntimeWarning, match="could not be captured"):
        model = lk.LogisticRegression(**params).fit(torch.as_tensor(X), y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-12)
