"""device=: one clear error when PyTorch is missing, the name is unknown or the device absent."""

import builtins

import numpy as np
import pytest

import logitkit as lk
from logitkit.backends.devices import available_devices

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(0)
X = _rng.normal(size=(60, 2))
y = (X[:, 0] + _rng.logistic(size=60) > 0).astype(int)


def test_cuda_without_cuda_names_the_devices_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda' is not available here .*; the devices "
                                         r"available are \['cpu'.*\]"):
        lk.LogisticRegression(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match=r"device='cuda:0' is not available here"):
        lk.OrdinalLogisticRegression(device="cuda:0").fit(torch.as_tensor(X), y)


def test_a_cpu_only_build_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(ValueError, match=r"is a CPU-only build: install a CUDA build"):
        lk.LogisticRegression(device="cuda").fit(X, y)


def test_a_gpu_index_beyond_the_gpus_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    with pytest.raises(ValueError, match=r"'cuda:3' is not available here \(this machine has 1 "
                                         r"CUDA GPU\(s\)\); the devices available are \['cpu', "
                                         r"'cuda', 'cuda:0'"):
        lk.LogisticRegression(device="cuda:3").fit(X, y)


@pytest.mark.parametrize("name", ["gpu", "cuda0", "", "cpu:x"])
def test_an_unknown_device_name(name):
    with pytest.raises(ValueError, match=rf"device={name!r} is not a device name; the devices "
                                         r"available here are \['cpu'"):
        lk.LogisticRegression(device=name).fit(X, y)


def test_without_torch_the_error_names_the_extra(monkeypatch):
    reference = lk.LogisticRegression().fit(X, y).coef_
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match=r"device='cpu' needs PyTorch, which is not installed: "
                                          r'pip install "logitkit\[torch\]"'):
        lk.LogisticRegression(device="cpu").fit(X, y)
    assert available_devices() == ["cpu"]
    # device=None never needs torch
    np.testing.assert_array_equal(lk.LogisticRegression().fit(X, y).coef_, reference)


def test_a_fitted_model_checks_the_device_at_predict(monkeypatch):
    model = lk.LogisticRegression(device="cpu").fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X),
                               lk.LogisticRegression().fit(X, y).predict_proba(X), atol=1e-10)
    model.set_params(device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' is not available here"):
        model.predict(X)
