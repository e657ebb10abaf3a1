"""logitkit on a PyTorch device against plain PyTorch, on the same tensors.

    python benchmarks/gpu.py                      # 10M x 100 float32 on cuda
    python benchmarks/gpu.py --device cpu --rows 200000   # a small check without a GPU

Cases (binary, alpha=1e-4, float32 X on the device):
- exact fit: logitkit Newton vs torch.optim.LBFGS with autograd (strong Wolfe line
  search), each reporting its objective's gap to a float64 logitkit fit;
- minibatch epochs: logitkit's Adam vs the usual autograd loop (BCE-with-logits, Adam),
  same batch size, time per epoch.
Every timing synchronises the device before reading the clock.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

import logitkit as lk


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(device, fit):
    synchronize(device)
    start = time.perf_counter()
    result = fit()
    synchronize(device)
    return time.perf_counter() - start, result


def objective(X, y, w, b, alpha):
    """Mean log-loss + alpha/2 ||w||^2 in float64, computed on the device."""
    z = X.double() @ w.double() + b.double()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y.double())
    return float(loss + 0.5 * alpha * (w.double() ** 2).sum())


def make_data(rows, cols, device):
    g = torch.Generator(device="cpu").manual_seed(0)
    X = torch.randn(rows, cols, generator=g)
    beta = torch.randn(cols, generator=g) / cols**0.5
    u = torch.rand(rows, generator=g).clamp(1e-7, 1 - 1e-7)
    y = (X @ beta + torch.log(u / (1 - u)) > 0).float()  # logistic noise
    return X.to(device), y.to(device)


def torch_lbfgs(X, y, alpha, max_iter=100):
    w = torch.zeros(X.shape[1], device=X.device, requires_grad=True)
    b = torch.zeros((), device=X.device, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-10, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, y)
        loss = loss + 0.5 * alpha * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def torch_adam_epoch(X, y, w, b, opt, batch_size, alpha):
    for start in range(0, X.shape[0], batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xb @ w + b, yb)
        (loss + 0.5 * alpha * (w * w).sum()).backward()
        opt.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile's top functions of logitkit's exact fit and epoch")
    args = parser.parse_args()
    alpha, device = 1e-4, args.device
    name = torch.cuda.get_device_name() if torch.device(device).type == "cuda" else "cpu"
    print(f"device: {name}; torch {torch.__version__}; X {args.rows} x {args.cols} float32")
    X, y = make_data(args.rows, args.cols, device)
    warnings.simplefilter("ignore")
    lk.LogisticRegression(alpha=alpha).fit(X[:1000], y[:1000])  # warm-up

    reference = lk.LogisticRegression(alpha=alpha, inference=False).fit(X.double(), y)
    best = objective(X, y, torch.as_tensor(reference.coef_[0], device=device),
                     torch.as_tensor(reference.intercept_[0], device=device), alpha)
    rows = []
    sec, m = timed(device, lambda: lk.LogisticRegression(alpha=alpha, inference=False)
                   .fit(X, y))
    rows.append(("logitkit newton (float32)", sec, objective(
        X, y, torch.as_tensor(m.coef_[0], device=device),
        torch.as_tensor(m.intercept_[0], device=device), alpha)))
    sec, (w, b) = timed(device, lambda: torch_lbfgs(X, y, alpha))
    rows.append(("torch.optim.LBFGS + autograd", sec, objective(X, y, w, b, alpha)))
    print(f"\nexact fit, binary, alpha={alpha:g}")
    print(f"{'solver':<32}{'seconds':>9}{'x ours':>8}{'objective':>22}{'gap to f64':>12}")
    for label, sec, obj in rows:
        print(f"{label:<32}{sec:>9.3f}{sec / rows[0][1]:>8.1f}{obj:>22.15f}"
              f"{(obj - best) / abs(best):>12.1e}")

    ours = lk.LogisticRegression(alpha=alpha, solver="adam", learning_rate=1e-3, epochs=1,
                                 batch_size=args.batch_size, shuffle=False, inference=False)
    sec_ours, _ = timed(device, lambda: ours.fit(X, y))
    w = torch.zeros(args.cols, device=device, requires_grad=True)
    b = torch.zeros((), device=device, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=1e-3, eps=1e-7)
    sec_torch, _ = timed(device, lambda: torch_adam_epoch(X, y, w, b, opt, args.batch_size,
                                                          alpha))
    print(f"\nminibatch Adam, one epoch, batch {args.batch_size}")
    print(f"logitkit {sec_ours:.3f} s, PyTorch autograd loop {sec_torch:.3f} s: "
          f"{sec_torch / sec_ours:.1f}x")
    if args.profile:
        profile(device, lambda: lk.LogisticRegression(alpha=alpha, inference=False).fit(X, y))
        profile(device, lambda: ours.fit(X, y))


def profile(device, fit):
    import cProfile
    import pstats

    with cProfile.Profile() as p:
        fit()
        synchronize(device)
    pstats.Stats(p).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
