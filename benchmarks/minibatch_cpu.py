"""Minibatch epochs on the CPU: logitkit's host loop against a plain PyTorch CPU loop.

    python benchmarks/minibatch_cpu.py                       # 1M x 100, batch 32, Adam
    python benchmarks/minibatch_cpu.py --rows 200000 --kinds binary --engines numpy

Each kind (binary; multinomial K=10; ordinal K=4, logit link) trains one epoch of Adam
(learning rate 1e-3, Keras's epsilon, alpha=1e-4 on the slopes) over the same float32 X
(gpu.py's generators), without shuffling, so both loops take the same batches:
- logitkit: one epoch of :class:`~logitkit.solvers.stochastic.Trainer` (the estimators'
  minibatch loop, its history of loss and accuracy included), with the compiled inner loop
  ("numba") and with the NumPy fallback ("numpy");
- PyTorch: the usual autograd loop (zero_grad, loss, backward, torch.optim.Adam.step).
One BLAS/torch thread for both. The runs take turns (logitkit engines, torch, ...);
each time is the best of --repeat, in wall-clock seconds or, with --clock cpu, in the
process's CPU seconds (steadier on a shared machine; both loops use one thread). The
first compiled epoch is also timed by itself in a fresh process (--first-call): what a
user's first fit pays, numba's import and its on-disk cache's load included.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from gpu import KINDS, make_data, torch_loss, torch_model  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit.families import Binomial, Multinomial, Ordinal  # noqa: E402
from logitkit.objective import Objective  # noqa: E402
from logitkit.solvers import compiled_loop, stochastic  # noqa: E402

FAMILIES = {"binary": Binomial, "multinomial": Multinomial, "ordinal": Ordinal}


def trainer_for(kind, X, y, alpha, batch, engine):
    """A fresh (problem, trainer) at zero slopes, as an estimator builds them."""
    K = KINDS[kind]
    ob = Objective(FAMILIES[kind](), X, y.astype(np.float64), np.ones(len(y)), K, True, alpha)
    problem = stochastic.TrainingProblem(ob)
    config = stochastic.TrainingConfig.from_params(
        "adam", dict(learning_rate=1e-3, batch_size=batch, shuffle=False, epochs=1))
    trainer = stochastic.Trainer(problem, config, np.random.default_rng(0),
                                 config.steps_per_epoch(len(y)))
    trainer.engine = engine
    return problem, trainer


CLOCK = time.perf_counter


def logitkit_epoch(kind, X, y, alpha, batch, engine):
    problem, trainer = trainer_for(kind, X, y, alpha, batch, engine)
    start = CLOCK()
    trainer.run(problem, 1)
    return CLOCK() - start, trainer


def torch_epoch(kind, Xt, yt, alpha, batch):
    slopes, offsets = torch_model(kind, Xt.shape[1], yt)
    opt = torch.optim.Adam([slopes, offsets], lr=1e-3, eps=1e-7)
    start = CLOCK()
    for s in range(0, Xt.shape[0], batch):
        xb, yb = Xt[s:s + batch], yt[s:s + batch]
        opt.zero_grad()
        torch_loss(kind, xb, yb, slopes, offsets, alpha).backward()
        opt.step()
    return CLOCK() - start


def first_call(kind, rows, cols, batch):
    """Seconds of the first compiled epoch in a fresh process (compile or cache load
    included), and of a second one."""
    code = (
        "import time, numpy as np, sys; sys.path.insert(0, 'benchmarks');"
        "from minibatch_cpu import trainer_for, make_data;"
        f"X, y = make_data({kind!r}, {rows}, {cols}, 'cpu'); X, y = X.numpy(), y.numpy();"
        "t = []\n"
        "for _ in range(2):\n"
        f"    p, tr = trainer_for({kind!r}, X, y, 1e-4, {batch}, 'numba')\n"
        "    s = time.perf_counter(); tr.run(p, 1); t.append(time.perf_counter() - s)\n"
        "print(t[0], t[1])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return [float(v) for v in out.stdout.split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--engines", nargs="+", default=["numba", "numpy"],
                        choices=["numba", "numpy"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--first-call", action="store_true",
                        help="also time the first compiled epoch in a fresh process")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    alpha, batch = 1e-4, args.batch_size
    steps = math.ceil(args.rows / batch)
    engines = [e for e in args.engines if e == "numpy" or compiled_loop.available()]
    print(f"{args.rows} x {args.cols} float32, batch {batch} ({steps} steps), Adam; "
          f"logitkit {lk.__version__}, torch {torch.__version__}, Python "
          f"{platform.python_version()}, best of {args.repeat}, one thread, {args.clock} clock")
    with threadpool_limits(1):
        for kind in args.kinds:
            Xt, yt = make_data(kind, args.rows, args.cols, "cpu")
            X, y = Xt.numpy(), yt.numpy()
            for engine in engines:  # warm-up (compiles the numba loop)
                logitkit_epoch(kind, X[:20 * batch], y[:20 * batch], alpha, batch, engine)
            torch_epoch(kind, Xt[:20 * batch], yt[:20 * batch], alpha, batch)
            best = {e: math.inf for e in [*engines, "torch"]}
            trained = {}
            for _ in range(args.repeat):
                for engine in engines:
                    sec, trained[engine] = logitkit_epoch(kind, X, y, alpha, batch, engine)
                    best[engine] = min(best[engine], sec)
                best["torch"] = min(best["torch"], torch_epoch(kind, Xt, yt, alpha, batch))
            print(f"\n{kind} (K={KINDS[kind]}): torch {best['torch']:.3f} s "
                  f"({1e6 * best['torch'] / steps:.1f} us/step)")
            for engine in engines:
                print(f"  logitkit {engine:5s} {best[engine]:.3f} s "
                      f"({1e6 * best[engine] / steps:.2f} us/step): "
                      f"{best['torch'] / best[engine]:.1f}x torch")
            if len(trained) == 2:
                gap = np.max(np.abs(trained["numba"].u - trained["numpy"].u))
                print(f"  max |u numba - u numpy| after the epoch: {gap:.1e}")
            if args.first_call and "numba" in engines:
                first, second = first_call(kind, args.rows, args.cols, batch)
                print(f"  fresh process: first compiled epoch {first:.3f} s, "
                      f"second {second:.3f} s")


if __name__ == "__main__":
    main()
