"""A binary fit on a DataFrame with categorical columns, logitkit against its peers.

    python benchmarks/categorical.py               # 300k rows, 5 x 50 levels + 10 numeric
    python benchmarks/categorical.py --scale 0.1   # a tenth of the rows
    python benchmarks/categorical.py --repeat 5    # best of 5 (default 3)
    python benchmarks/categorical.py --without scikit-learn   # (its fit takes ~25 s)

logitkit and glum take the DataFrame itself (glum through tabmat: its categorical
columns as codes, ``drop_first=True`` for the same model); scikit-learn needs a dense
one-hot matrix, and its times and memory include making it (``pd.get_dummies``), as does
the row of logitkit fitted on the dense one-hot matrix (what it did before codes). One BLAS
thread for everyone; the fits run interleaved (ours, peers, ours, peers, ...) and each
row reports its best time. Memory: tracemalloc's peak during one more fit, over the
DataFrame already in memory. Objective: weighted mean log-loss + alpha/2 ||slopes||^2,
from each fit's predicted probabilities and coefficients.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from common import benchmark_parser  # benchmarks/ is on sys.path when run as a script
from threadpoolctl import threadpool_limits

import logitkit as lk
from logitkit.encoding import DesignEncoder


def categorical_frame(n, n_categorical, n_levels, n_numeric, rng):
    """(DataFrame, y): ``n_categorical`` Categorical columns of ``n_levels`` levels and
    ``n_numeric`` float64 columns, binary y from a logistic model with effects on both."""
    columns, eta = {}, np.zeros(n)
    for j in range(n_categorical):
        codes = rng.integers(0, n_levels, n)
        eta += (rng.normal(size=n_levels) * 0.5)[codes]
        columns[f"c{j}"] = pd.Categorical.from_codes(
            codes, categories=[f"L{level:02d}" for level in range(n_levels)])
    for j in range(n_numeric):
        values = rng.normal(size=n)
        eta += values * rng.normal() / np.sqrt(n_numeric)
        columns[f"x{j}"] = values
    y = (eta - eta.mean() + rng.logistic(size=n) > 0).astype(np.int64)
    return pd.DataFrame(columns), y


def objective(y, proba1, coef, alpha):
    p = np.clip(proba1, 1e-300, 1.0)
    q = np.clip(1.0 - proba1, 1e-300, 1.0)
    loss = -np.mean(np.where(y == 1, np.log(p), np.log(q)))
    return loss + 0.5 * alpha * float(np.sum(np.asarray(coef) ** 2))


def fitters(frame, y, alpha):
    """(name, fit) for logitkit and its peers; fit() returns a function (called outside
    the timing) that gives (P(y = 1) (n,), coef, note)."""
    from sklearn.linear_model import LogisticRegression as SkLR

    n = len(y)

    def ours():
        m = lk.LogisticRegression(alpha=alpha, inference=False).fit(frame, y)
        return lambda: (m.predict_proba(frame)[:, 1], m.coef_, f"{m.n_passes_:.1f} passes")

    def dense():  # the one-hot matrix logitkit fitted before codes (encoding included)
        encoder = DesignEncoder.fit(frame)
        m = lk.LogisticRegression(alpha=alpha, inference=False).fit(encoder.transform(frame), y)
        return lambda: (m.predict_proba(encoder.transform(frame))[:, 1], m.coef_,
                        f"{m.n_passes_:.1f} passes")

    def sklearn():
        onehot = pd.get_dummies(frame, drop_first=True, dtype=np.float64).to_numpy()
        m = SkLR(C=1 / (alpha * n), solver="newton-cholesky").fit(onehot, y)
        return lambda: (m.predict_proba(onehot)[:, 1], m.coef_, "")

    rows = [("logitkit, DataFrame", ours),
            ("logitkit, dense one-hot (encoding incl.)", dense),
            ("scikit-learn newton-cholesky, get_dummies incl.", sklearn)]
    try:
        from glum import GeneralizedLinearRegressor

        def glum():
            m = GeneralizedLinearRegressor(family="binomial", alpha=alpha, l1_ratio=0.0,
                                           drop_first=True).fit(frame, y)
            return lambda: (m.predict(frame), m.coef_, "")

        rows.append(("glum, DataFrame (tabmat)", glum))
    except ImportError:
        pass
    return rows


def run_categorical(scale=1.0, repeat=3, seed=0, without=()):
    """The issue's case: binary, 5 categorical columns of 50 levels + 10 numeric, 300k
    rows (times ``scale``), alpha 1e-4. Prints the table and returns its rows."""
    rng = np.random.default_rng(seed)
    n, alpha = int(300_000 * scale), 1e-4
    frame, y = categorical_frame(n, 5, 50, 10, rng)
    numeric = sum(frame[c].to_numpy().nbytes for c in frame if frame[c].dtype.kind == "f")
    codes = sum(frame[c].array.codes.nbytes for c in frame if frame[c].dtype == "category")
    onehot_bytes = n * (5 * 49 + 10) * 8
    rows = [(name, fit) for name, fit in fitters(frame, y, alpha)
            if not any(name.startswith(prefix) for prefix in without)]
    best = {name: np.inf for name, _ in rows}
    results = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _name, fit in rows:  # warm-up: imports, first calls
            fit()
        for _ in range(repeat):
            for name, fit in rows:
                start = time.perf_counter()
                results[name] = fit()
                best[name] = min(best[name], time.perf_counter() - start)
        peaks = {}
        for name, fit in rows:
            tracemalloc.start()
            fit()
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    results = {name: evaluate() for name, evaluate in results.items()}
    values = {name: objective(y, r[0], r[1], alpha) for name, r in results.items()}
    low = min(values.values())
    base = best[rows[0][0]]
    storage = numeric + codes
    print(f"\nbinary {n} rows: 5 categorical x 50 levels + 10 numeric, alpha={alpha:g}; "
          f"numeric storage + codes {storage / 2**20:.1f} MiB, dense one-hot "
          f"{onehot_bytes / 2**20:.0f} MiB; one BLAS thread, best of {repeat}")
    print(f"{'fit':<50}{'seconds':>9}{'x ours':>8}{'rel. gap':>10}{'peak MiB':>10}"
          f"{'x storage':>10}  note")
    table = []
    for name, _ in rows:
        gap = (values[name] - low) / abs(low)
        print(f"{name:<50}{best[name]:>9.2f}{best[name] / base:>8.2f}{gap:>10.1e}"
              f"{peaks[name] / 2**20:>10.1f}{peaks[name] / storage:>10.2f}  "
              f"{results[name][2]}")
        table.append((name, best[name], gap, peaks[name]))
    return table


def main():
    parser = benchmark_parser(__doc__, "300k rows", repeat=True)
    parser.add_argument("--without", action="append", default=[],
                        help="leave out the fits whose name starts with this "
                             "(e.g. scikit-learn)")
    args = parser.parse_args()
    run_categorical(args.scale, args.repeat, without=args.without)


if __name__ == "__main__":
    main()
