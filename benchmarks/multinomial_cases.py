"""Multinomial fits, K = 3 to 50: logitkit against scikit-learn at the same optimum.

    python benchmarks/multinomial_cases.py                # all cases (a few minutes)
    python benchmarks/multinomial_cases.py --scale 0.2    # a fifth of the rows
    python benchmarks/multinomial_cases.py --only k3 --only k50

One BLAS thread for everyone (threadpoolctl). Each peer first runs once at each of a
ladder of tolerances, loosest first, until its objective is within 1e-9 relative of the
best seen (logitkit's included); that tolerance is kept (peers that never get there
keep their tightest; a run over 60 s ends the ladder). Then every
fit runs interleaved (ours, peer, ours, peer, ...), best of ``--repeats``. For logitkit
the table gives passes over X (``n_passes_``), Hessian-vector products, the objective's
relative gap to the best, and tracemalloc's peak during the fit (a separate run) as a
fraction of X's size.
"""

from __future__ import annotations

import platform
import time
import tracemalloc
import warnings

import numpy as np
from common import benchmark_parser  # benchmarks/ is on sys.path when run as a script
from run import multinomial_data as scaled_multinomial  # benchmarks/ is on sys.path
from run import softmax_objective
from threadpoolctl import threadpool_limits

import logitkit as lk


def gaussian_multinomial(n, d, k, signal, rng):
    """i.i.d. normal columns, classes from a Gumbel-max model of strength ``signal``."""
    X = rng.normal(size=(n, d))
    B = rng.normal(size=(d, k)) * signal / np.sqrt(d)
    return X, np.argmax(X @ B + rng.gumbel(size=(n, k)), axis=1)


# name: (title, rows, data(n, rng), alpha, scikit-learn's newton-cholesky too); its
# p x p Hessian from all rows takes minutes on K=10 and K=50 with one thread, where
# lbfgs is the faster peer
CASES = {
    "k10": ("K=10, {n} x 50, strong signal", 100_000,
            lambda n, rng: gaussian_multinomial(n, 50, 10, 4.0, rng), 1e-4, False),
    "k3": ("K=3, {n} x 50, weak signal", 500_000,
           lambda n, rng: gaussian_multinomial(n, 50, 3, 0.3, rng), 1e-4, True),
    "k50": ("K=50, {n} x 20", 50_000,
            lambda n, rng: gaussian_multinomial(n, 20, 50, 2.0, rng), 1e-4, False),
    "run": ("K=10, {n} x 50, columns scaled 1e-2..1e2 (benchmarks/run.py)", 200_000,
            lambda n, rng: scaled_multinomial(n, 50, 10, rng), 1e-4, True),
}
PEER_TOLERANCES = {"lbfgs": (1e-6, 1e-8, 1e-10, 1e-12), "newton-cholesky": (1e-6, 1e-8, 1e-10)}


def quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def timed(fit):
    start = time.perf_counter()
    result = quiet(fit)
    return time.perf_counter() - start, result


def peak_bytes(fit):
    tracemalloc.start()
    quiet(fit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def peer(solver, tol, C):
    from sklearn.linear_model import LogisticRegression as SkLR

    return lambda X, y: SkLR(C=C, solver=solver, tol=tol, max_iter=1_000).fit(X, y)


def run_case(key, scale, repeats, solvers, with_newton_cholesky, rng):
    title, rows, make, alpha, newton_cholesky = CASES[key]
    n = int(rows * scale)
    X, y = make(n, rng)
    objective = lambda m: softmax_objective(X, y, m.coef_, m.intercept_, alpha)  # noqa: E731
    C = 1.0 / (alpha * n)
    ours = {f"logitkit {s}": (lambda X, y, s=s: lk.LogisticRegression(
        alpha=alpha, solver=s, inference=False).fit(X, y)) for s in solvers}
    # the peers' tolerance ladders, one run each
    ladders = {}
    best = min(objective(quiet(lambda f=f: f(X, y))) for f in ours.values())
    for solver, tolerances in PEER_TOLERANCES.items():
        if solver == "newton-cholesky" and not (newton_cholesky and with_newton_cholesky):
            continue
        ladders[solver] = []
        for tol in tolerances:  # from the loosest, until one reaches the best so far
            fit = peer(solver, tol, C)
            seconds, model = timed(lambda fit=fit: fit(X, y))
            value = objective(model)
            ladders[solver].append((tol, value))
            if value - best <= 1e-9 * abs(best) or seconds > 60:
                break
            best = min(best, value)
    peers = {}
    for solver, ladder in ladders.items():
        good = [tol for tol, value in ladder if value - best <= 1e-9 * abs(best)]
        tol = max(good) if good else ladder[-1][0]
        peers[f"scikit-learn {solver} tol={tol:g}"] = peer(solver, tol, C)
    fits = {**ours, **peers}
    times, models = {name: np.inf for name in fits}, {}
    for _ in range(repeats):  # interleaved
        for name, fit in fits.items():
            seconds, models[name] = timed(lambda fit=fit: fit(X, y))
            times[name] = min(times[name], seconds)
    values = {name: objective(m) for name, m in models.items()}
    best = min(best, *values.values())
    fastest = min(times[name] for name in peers)
    print(f"\n{title.format(n=n)}, alpha={alpha:g}   (X: {X.nbytes / 2**20:.0f} MiB)")
    print(f"{'solver':<36}{'seconds':>8}{'peer/us':>8}{'rel. gap':>10}{'iter':>6}"
          f"{'passes':>8}{'Hv':>5}{'peak/X':>8}")
    for name, fit in fits.items():
        model = models[name]
        iters = int(np.max(np.atleast_1d(model.n_iter_)))
        passes = hv = ""
        if name in ours:
            passes = f"{model.n_passes_:.1f}"
            hv = str(model.result_.report.history[-1].get("hessian_products", ""))
        peak = peak_bytes(lambda fit=fit: fit(X, y)) / X.nbytes
        gap = (values[name] - best) / abs(best)
        print(f"{name:<36}{times[name]:>8.2f}{fastest / times[name]:>8.2f}{gap:>10.1e}"
              f"{iters:>6}{passes:>8}{hv:>5}{peak:>8.2f}")


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=sorted(CASES), action="append")
    parser.add_argument("--solver", action="append",
                        help="logitkit solvers (default: auto and newton-cg)")
    parser.add_argument("--no-newton-cholesky", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; one BLAS thread")
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1):
        quiet(lambda: lk.LogisticRegression(solver="newton-cg").fit(
            *gaussian_multinomial(500, 3, 3, 1.0, rng)))
        for key in args.only or list(CASES):
            run_case(key, args.scale, args.repeats, args.solver or ["auto", "newton-cg"],
                     not args.no_newton_cholesky, rng)


if __name__ == "__main__":
    main()
