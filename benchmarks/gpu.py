"""logitkit on a PyTorch device against plain PyTorch, on the same tensors.

    python benchmarks/gpu.py                      # 10M x 100 float32 on cuda
    python benchmarks/gpu.py --device cpu --rows 200000   # a small check without a GPU

Cases (alpha=1e-4 on the slopes, float32 X on the device):
- exact fits, binary, multinomial (K=10) and ordinal (K=4, logit): logitkit's estimator
  (Newton) against torch.optim.LBFGS with autograd (strong Wolfe line search), each with
  its objective's relative gap to a float64 logitkit fit (objectives in float64);
- minibatch Adam (binary; --minibatch-kinds adds multinomial and ordinal): logitkit's
  whole fit against the usual autograd loop (the same losses, torch.optim.Adam with
  Keras's epsilon), same batches, same epochs.
Times are medians of --repeat runs after a warm-up on the same tensors (L-BFGS: 5
iterations); each synchronises the device before reading the clock.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import logitkit as lk

KINDS = {"binary": 2, "multinomial": 10, "ordinal": 4}


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(device, fit, repeat=1):
    """(median seconds, last result) of ``repeat`` synchronised runs."""
    seconds = []
    for _ in range(repeat):
        synchronize(device)
        start = time.perf_counter()
        result = fit()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def make_data(kind, rows, cols, device):
    g = torch.Generator(device="cpu").manual_seed(0)
    X = torch.randn(rows, cols, generator=g)
    if kind == "multinomial":
        B = torch.randn(cols, KINDS[kind], generator=g) / cols**0.5
        u = torch.rand(rows, KINDS[kind], generator=g).clamp(1e-12, 1 - 1e-12)
        y = torch.argmax(X @ B - torch.log(-torch.log(u)), dim=1)  # Gumbel noise
    else:
        beta = torch.randn(cols, generator=g) / cols**0.5
        u = torch.rand(rows, generator=g).clamp(1e-7, 1 - 1e-7)
        latent = X @ beta + torch.log(u / (1 - u))  # logistic noise
        if kind == "binary":
            y = (latent > 0).float()
        else:
            y = torch.bucketize(latent, torch.tensor([-1.0, 0.0, 1.0]))
    return X.to(device), y.to(device)


def objective(kind, X64, y, slopes, offsets, alpha):
    """Mean log-loss + alpha/2 ||slopes||^2 in float64. binary: slopes (d,), offsets the
    intercept; multinomial: (K, d) and (K,); ordinal: (d,) and the cut points (K-1,)."""
    if kind == "binary":
        loss = F.binary_cross_entropy_with_logits(X64 @ slopes + offsets, y.double())
    elif kind == "multinomial":
        loss = F.cross_entropy(X64 @ slopes.T + offsets, y)
    else:
        eta = X64 @ slopes
        inf = torch.full((1,), torch.inf, dtype=torch.float64, device=X64.device)
        cuts = torch.cat([-inf, offsets, inf])
        upper, lower = cuts[y + 1] - eta, cuts[y] - eta
        loss = -torch.log(torch.sigmoid(upper) - torch.sigmoid(lower)).mean()
    return float(loss + 0.5 * alpha * (slopes * slopes).sum())


def logitkit_params(kind, model, device):
    if kind == "binary":
        slopes, offsets = model.coef_[0], model.intercept_[0]
    elif kind == "multinomial":
        slopes, offsets = model.coef_, model.intercept_
    else:
        slopes, offsets = model.coef_, model.thresholds_
    return (torch.as_tensor(np.asarray(slopes), dtype=torch.float64, device=device),
            torch.as_tensor(np.asarray(offsets), dtype=torch.float64, device=device))


def torch_model(kind, d, y):
    """Float32 parameters with gradients, started where logitkit starts: zero slopes (m, d)
    and intercepts; ordinal cut points those of the null model, as the first and then log
    increments."""
    K = KINDS[kind]
    m = 1 if kind != "multinomial" else K
    slopes = torch.zeros((m, d), device=y.device, requires_grad=True)
    if kind != "ordinal":
        return slopes, torch.zeros(m, device=y.device, requires_grad=True)
    cuts = torch.logit(torch.cumsum(torch.bincount(y, minlength=K), 0)[:-1] / len(y))
    raw = torch.cat([cuts[:1], torch.log(torch.diff(cuts))]).float()
    return slopes, raw.requires_grad_()


def increasing_cuts(offsets):
    """The first cut point, then exp increments (logitkit's training coordinates)."""
    return torch.cumsum(torch.cat([offsets[:1], torch.exp(offsets[1:])]), 0)


def torch_loss(kind, X, y, slopes, offsets, alpha):
    """The penalised mean log-loss as a plain PyTorch user writes it (autograd)."""
    if kind == "binary":
        loss = F.binary_cross_entropy_with_logits(X @ slopes[0] + offsets[0], y)
    elif kind == "multinomial":
        loss = F.cross_entropy(X @ slopes.T + offsets, y)
    else:
        eta = X @ slopes[0]
        inf = torch.full((1,), torch.inf, device=X.device)
        full = torch.cat([-inf, increasing_cuts(offsets), inf])
        p = torch.sigmoid(full[y + 1] - eta) - torch.sigmoid(full[y] - eta)
        loss = -torch.log(p.clamp_min(1e-30)).mean()
    return loss + 0.5 * alpha * (slopes * slopes).sum()


def fitted(kind, slopes, offsets):
    """(slopes, offsets) as logitkit reports them, in float64: a multinomial's centred over
    the classes (the softmax is unchanged, the ridge penalty smallest)."""
    slopes, offsets = slopes.detach().double(), offsets.detach().double()
    if kind == "binary":
        return slopes[0], offsets[0]
    if kind == "ordinal":
        return slopes[0], increasing_cuts(offsets)
    return slopes - slopes.mean(dim=0), offsets - offsets.mean()


def torch_lbfgs(kind, X, y, alpha, max_iter=100):
    """The model fitted by torch.optim.LBFGS on autograd gradients (float32, like X)."""
    slopes, offsets = torch_model(kind, X.shape[1], y)
    opt = torch.optim.LBFGS([slopes, offsets], max_iter=max_iter,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                            tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = torch_loss(kind, X, y, slopes, offsets, alpha)
        loss.backward()
        return loss

    opt.step(closure)
    return fitted(kind, slopes, offsets)


def estimator(kind, alpha, **params):
    if kind == "ordinal":
        return lk.OrdinalLogisticRegression(alpha=alpha, inference=False, **params)
    return lk.LogisticRegression(alpha=alpha, inference=False, **params)


def exact_fits(kind, args, alpha):
    device = args.device
    X, y = make_data(kind, args.rows, args.cols, device)
    warnings.simplefilter("ignore")
    X64 = X.double()
    reference = estimator(kind, alpha).fit(X64, y)
    best = objective(kind, X64, y, *logitkit_params(kind, reference, device), alpha)
    estimator(kind, alpha).fit(X, y)  # warm-up on the same tensors (a first fit at this
    # size took 0.26 s where the next ones took 0.14 s, K=10 on an H200)
    sec, model = timed(device, lambda: estimator(kind, alpha).fit(X, y), args.repeat)
    rows = [("logitkit newton (float32)", sec,
             objective(kind, X64, y, *logitkit_params(kind, model, device), alpha))]
    torch_lbfgs(kind, X, y, alpha, max_iter=5)  # warm-up
    sec, params = timed(device, lambda: torch_lbfgs(kind, X, y, alpha), args.repeat)
    rows.append(("torch.optim.LBFGS + autograd", sec, objective(kind, X64, y, *params, alpha)))
    print(f"\nexact fit, {kind} (K={KINDS[kind]}), alpha={alpha:g}, float64 reference "
          f"objective {best:.15f}")
    print(f"{'solver':<32}{'seconds':>9}{'x ours':>8}{'objective':>22}{'gap to f64':>12}")
    for label, sec, obj in rows:
        print(f"{label:<32}{sec:>9.3f}{sec / rows[0][1]:>8.1f}{obj:>22.15f}"
              f"{(obj - best) / abs(best):>12.1e}")
    if args.profile:
        profile(device, lambda: estimator(kind, alpha).fit(X, y))


def torch_adam_epoch(kind, X, y, slopes, offsets, opt, batch_size, alpha):
    for start in range(0, X.shape[0], batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        opt.zero_grad()
        torch_loss(kind, xb, yb, slopes, offsets, alpha).backward()
        opt.step()


def minibatch(kind, args, alpha):
    device, epochs, batch = args.device, args.epochs, args.batch_size
    X, y = make_data(kind, args.rows, args.cols, device)

    def ours(rows, epochs):
        return estimator(kind, alpha, solver="adam", learning_rate=1e-3, epochs=epochs,
                         batch_size=batch, shuffle=False).fit(X[:rows], y[:rows])

    def plain(rows):
        slopes, offsets = torch_model(kind, args.cols, y[:rows])
        opt = torch.optim.Adam([slopes, offsets], lr=1e-3, eps=1e-7)  # Keras's epsilon
        for _ in range(epochs):
            torch_adam_epoch(kind, X[:rows], y[:rows], slopes, offsets, opt, batch, alpha)
        return fitted(kind, slopes, offsets)

    ours(20 * batch, 1)  # warm-ups
    plain(20 * batch)
    sec_one, _ = timed(device, lambda: ours(args.rows, 1), args.repeat)
    sec_ours, model = timed(device, lambda: ours(args.rows, epochs + 1), args.repeat)
    sec_torch, params = timed(device, lambda: plain(args.rows), args.repeat)
    epoch_ours, epoch_torch = (sec_ours - sec_one) / epochs, sec_torch / epochs
    print(f"\nminibatch Adam, {kind} (K={KINDS[kind]}), batch {batch} "
          f"({-(-args.rows // batch)} steps per epoch)")
    print(f"per epoch: logitkit {epoch_ours:.3f} s (from fits of 1 and {epochs + 1} epochs), "
          f"PyTorch autograd loop {epoch_torch:.3f} s: {epoch_torch / epoch_ours:.1f}x")
    print(f"whole fit of 1 epoch (setup, the epoch, the final checks): logitkit {sec_one:.3f} s "
          f"vs {epoch_torch:.3f} s: {epoch_torch / sec_one:.1f}x")
    # after the same first `epochs` epochs the models agree (float32 vs float64 steps)
    same = logitkit_params(kind, ours(args.rows, epochs), device)
    gap = max(float(torch.max(torch.abs(a - b))) for a, b in zip(same, params, strict=True))
    print(f"max |coefficient difference| after {epochs} epochs: {gap:.1e}")
    if args.profile:
        profile(device, lambda: ours(args.rows, epochs))


def profile(device, fit):
    import cProfile
    import pstats

    with cProfile.Profile() as p:
        fit()
        synchronize(device)
    pstats.Stats(p).sort_stats("tottime").print_stats(20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--kinds", nargs="+", default=[*KINDS, "minibatch"],
                        choices=[*KINDS, "minibatch"], help="exact fits and/or minibatch")
    parser.add_argument("--minibatch-kinds", nargs="+", default=["binary"], choices=KINDS,
                        help="the kinds trained by minibatch Adam")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile's top functions of logitkit's fits")
    args = parser.parse_args()
    alpha = 1e-4
    on_cuda = torch.device(args.device).type == "cuda"
    if on_cuda and not torch.cuda.is_available():
        parser.error("no CUDA device here; `--device cpu --rows 200000` runs a small check")
    name = torch.cuda.get_device_name() if on_cuda else "cpu"
    print(f"device: {name}; torch {torch.__version__}; X {args.rows} x {args.cols} float32")
    for kind in args.kinds:
        for case in args.minibatch_kinds if kind == "minibatch" else [kind]:
            (minibatch if kind == "minibatch" else exact_fits)(case, args, alpha)
            if on_cuda:
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
