"""Many parameters (many classes, wide X): logitkit's solvers against scikit-learn and glum.

    python benchmarks/many_params.py               # full sizes (several minutes, 1 thread)
    python benchmarks/many_params.py --scale 0.2   # a fifth of the rows
    python benchmarks/many_params.py --only k50

Every solver runs with one BLAS thread (threadpoolctl), interleaved with the others,
best of ``--repeats`` runs. Peers run at tolerances tight enough to reach the optimum
(objective within about 1e-9 relative of the best). For logitkit the table also gives
the passes over X of one fit (value/gradient passes, Hessian-vector passes, sampled
preconditioner blocks as the fraction of rows they read) and its iterations.
"""

from __future__ import annotations

import platform
import time
import warnings

import numpy as np
from common import (  # benchmarks/ is on sys.path when run as a script
    benchmark_parser,
    softmax_objective,
)
from suite_cases import iid_binary, multinomial_data
from threadpoolctl import threadpool_limits

import logitkit as lk
from logitkit import curvature as curvature_module
from logitkit import objective as objective_module


class PassCounter:
    """Counts logitkit's passes over X by wrapping the objective's pass methods."""

    def __init__(self):
        self.counts = {}
        Objective, Rows = objective_module.Objective, curvature_module.RowCurvature
        self.targets = [(Objective, "loss_terms", None), (Objective, "curvature", None),
                        (Rows, "times", None), (Rows, "class_diagonals", "step"),
                        (Rows, "class_blocks", "step")]

    def __enter__(self):
        self.saved = []
        for owner, name, step in self.targets:
            original = getattr(owner, name)
            self.saved.append((owner, name, original))

            def wrapper(this, *args, _original=original, _name=name, _step=step, **kwargs):
                rows = getattr(this, "n", None) or this.objective.n
                share = 1.0
                if _step is not None:
                    step = args[0] if args else kwargs.get("step", 1)
                    share = -(-rows // step) / rows
                elif _name == "loss_terms":
                    share = this.n / self.full_rows
                self.counts[_name] = self.counts.get(_name, 0.0) + share
                return _original(this, *args, **kwargs)

            setattr(owner, name, wrapper)
        return self

    def __exit__(self, *exc):
        for owner, name, original in self.saved:
            setattr(owner, name, original)


def best_of(fit, repeats, slow=20.0):
    """(best seconds, result of the last run); stops repeating after a run over ``slow``."""
    best, result = np.inf, None
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            result = fit()
            best = min(best, time.perf_counter() - start)
        if best > slow:
            break
    return best, result


def logitkit_fit(X, y, alpha, solver):
    return lambda: lk.LogisticRegression(alpha=alpha, solver=solver, inference=False).fit(X, y)


def peers(X, y, alpha, newton_cholesky: bool, glum: bool):
    from sklearn.linear_model import LogisticRegression as SkLR

    C = 1 / (alpha * len(y))
    out = {"scikit-learn lbfgs": lambda: SkLR(C=C, solver="lbfgs", tol=1e-12,
                                              max_iter=10_000).fit(X, y)}
    if newton_cholesky:
        out["scikit-learn newton-cholesky"] = lambda: SkLR(
            C=C, solver="newton-cholesky", tol=1e-10, max_iter=1000).fit(X, y)
    if glum:
        from glum import GeneralizedLinearRegressor

        out["glum"] = lambda: GeneralizedLinearRegressor(
            family="binomial", alpha=alpha, l1_ratio=0.0, gradient_tol=1e-10,
            max_iter=1000).fit(X, y)
    return out


def run_case(title, X, y, alpha, ours, others, repeats):
    fits = {f"logitkit ({s})": logitkit_fit(X, y, alpha, s) for s in ours}
    fits.update(others)
    times = {name: np.inf for name in fits}
    results = {}
    skip = set()
    for _ in range(repeats):  # interleaved: one run of each solver per round
        for name, fit in fits.items():
            if name in skip:
                continue
            seconds, results[name] = best_of(fit, 1)
            times[name] = min(times[name], seconds)
            if seconds > 20:
                skip.add(name)
    objectives = {name: softmax_objective(X, y, m.coef_, m.intercept_, alpha)
                  for name, m in results.items()}
    best = min(objectives.values())
    fastest_peer = min(times[name] for name in others)
    print(f"\n{title}   (X: {X.nbytes / 2**20:.0f} MiB)")
    print(f"{'solver':<31}{'seconds':>8}{'peer/us':>8}{'objective':>20}{'rel. gap':>10}"
          f"{'iter':>6}  passes")
    for name in fits:
        model, passes = results[name], ""
        if name.startswith("logitkit"):
            counter = PassCounter()
            counter.full_rows = X.shape[0]
            with counter, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = fits[name]()
            c = counter.counts
            passes = (f"{c.get('loss_terms', 0) + c.get('curvature', 0):.1f} value/gradient"
                      f" + {c.get('times', 0):.0f} Hv + "
                      f"{c.get('class_diagonals', 0) + c.get('class_blocks', 0):.1f} blocks")
        n_iter = int(np.max(np.atleast_1d(model.n_iter_)))
        ratio = fastest_peer / times[name]
        print(f"{name:<31}{times[name]:>8.2f}{ratio:>8.2f}{objectives[name]:>20.15f}"
              f"{(objectives[name] - best) / abs(best):>10.1e}{n_iter:>6}  {passes}")


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("k50", "k10", "wide"), action="append")
    parser.add_argument("--no-newton-cholesky", action="store_true",
                        help="skip scikit-learn's newton-cholesky (minutes at these sizes)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; one BLAS thread")
    rng = np.random.default_rng(0)
    cases = args.only or ["k50", "k10", "wide"]
    ours = ("auto", "newton-cg", "lbfgs")
    nc = not args.no_newton_cholesky
    with threadpool_limits(limits=1):
        lk.LogisticRegression(solver="newton-cg").fit(*multinomial_data(500, 3, 3, 1, rng))
        if "k50" in cases:
            n, alpha = int(50_000 * args.scale), 1e-4
            X, y = multinomial_data(n, 20, 50, 2.0, rng)
            run_case(f"multinomial K=50, {n} x 20, alpha={alpha:g}", X, y, alpha, ours,
                     peers(X, y, alpha, False, False), args.repeats)
        if "k10" in cases:
            n, alpha = int(100_000 * args.scale), 1e-4
            X, y = multinomial_data(n, 50, 10, 4.0, rng)
            run_case(f"multinomial K=10, {n} x 50, strong signal, alpha={alpha:g}", X, y,
                     alpha, ("newton",) + ours, peers(X, y, alpha, nc, False), args.repeats)
        if "wide" in cases:
            n, alpha = int(20_000 * args.scale), 1e-3
            X, y = iid_binary(n, 2000, 1.0, rng)
            run_case(f"binary {n} x 2000, alpha={alpha:g}", X, y, alpha, ours,
                     peers(X, y, alpha, nc, True), args.repeats)


if __name__ == "__main__":
    main()
