"""Post-estimation against statsmodels on the same fitted model: average marginal effects
with delta-method SEs, prediction intervals, influence measures; profile intervals (no
Python peer) with their passes over X.

    python benchmarks/post_estimation.py                 # 200k x 20 binary, 50k x 10 K=4
    python benchmarks/post_estimation.py --scale 0.25 --repeat 2

One BLAS thread (threadpoolctl), logitkit and the peer interleaved after an untimed
warm-up, best of ``--repeat``. Data of two kinds: independent columns and
Toeplitz-correlated ones (rho 0.9) with a 0/1 column (a discrete change). Each row prints
both times, the ratio peer / logitkit and the largest difference of the results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from common import benchmark_parser, timed  # benchmarks/ is on sys.path as a script
from threadpoolctl import threadpool_limits

import logitkit as lk


def _design(n, d, kind, rng):
    """(n, d) DataFrame: i.i.d. normal or Toeplitz (rho 0.9) columns, the last one 0/1."""
    Z = rng.normal(size=(n, d))
    if kind == "correlated":
        cov = 0.9 ** np.abs(np.subtract.outer(np.arange(d - 1), np.arange(d - 1)))
        Z[:, : d - 1] = Z[:, : d - 1] @ np.linalg.cholesky(cov).T
    Z[:, d - 1] = Z[:, d - 1] > 0
    return pd.DataFrame(Z, columns=[f"x{j}" for j in range(d)])


def _binary(n, d, kind, rng):
    X = _design(n, d, kind, rng)
    eta = X.to_numpy() @ (rng.normal(size=d) / np.sqrt(d)) - 0.3
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)


def _multinomial(n, d, K, kind, rng):
    X = _design(n, d, kind, rng)
    scores = X.to_numpy() @ rng.normal(size=(d, K)) / np.sqrt(d)
    return X, np.argmax(scores + rng.gumbel(size=(n, K)), axis=1)


def _best(repeat, ours, peer):
    """(our seconds, peer seconds, our result, peer result), interleaved, best of."""
    ours(), peer()  # warm-up
    t_ours, t_peer = [], []
    for _ in range(repeat):
        seconds, a = timed(ours)
        t_ours.append(seconds)
        seconds, b = timed(peer)
        t_peer.append(seconds)
    return min(t_ours), min(t_peer), a, b


def _row(task, t_ours, t_peer, gap):
    print(f"{task:<52}{t_ours:>9.3f}{t_peer:>10.3f}{t_peer / t_ours:>8.2f}x{gap:>11.1e}")


def binary_case(n, d, kind, repeat, rng):
    X, y = _binary(n, d, kind, rng)
    m = lk.LogisticRegression().fit(X, y)
    res = sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    print(f"\nbinary {n} x {d}, {kind} columns")
    a, b, ours, peer = _best(repeat, lambda: m.marginal_effects().to_frame(),
                             lambda: res.get_margeff(dummy=True).summary_frame())
    gap = max(np.max(np.abs(ours["effect"].to_numpy() - peer.iloc[:, 0].to_numpy())),
              np.max(np.abs(ours["std_err"].to_numpy() - peer.iloc[:, 1].to_numpy())))
    _row("average marginal effects + SEs (dummy)", a, b, gap)
    new = X.iloc[: n // 10]
    a, b, ours, peer = _best(repeat, lambda: m.predict_interval(new)[1],
                             lambda: res.get_prediction(sm.add_constant(new, has_constant="add"))
                             .summary_frame())
    gap = np.max(np.abs(ours["lower"].to_numpy() - peer["ci_lower"].to_numpy()))
    _row(f"prediction intervals, {len(new)} rows", a, b, gap)
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)
    a, b, ours, peer = _best(repeat, lambda: m.influence(dfbetas="one-step"),
                             lambda: glm.get_influence().summary_frame())
    gap = np.max(np.abs(ours["cooks_distance"].to_numpy() - peer["cooks_d"].to_numpy()))
    _row("influence (hat, Cook's distance, dfbetas)", a, b, gap)
    interval = m.conf_int(method="profile")
    seconds, _ = timed(lambda: m.conf_int(method="profile"))
    print(f"{'profile intervals, all parameters (no peer)':<52}{seconds:>9.3f}"
          f"   {interval.attrs.get('refits', '?')} refits, "
          f"{interval.attrs.get('passes', '?')} passes over X")


def multinomial_case(n, d, K, kind, repeat, rng):
    X, y = _multinomial(n, d, K, kind, rng)
    m = lk.LogisticRegression().fit(X, y)
    res = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    print(f"\nmultinomial K={K}, {n} x {d}, {kind} columns")
    # (statsmodels' MNLogit get_margeff(dummy=True) fails with a shape error)
    a, b, ours, peer = _best(repeat, lambda: m.marginal_effects(discrete=False).to_frame(),
                             lambda: res.get_margeff().summary_frame())
    gap = np.max(np.abs(np.sort(ours["effect"].to_numpy()) - np.sort(peer.iloc[:, 0].to_numpy())))
    _row("average marginal effects + SEs, every class", a, b, gap)


def main():
    parser = benchmark_parser(__doc__, repeat=True)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'task':<52}{'logitkit':>9}{'statsm.':>10}{'ratio':>9}{'max diff':>11}")
    with threadpool_limits(1):
        for kind in ("independent", "correlated"):
            binary_case(int(200_000 * args.scale), 20, kind, args.repeat, rng)
            multinomial_case(int(50_000 * args.scale), 10, 4, kind, args.repeat, rng)


if __name__ == "__main__":
    main()
