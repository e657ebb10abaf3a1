"""Side-by-side timings of logitkit and its peers on the same data and objective.

    python benchmarks/run.py                 # full sizes (several minutes on 2 cores)
    python benchmarks/run.py --scale 0.1     # a quick run at a tenth of the rows
    python benchmarks/run.py --only binary   # one case
    python benchmarks/run.py --gpu           # the GPU cases against plain PyTorch (gpu.py)

Each case fits the same objective with every solver (peers with their default settings,
as a user would run them), reports how far each objective is from the best one, and
prints a table of wall time, time ratio to logitkit, objective value (weighted mean
log-loss + penalty) and tracemalloc's peak of extra memory during the fit. Peers are
installed from benchmarks/requirements.txt. Timings are one run each: read the ratios.
"""

from __future__ import annotations

import platform
import warnings

import numpy as np
from common import (  # benchmarks/ is on sys.path when run as a script
    benchmark_parser,
    measure,
    ordinal_objective,
    softmax_objective,
    statsmodels_ordinal,
    unscaled_binary,
)

import logitkit as lk


def multinomial_data(n, d, k, rng):
    Z = rng.normal(size=(n, d)) * np.logspace(-2, 2, d)
    B = rng.normal(size=(d, k)) / np.sqrt(d) / np.logspace(-2, 2, d)[:, None]
    return Z, np.argmax(Z @ B + rng.gumbel(size=(n, k)), axis=1)


def ordinal_data(n, d, k, rng):
    Z = rng.normal(size=(n, d))
    latent = Z @ (rng.normal(size=d) / np.sqrt(d)) + rng.logistic(size=n)
    cuts = np.quantile(latent, np.linspace(0, 1, k + 1)[1:-1])
    return Z, np.digitize(latent, cuts)


def ours(fit, objective, penalised=True):
    """Rows for logitkit: the fit alone (what the peers do), then, for unpenalised fits,
    with the matrices for standard errors (the default, what summary() needs)."""
    rows = []
    variants = [("logitkit (newton)", False)]
    if not penalised:
        variants.append(("logitkit + inference", True))
    for label, inference in variants:
        sec, peak, m = measure(lambda inference=inference: fit(inference=inference))
        rows.append((f"{label}, {m.n_passes_:.1f} passes", sec, objective(m), peak))
    return rows


def run_binary(scale, rng, with_statsmodels):
    n, d, alpha = int(1_000_000 * scale), 100, 1e-4
    X, y = unscaled_binary(n, d, rng)
    rows = []

    rows += ours(lambda **kw: lk.LogisticRegression(alpha=alpha, **kw).fit(X, y),
                 lambda m: softmax_objective(X, y, m.coef_, m.intercept_, alpha))
    X32 = X.astype(np.float32)
    sec, peak, m = measure(lambda: lk.LogisticRegression(alpha=alpha, inference=False)
                           .fit(X32, y))
    rows.append((f"logitkit, float32 X, {m.n_passes_:.1f} passes", sec,
                 softmax_objective(X, y, m.coef_, m.intercept_, alpha), peak, X32.nbytes))
    from sklearn.linear_model import LogisticRegression as SkLR

    for solver in ("lbfgs", "newton-cholesky"):
        sec, peak, sk = measure(lambda s=solver: SkLR(C=1 / (alpha * n), solver=s).fit(X, y))
        rows.append((f"scikit-learn {solver}", sec,
                     softmax_objective(X, y, sk.coef_, sk.intercept_, alpha), peak))
    try:
        from glum import GeneralizedLinearRegressor

        sec, peak, g = measure(lambda: GeneralizedLinearRegressor(
            family="binomial", alpha=alpha, l1_ratio=0.0).fit(X, y))
        rows.append(("glum", sec, softmax_objective(X, y, g.coef_, g.intercept_, alpha), peak))
    except ImportError:
        pass
    return f"binary {n} x {d}, unscaled columns (1e-3..1e4), alpha={alpha:g}", X, rows


def run_multinomial(scale, rng, with_statsmodels):
    n, d, k, alpha = int(200_000 * scale), 50, 10, 1e-4
    X, y = multinomial_data(n, d, k, rng)
    rows = []
    rows += ours(lambda **kw: lk.LogisticRegression(alpha=alpha, **kw).fit(X, y),
                 lambda m: softmax_objective(X, y, m.coef_, m.intercept_, alpha))
    from sklearn.linear_model import LogisticRegression as SkLR

    for solver in ("lbfgs", "newton-cholesky"):
        sec, peak, sk = measure(lambda s=solver: SkLR(C=1 / (alpha * n), solver=s).fit(X, y))
        rows.append((f"scikit-learn {solver}", sec,
                     softmax_objective(X, y, sk.coef_, sk.intercept_, alpha), peak))
    return f"multinomial K={k}, {n} x {d}, alpha={alpha:g}", X, rows


def run_ordinal(scale, rng, with_statsmodels):
    n, d, k = int(100_000 * scale), 20, 4
    X, y = ordinal_data(n, d, k, rng)
    rows = []
    rows += ours(lambda **kw: lk.OrdinalLogisticRegression(**kw).fit(X, y),
                 lambda m: ordinal_objective(X, y, m.coef_, m.thresholds_), penalised=False)
    if with_statsmodels:
        from statsmodels.miscmodels.ordinal_model import OrderedModel

        sec, peak, r = measure(lambda: OrderedModel(y, X, distr="logit").fit(
            method="bfgs", disp=0, maxiter=10_000))
        rows.append(("statsmodels OrderedModel bfgs", sec,
                     ordinal_objective(X, y, *statsmodels_ordinal(r.params, d)), peak))
    return f"ordinal {k} classes, {n} x {d}, maximum likelihood", X, rows


def warm_up():
    """Fit each kind once on tiny data so that imports and first calls are not timed."""
    rng = np.random.default_rng(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lk.LogisticRegression().fit(*unscaled_binary(500, 3, rng))
        lk.LogisticRegression().fit(*multinomial_data(500, 3, 3, rng))
        lk.OrdinalLogisticRegression().fit(*ordinal_data(500, 3, 3, rng))


CASES = {"binary": run_binary, "multinomial": run_multinomial, "ordinal": run_ordinal}


def print_table(title, X, rows):
    ours = rows[0]
    best = min(r[2] for r in rows)
    print(f"\n{title}   (X: {X.nbytes / 2**20:.0f} MiB)")
    print(f"{'solver':<40}{'seconds':>9}{'x ours':>8}{'objective':>22}{'rel. gap':>11}"
          f"{'peak MiB':>10}{'% of X':>8}")
    for name, sec, obj, peak, *x_bytes in rows:
        size = x_bytes[0] if x_bytes else X.nbytes
        print(f"{name:<40}{sec:>9.2f}{sec / ours[1]:>8.1f}{obj:>22.15f}"
              f"{(obj - best) / abs(best):>11.1e}{peak / 2**20:>10.1f}"
              f"{100 * peak / size:>8.1f}")


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--only", choices=sorted(CASES), action="append")
    parser.add_argument("--no-statsmodels", action="store_true")
    parser.add_argument("--gpu", action="store_true",
                        help="run the GPU cases against plain PyTorch instead (benchmarks/gpu.py, "
                             "10M x 100 float32 on cuda; its options: python benchmarks/gpu.py -h)")
    args = parser.parse_args()
    if args.gpu:
        import sys

        from gpu import main as gpu_main  # benchmarks/ is on sys.path when run as a script

        sys.argv = [sys.argv[0]]
        return gpu_main()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; "
          f"numpy {np.__version__}; logitkit {lk.__version__}")
    warm_up()
    for name in args.only or CASES:
        rng = np.random.default_rng(0)
        print_table(*CASES[name](args.scale, rng, not args.no_statsmodels))


if __name__ == "__main__":
    main()
