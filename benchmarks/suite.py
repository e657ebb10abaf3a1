"""The benchmark suite: logitkit against its peers on every kind of problem of issue 12.

    python benchmarks/suite.py                      # every case, full sizes (15-20 min, 2 cores)
    python benchmarks/suite.py --scale 0.1          # a tenth of the rows, a quick run
    python benchmarks/suite.py --only wide --only k50 --repeat 5 --seed 3
    python benchmarks/suite.py --skip-slow          # without statsmodels
    python benchmarks/suite.py --all-peers          # also newton-cholesky and glum on the
                                                    # wide and K=50 cases (minutes each)

Cases (benchmarks/suite_cases.py): binary with i.i.d. weak-signal, Toeplitz-correlated
(rho 0.95), badly scaled columns, rare events (0.6% positives), strong signal (near
separation), tall-narrow (3M x 10), wide (20k x 2000), float32 X, a categorical DataFrame,
heavy-tailed columns, weekday dummies in row order, a float64 DataFrame; multinomial K = 3,
10, 50, K=5 from a float64 and from a categorical DataFrame; ordinal logit, probit,
cloglog. Peers: scikit-learn lbfgs and newton-cholesky (at tolerances that reach the
optimum, and with default settings), glum (binary; likewise), statsmodels OrderedModel
(ordinal). logitkit runs with its default settings.
Peers that form a p x p Hessian from all rows run above 500 parameters only with
--all-peers (that Hessian costs n p^2 an iteration: on a twentieth of the wide case's
rows, newton-cholesky took 8 s and glum 21 s).

Every solver runs with --threads BLAS/OpenMP threads (threadpoolctl; default 1), the
solvers of a case interleaved, best of --repeat runs (a run over --slow-seconds is not
repeated), then once more under tracemalloc for its peak of extra memory (not for runs
over --slow-seconds). Objectives are computed from each solver's coefficients with one
formula (benchmarks/common.py); a solver is at the optimum when its objective is within
1e-9 relative of the best one of the case.
"""

from __future__ import annotations

import platform
import warnings

import numpy as np
import pandas as pd
from common import (  # benchmarks/ is on sys.path when run as a script
    benchmark_parser,
    peak_memory,
    timed,
)
from suite_cases import CASES, HEAVY_PARAMS, build
from threadpoolctl import threadpool_limits

import logitkit as lk

AT_OPTIMUM = 1e-9  # relative objective gap
# issue 12's targets: peer time / logitkit time; "easy" when the fastest peer reads X
# fewer than EASY_PASSES times; statsmodels' OrderedModel for ordinal models
TARGET, TARGET_EASY, TARGET_STATSMODELS, EASY_PASSES = 3.0, 1.5, 100.0, 12


def run_case(case, repeat, slow_seconds, left_out):
    """{solver name: dict of seconds, peak, objective, passes} for the case's solvers but
    those whose ``skip`` is in ``left_out``."""
    solvers = [s for s in case.solvers if s.skip not in left_out]
    best = {s.name: np.inf for s in solvers}
    models, done = {}, set()
    for _ in range(repeat):  # interleaved: one run of every solver per round
        for s in solvers:
            if s.name in done:
                continue
            seconds, models[s.name] = timed(s.fit)
            best[s.name] = min(best[s.name], seconds)
            if seconds > slow_seconds:
                done.add(s.name)
    results = {}
    for s in solvers:
        model = models[s.name]
        results[s.name] = {
            "seconds": best[s.name],
            "objective": s.objective(model),
            "passes": s.passes(model) if s.passes else None,
            "solver": getattr(getattr(model, "result_", None), "solver", None),
            "peak": None if s.name in done else peak_memory(s.fit),
        }
    return results


def summarise(case, results):
    """One summary row: logitkit against the fastest peer at the optimum."""
    objective_best = min(r["objective"] for r in results.values())
    for r in results.values():
        r["gap"] = (r["objective"] - objective_best) / abs(objective_best)
    ours_name = case.solvers[0].name
    ours = results[ours_name]
    at_optimum = {name: r for name, r in results.items()
                  if name != ours_name and r["gap"] <= AT_OPTIMUM}
    peer = min(at_optimum, key=lambda name: at_optimum[name]["seconds"], default=None)
    peer_seconds = at_optimum[peer]["seconds"] if peer else np.nan
    peer_passes = at_optimum[peer]["passes"] if peer else None
    target = _target(peer, peer_passes)
    if peer is None:
        peer = "none at the optimum" if len(results) > 1 else "no peer run"
    return {"case": case.name, "ours": ours, "peer": peer, "peer_seconds": peer_seconds,
            "peer_passes": peer_passes, "ratio": peer_seconds / ours["seconds"],
            "target": target, "memory": _share(ours["peak"], case.data_bytes)}


def _target(peer, peer_passes):
    """The issue's ratio target against ``peer`` (NaN when it is not known)."""
    if peer is None:
        return np.nan
    if peer.startswith("statsmodels"):
        return TARGET_STATSMODELS
    if peer_passes is None:  # glum does not report its reads of X
        return TARGET
    return TARGET_EASY if peer_passes < EASY_PASSES else TARGET


def _share(peak, size):
    return np.nan if peak is None else 100 * peak / size


def print_case(case, results, row):
    print(f"\n[{case.name}] {case.title}   ({case.data_label}: {case.data_bytes / 2**20:.1f} MiB)")
    print(f"{'solver':<30}{'seconds':>9}{'t/ours':>8}{'passes':>8}{'objective':>20}"
          f"{'rel. gap':>10}{'peak MiB':>10}{'% data':>8}")
    ours = row["ours"]["seconds"]
    for name, r in results.items():
        label = f"{name} ({r['solver']})" if r["solver"] else name
        passes = f"{r['passes']:.1f}" if r["passes"] is not None else "-"
        peak = "-" if r["peak"] is None else f"{r['peak'] / 2**20:.1f}"
        share = _share(r["peak"], case.data_bytes)
        print(f"{label:<30}{r['seconds']:>9.3f}{r['seconds'] / ours:>8.2f}{passes:>8}"
              f"{r['objective']:>20.15f}{r['gap']:>10.1e}{peak:>10}{share:>8.1f}")
    flag = "" if row["ours"]["gap"] <= AT_OPTIMUM else "  (logitkit NOT at the optimum)"
    print(f"fastest peer at the optimum: {row['peer']} {row['peer_seconds']:.3f} s; "
          f"peer / logitkit = {row['ratio']:.2f}x{flag}")


def print_summary(rows):
    print("\nSummary: logitkit (default settings) against the fastest peer at the optimum")
    print(f"{'case':<16}{'logitkit s':>11}{'passes':>8}{'rel. gap':>10}  {'fastest peer':<28}"
          f"{'peer s':>9}{'passes':>7}{'ratio':>8}{'target':>8}{'memory %':>10}")
    for row in rows:
        ours = row["ours"]
        peer_passes = "-" if row["peer_passes"] is None else f"{row['peer_passes']:.0f}"
        met = "" if row["ratio"] >= row["target"] else " (not met)"
        print(f"{row['case']:<16}{ours['seconds']:>11.3f}{ours['passes']:>8.1f}"
              f"{ours['gap']:>10.1e}  {row['peer']:<28}{row['peer_seconds']:>9.3f}"
              f"{peer_passes:>7}{row['ratio']:>7.2f}x{row['target']:>7.1f}x"
              f"{row['memory']:>10.1f}{met}")
    timed_rows = [r for r in rows if np.isfinite(r["ratio"])]
    if timed_rows:
        worst = min(timed_rows, key=lambda r: r["ratio"])
        print(f"WORST CASE (speed): {worst['case']}, {worst['ratio']:.2f}x {worst['peer']}")
    memory_rows = [r for r in rows if np.isfinite(r["memory"])]
    if memory_rows:
        worst = max(memory_rows, key=lambda r: r["memory"])
        print(f"WORST CASE (memory): {worst['case']}, {worst['memory']:.1f}% of its data")
    missed = [r["case"] for r in rows if r["ours"]["gap"] > AT_OPTIMUM]
    print(f"logitkit short of the optimum (gap > {AT_OPTIMUM:g}): {', '.join(missed) or 'none'}")


def warm_up():
    """One small fit of each kind, so that imports and first calls are not timed."""
    import sklearn.linear_model  # noqa: F401  (peers imported before threads are limited)

    try:
        import glum  # noqa: F401
        import statsmodels.miscmodels.ordinal_model  # noqa: F401
    except ImportError:
        pass
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    three = np.digitize(X[:, 0], [-0.5, 0.5])
    # (many classes and columns: truncated Newton over the compiled BLAS products; a
    # cold numba cache once put a 16 s compile into the k50 case's only timed run)
    wide = rng.normal(size=(2_000, 60))
    many = np.argmax(wide[:, :20] + rng.gumbel(size=(2_000, 20)), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lk.LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
        lk.LogisticRegression().fit(X, three)
        lk.LogisticRegression().fit(pd.DataFrame(X), three)  # (X in column order)
        lk.LogisticRegression().fit(wide, many)
        lk.OrdinalLogisticRegression().fit(X, three)


def main():
    parser = benchmark_parser(__doc__, repeat=True, threads=True)
    parser.add_argument("--only", choices=CASES, action="append", help="a case (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every case's data")
    parser.add_argument("--skip-slow", action="store_true",
                        help="leave out statsmodels (ordinal cases)")
    parser.add_argument("--all-peers", action="store_true",
                        help=f"also run the peers that form a p x p Hessian from all rows "
                             f"(scikit-learn newton-cholesky, glum) above {HEAVY_PARAMS} "
                             "parameters (minutes each at full scale)")
    parser.add_argument("--slow-seconds", type=float, default=10.0,
                        help="a run longer than this is neither repeated nor traced")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; numpy "
          f"{np.__version__}; logitkit {lk.__version__}; {args.threads} thread(s); seed "
          f"{args.seed}; scale {args.scale:g}; best of {args.repeat}")
    warm_up()
    rows = []
    with threadpool_limits(limits=args.threads):
        for name in args.only or CASES:
            case = build(name, args.scale, np.random.default_rng([args.seed, CASES.index(name)]))
            left_out = ({"slow"} if args.skip_slow else set()) | (
                set() if args.all_peers else {"heavy"})
            results = run_case(case, args.repeat, args.slow_seconds, left_out)
            row = summarise(case, results)
            print_case(case, results, row)
            skipped = [s.name for s in case.solvers if s.skip in left_out]
            if skipped:
                print(f"left out: {', '.join(skipped)} (--skip-slow, or more than "
                      f"{HEAVY_PARAMS} parameters without --all-peers)")
            rows.append(row)
            del case, results
    print_summary(rows)


if __name__ == "__main__":
    main()
