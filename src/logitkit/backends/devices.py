"""The torch device named by an estimator's ``device`` parameter, checked with one clear
error: PyTorch missing (ImportError), a name torch does not know or a device this machine
lacks (ValueError), each naming the devices available and what to install."""

from __future__ import annotations

__all__ = ["available_devices", "torch_device"]

TORCH_EXTRA = 'pip install "logitkit[torch]"'


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def available_devices() -> list[str]:
    """The device names usable here: "cpu", then "cuda" and "cuda:0".. per GPU, "mps"
    (Apple); only "cpu" (NumPy) without PyTorch."""
    torch = _torch()
    if torch is None:
        return ["cpu"]
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def torch_device(name):
    """``torch.device(name)`` once PyTorch is importable and the device exists here.

    name: "cpu", "cuda", "cuda:1", "mps", ... or a ``torch.device``.
    """
    torch = _torch()
    if torch is None:
        raise ImportError(f"device={name!r} needs PyTorch, which is not installed: "
                          f"{TORCH_EXTRA} (or leave device=None to fit with NumPy)")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device={name!r} is not a device name; the devices available here "
                         f"are {available_devices()}") from None
    if not _present(torch, device):
        raise ValueError(f"device={name!r} is not available here{_why(torch, device)}; the "
                         f"devices available are {available_devices()}")
    return device


def _present(torch, device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index is None
                                              or device.index < torch.cuda.device_count())
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return mps is not None and mps.is_available()
    try:  # other backends (xpu, ...): present when a tensor can be made there
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError, ValueError):
        return False
    return True


def _why(torch, device) -> str:
    if device.type != "cuda":
        return ""
    if torch.version.cuda is None:
        return (f" (PyTorch {torch.__version__} is a CPU-only build: install a CUDA build, "
                "https://pytorch.org/get-started/locally/)")
    if not torch.cuda.is_available():
        return " (PyTorch finds no CUDA GPU)"
    return f" (this machine has {torch.cuda.device_count()} CUDA GPU(s))"
