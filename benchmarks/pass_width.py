"""One value or gradient pass of a binary logit objective, by the width and dtype of X:
the NumPy pass (two BLAS products) and the compiled row pass
(``compiled_pass.row_terms``: each chunk of rows read once) taking its rows four at a
time (``four``) or one at a time (``one``), whatever the width would choose, interleaved
in one process with one BLAS thread, best of ``--repeat``. Prints ms per pass and NumPy
/ compiled; X is ``--megabytes`` in size (rows = size / width)."""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from logitkit.families import Binomial
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop, compiled_pass


def paths(ob, theta, order):
    """name -> function running one pass of ``order`` at ``theta``."""
    d, X = ob.d, ob.X
    beta = theta[:d].copy()

    def numpy_pass():
        compiled_loop.ENABLED = False
        try:
            return ob.loss_terms(theta, order)
        finally:
            compiled_loop.ENABLED = True

    def rows(by_four):
        def run():
            shape = compiled_pass.FOUR_ROWS_FROM
            compiled_pass.FOUR_ROWS_FROM = d if by_four else d + 1
            try:
                return compiled_pass.row_terms(X, ob.y, ob.w, beta, theta[d], order,
                                               np.zeros(d + 1))
            finally:
                compiled_pass.FOUR_ROWS_FROM = shape
        return run

    return {"numpy": numpy_pass, "four": rows(True), "one": rows(False)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--widths", default="10,20,50,64,100,200,500,1000,2000")
    parser.add_argument("--megabytes", type=float, default=160)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--order", type=int, default=1, choices=[0, 1])
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    print(f"order {args.order}, {dtype}, X {args.megabytes:g} MB; ms per pass, best of "
          f"{args.repeat}; numpy / compiled")
    for d in map(int, args.widths.split(",")):
        n = int(args.megabytes * 2**20 / (d * dtype.itemsize))
        X = rng.normal(size=(n, d)).astype(dtype)
        y = (rng.random(n) < 0.3).astype(float)
        ob = Objective(Binomial(), X, y, np.broadcast_to(1.0, (n,)), 2, True, alpha=1e-4)
        theta = rng.normal(size=d + 1) / np.sqrt(d)
        runs = paths(ob, theta, args.order)
        for run in runs.values():
            run()  # compile, warm
        best = dict.fromkeys(runs, np.inf)
        with threadpool_limits(1):
            for _ in range(args.repeat):
                for name, run in runs.items():
                    start = time.perf_counter()
                    run()
                    best[name] = min(best[name], time.perf_counter() - start)
        cells = "  ".join(f"{name} {1e3 * t:7.1f}" for name, t in best.items())
        ratios = "  ".join(f"numpy/{name} {best['numpy'] / best[name]:.2f}"
                           for name in best if name != "numpy")
        print(f"{n:>9} x {d:<5} {cells}   {ratios}", flush=True)
        del X, ob


if __name__ == "__main__":
    main()
