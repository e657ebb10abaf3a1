"""The problems of benchmarks/suite.py: seeded generators and, per case, the solvers that
fit it (logitkit with its default settings, then its peers) and the objective each reaches.

Sizes are the full-scale rows (``scale`` multiplies them). Every solver's objective is
computed by benchmarks/common.py from its own coefficients, with the same formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.optimize as so
import scipy.stats as st
from common import (  # benchmarks/ is on sys.path when run as a script
    binary_objective_from_scores,
    ordinal_objective,
    softmax_objective,
    softmax_objective_from_scores,
    statsmodels_ordinal,
    unscaled_binary,
)

import logitkit as lk

# peers' settings that reach the optimum (objective within ~1e-9 relative)
# (lbfgs stops at max_iter on badly scaled columns: 1000 iterations keep that run to about
# a minute at full scale, still far from the optimum)
LBFGS_TIGHT = {"tol": 1e-12, "max_iter": 1000}
NEWTON_CHOLESKY_TIGHT = {"tol": 1e-10, "max_iter": 1000}
# glum's gradient tolerance: float32 gradients do not get below ~1e-8 (at 1e-8 it runs to
# max_iter), and 1e-7 reaches the optimum there as 1e-10 does in float64
GLUM_GRADIENT_TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-7}
# scikit-learn's newton-cholesky and glum form a p x p Hessian from all rows each iteration:
# minutes beyond this many parameters at full scale (run them with --all-peers)
HEAVY_PARAMS = 500


@dataclass
class Solver:
    name: str
    fit: Callable[[], Any]
    objective: Callable[[Any], float]
    skip: str | None = None  # "slow": left out by --skip-slow; "heavy": by default
    passes: Callable[[Any], float] | None = None


@dataclass
class Case:
    name: str
    title: str
    data_bytes: int  # what memory is measured against: X, or a frame's numbers and codes
    data_label: str
    solvers: list[Solver] = field(default_factory=list)  # logitkit first


# ---- generators: (X, y) from seeded rng --------------------------------------------------

def binary_from_eta(eta, rng):
    return (eta + rng.logistic(size=len(eta)) > 0).astype(np.int64)


def iid_binary(n, d, signal, rng, dtype=np.float64):
    """i.i.d. N(0, 1) columns; log-odds sd ``signal``."""
    X = rng.normal(size=(n, d)).astype(dtype, copy=False)
    beta = rng.normal(size=d) * signal / np.sqrt(d)
    return X, binary_from_eta(X @ beta.astype(dtype), rng)


def toeplitz_binary(n, d, rho, rng):
    """Columns an AR(1) sequence: corr(x_i, x_j) = rho^|i - j| (Toeplitz)."""
    X = np.empty((n, d))
    X[:, 0] = rng.normal(size=n)
    for j in range(1, d):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * rng.normal(size=n)
    beta = rng.normal(size=d) / np.sqrt(d)
    return X, binary_from_eta(X @ beta, rng)


def rare_binary(n, d, rate, rng):
    """Log-odds sd 1, the intercept set so that a share ``rate`` of rows is positive."""
    X = rng.normal(size=(n, d))
    eta = X @ (rng.normal(size=d) / np.sqrt(d))
    shift = so.brentq(lambda b: np.mean(1 / (1 + np.exp(-(eta + b)))) - rate, -30, 30)
    return X, binary_from_eta(eta + shift, rng)


def heavy_binary(n, d, rng, kind):
    """Heavy-tailed columns, ``kind`` "t2" (Student's t, 2 degrees of freedom) or
    "lognormal" (sigma 1.5): a few large rows carry the curvature; log-odds sd about 0.5
    (of the standardised columns for lognormal)."""
    X = rng.standard_t(2, size=(n, d)) if kind == "t2" else rng.lognormal(0, 1.5, (n, d))
    Z = X if kind == "t2" else (X - X.mean(0)) / X.std(0)
    return X, binary_from_eta(Z @ (rng.normal(size=d) * 0.5 / np.sqrt(d)), rng)


def weekly_binary(n, d, rng):
    """``d`` normal columns, then 6 dummies of the weekday of rows in time order (row i is
    day i % 7): rows with a period, which a sample of every 7th row sees as constant."""
    X = rng.normal(size=(n, d))
    day = np.arange(n) % 7
    X = np.column_stack([X, (day[:, None] == np.arange(1, 7)).astype(float)])
    beta = np.concatenate([rng.normal(size=d) / np.sqrt(d), np.linspace(-1, 1, 6)])
    return X, binary_from_eta(X @ beta, rng)


def multinomial_data(n, d, k, signal, rng):
    X = rng.normal(size=(n, d))
    B = rng.normal(size=(d, k)) * signal / np.sqrt(d)
    return X, np.argmax(X @ B + rng.gumbel(size=(n, k)), axis=1)


def ordinal_data(n, d, link, rng, levels=5):
    """``levels`` ordered classes at the quantiles of the link's latent variable (equal
    class shares), log-odds sd 2."""
    X = rng.normal(size=(n, d))
    noise = {"logit": rng.logistic(size=n), "probit": rng.normal(size=n),
             "cloglog": np.log(-np.log(rng.uniform(size=n)))}[link]
    latent = X @ (rng.normal(size=d) / np.sqrt(d)) * 2.0 + noise
    return X, np.digitize(latent, np.quantile(latent, np.arange(1, levels) / levels))


def categorical_frame(n, n_cat, levels, n_num, rng):
    """DataFrame of ``n_cat`` Categorical columns of ``levels`` levels and ``n_num``
    numeric ones, y from level effects and slopes (log-odds sd about 1)."""
    names = [f"L{j:02d}" for j in range(levels)]
    columns, eta = {}, np.zeros(n)
    for c in range(n_cat):
        codes = rng.integers(0, levels, size=n)
        columns[f"c{c}"] = pd.Categorical.from_codes(codes, categories=names)
        eta += rng.normal(scale=0.5 / np.sqrt(n_cat), size=levels)[codes]
    for j in range(n_num):
        columns[f"x{j}"] = rng.normal(size=n)
        eta += columns[f"x{j}"] * rng.normal() / np.sqrt(n_num)
    return pd.DataFrame(columns), binary_from_eta(eta, rng)


# ---- solvers ----------------------------------------------------------------------------

def _passes(model):
    return model.n_passes_


# scikit-learn's LinearModelLoss methods that each read X once (a Hessian-vector product
# made by the closure of gradient_hessian_product is not counted: the suite's peers do not
# use it)
SKLEARN_PASSES = ("loss", "loss_gradient", "gradient", "gradient_hessian",
                  "gradient_hessian_product")


def counting_sklearn_passes(fit):
    """``fit`` wrapped to count scikit-learn's reads of X (outermost LinearModelLoss calls
    of SKLEARN_PASSES) and record them on the fitted model as ``bench_passes_``."""
    from sklearn.linear_model._linear_loss import LinearModelLoss

    def counted():
        count, depth = [0], [0]
        originals = {name: getattr(LinearModelLoss, name) for name in SKLEARN_PASSES}

        def wrap(method):
            def wrapper(*args, **kwargs):
                count[0] += depth[0] == 0
                depth[0] += 1
                try:
                    return method(*args, **kwargs)
                finally:
                    depth[0] -= 1
            return wrapper

        for name, method in originals.items():
            setattr(LinearModelLoss, name, wrap(method))
        try:
            model = fit()
        finally:
            for name, method in originals.items():
                setattr(LinearModelLoss, name, method)
        model.bench_passes_ = count[0]
        return model

    return counted


def _bench_passes(model):
    return model.bench_passes_


def logitkit_solver(X, y, objective, **params):
    """logitkit with its default settings (inference included where alpha = 0, as the
    statsmodels peer computes it too)."""
    estimator = lk.OrdinalLogisticRegression if "link" in params else lk.LogisticRegression
    return Solver("logitkit", lambda: estimator(**params).fit(X, y), objective,
                  passes=_passes)


def sklearn_solvers(X, y, alpha, objective=None, n_params=None):
    """scikit-learn lbfgs and newton-cholesky at tolerances that reach the optimum, then
    with their default settings (a second row each)."""
    from sklearn.linear_model import LogisticRegression as SkLR

    C = 1 / (alpha * len(y))
    if objective is None:
        def objective(m):
            return softmax_objective(X, y, m.coef_, m.intercept_, alpha)
    if n_params is None:
        k = len(np.unique(y))
        n_params = (X.shape[1] + 1) * (1 if k == 2 else k)
    heavy = n_params > HEAVY_PARAMS
    def solver(name, skip=None, **params):
        return Solver(name, counting_sklearn_passes(lambda: SkLR(C=C, **params).fit(X, y)),
                      objective, skip=skip, passes=_bench_passes)

    out = [solver("sklearn lbfgs tight", **LBFGS_TIGHT),
           solver("sklearn newton-chol. tight", skip="heavy" if heavy else None,
                  solver="newton-cholesky", **NEWTON_CHOLESKY_TIGHT),
           solver("sklearn lbfgs default")]
    if not heavy:
        out.append(solver("sklearn newton-chol. default", solver="newton-cholesky"))
    return out


def glum_solvers(X, y, alpha, objective=None, n_params=None, dtype=np.float64, **params):
    """glum at a gradient tolerance that reaches the optimum, then at its default one (a
    second row: its Newton steps often land at the optimum anyway)."""
    from glum import GeneralizedLinearRegressor

    if objective is None:
        def objective(m):
            return softmax_objective(X, y, m.coef_, m.intercept_, alpha)
    n_params = X.shape[1] + 1 if n_params is None else n_params
    skip = "heavy" if n_params > HEAVY_PARAMS else None

    def solver(name, **settings):
        return Solver(name, lambda: GeneralizedLinearRegressor(
            family="binomial", alpha=alpha, l1_ratio=0.0, **settings, **params).fit(X, y),
            objective, skip=skip)

    return [solver("glum tight", gradient_tol=GLUM_GRADIENT_TOL[np.dtype(dtype)],
                   max_iter=1000),
            solver("glum default")]


def statsmodels_solver(X, y, link):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    distr = {"logit": "logit", "probit": "probit", "cloglog": st.gumbel_l}[link]
    d = X.shape[1]
    return Solver("statsmodels OrderedModel", lambda: OrderedModel(y, X, distr=distr).fit(
        method="bfgs", maxiter=10_000, gtol=1e-8, disp=False),
        lambda r: ordinal_objective(X, y, *statsmodels_ordinal(r.params, d), link),
        skip="slow")


# ---- cases ------------------------------------------------------------------------------

def binary_case(name, title, X, y, alpha):
    def objective(m):
        return softmax_objective(X, y, m.coef_, m.intercept_, alpha)

    solvers = [logitkit_solver(X, y, objective, alpha=alpha)]
    solvers += sklearn_solvers(X, y, alpha)
    solvers += glum_solvers(X, y, alpha, dtype=X.dtype)
    n, d = X.shape
    return Case(name, f"binary {n} x {d}, {title}, alpha={alpha:g}", X.nbytes, "X", solvers)


def multinomial_case(name, title, X, y, alpha):
    def objective(m):
        return softmax_objective(X, y, m.coef_, m.intercept_, alpha)

    solvers = [logitkit_solver(X, y, objective, alpha=alpha)] + sklearn_solvers(X, y, alpha)
    k, (n, d) = len(np.unique(y)), X.shape
    return Case(name, f"multinomial K={k}, {n} x {d}, {title}, alpha={alpha:g}", X.nbytes,
                "X", solvers)


def ordinal_case(link, n, d, rng):
    X, y = ordinal_data(n, d, link, rng)

    def objective(m):
        return ordinal_objective(X, y, m.coef_, m.thresholds_, link)

    solvers = [logitkit_solver(X, y, objective, link=link), statsmodels_solver(X, y, link)]
    return Case(f"ordinal-{link}", f"ordinal {link}, 5 levels, {n} x {d}, maximum likelihood",
                X.nbytes, "X", solvers)


def frame_case(n, d, rng, alpha=1e-4):
    """A float64 DataFrame (every solver takes the frame as it is; memory against its
    numbers): pandas keeps it in column order."""
    X, y = iid_binary(n, d, 1.0, rng)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(d)])

    def objective(m):
        return softmax_objective(X, y, m.coef_, m.intercept_, alpha)

    solvers = [logitkit_solver(frame, y, objective, alpha=alpha)]
    solvers += sklearn_solvers(frame, y, alpha, objective, d + 1)
    solvers += glum_solvers(frame, y, alpha, objective, d + 1)
    return Case("frame", f"binary {n} x {d} float64 DataFrame, alpha={alpha:g}", X.nbytes,
                "frame numbers", solvers)


def multinomial_frame_case(n, d, k, rng, alpha=1e-4):
    """A multinomial fit of a float64 DataFrame (column order, as pandas keeps it: the
    compiled column loop of logitkit.solvers.compiled_softmax)."""
    X, y = multinomial_data(n, d, k, 1.0, rng)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(d)])

    def objective(m):
        return softmax_objective(X, y, m.coef_, m.intercept_, alpha)

    solvers = [logitkit_solver(frame, y, objective, alpha=alpha)]
    solvers += sklearn_solvers(frame, y, alpha, objective, k * (d + 1))
    return Case("frame-k5", f"multinomial K={k}, {n} x {d} float64 DataFrame, "
                f"alpha={alpha:g}", X.nbytes, "frame numbers", solvers)


def categorical_case(n, rng, alpha=1e-4):
    frame, y = categorical_frame(n, 5, 50, 10, rng)
    onehot = pd.get_dummies(frame, drop_first=True, dtype=float).to_numpy()
    codes = sum(frame[c].cat.codes.to_numpy().nbytes for c in frame if c.startswith("c"))
    numbers = sum(frame[c].to_numpy().nbytes for c in frame if c.startswith("x"))

    def objective_on(data, scores):
        return lambda m: binary_objective_from_scores(y, scores(m, data), m.coef_, alpha)

    ours = objective_on(frame, lambda m, data: m.decision_function(data))
    sk = objective_on(onehot, lambda m, data: m.decision_function(data))
    glum = objective_on(frame, lambda m, data: m.linear_predictor(data))
    solvers = [logitkit_solver(frame, y, ours, alpha=alpha)]
    solvers += sklearn_solvers(onehot, y, alpha, sk, onehot.shape[1] + 1)
    solvers += glum_solvers(frame, y, alpha, glum, onehot.shape[1] + 1, drop_first=True)
    return Case("categorical", f"binary {n} rows, DataFrame of 5 categorical columns x 50 "
                f"levels + 10 numeric (one-hot {onehot.shape[1]} columns for scikit-learn), "
                f"alpha={alpha:g}", numbers + codes, "frame numbers + codes", solvers)


def categorical_multinomial_case(n, k, rng, alpha=1e-4):
    """Multinomial K=k on categorical_case's DataFrame: classes from level effects and
    slopes per class (glum has no multinomial model; scikit-learn fits the one-hot
    matrix)."""
    frame, _ = categorical_frame(n, 5, 50, 10, rng)
    numbers = frame[[c for c in frame if c.startswith("x")]].to_numpy()
    eta = numbers @ rng.normal(scale=0.3, size=(numbers.shape[1], k))
    for c in (c for c in frame if c.startswith("c")):
        eta += rng.normal(scale=0.4, size=(50, k))[frame[c].cat.codes.to_numpy()]
    y = np.argmax(eta + rng.gumbel(size=eta.shape), axis=1)
    onehot = pd.get_dummies(frame, drop_first=True, dtype=float).to_numpy()
    codes = sum(frame[c].cat.codes.to_numpy().nbytes for c in frame if c.startswith("c"))

    def objective_on(data):
        return lambda m: softmax_objective_from_scores(y, m.decision_function(data),
                                                       m.coef_, alpha)

    solvers = [logitkit_solver(frame, y, objective_on(frame), alpha=alpha)]
    solvers += sklearn_solvers(onehot, y, alpha, objective_on(onehot),
                               k * (onehot.shape[1] + 1))
    return Case(f"categorical-k{k}", f"multinomial K={k}, {n} rows, DataFrame of 5 "
                f"categorical columns x 50 levels + 10 numeric (one-hot {onehot.shape[1]} "
                f"columns for scikit-learn), alpha={alpha:g}", numbers.nbytes + codes,
                "frame numbers + codes", solvers)


def _rows(n, scale):
    return max(int(n * scale), 1000)


def build(name, scale, rng):
    """The case ``name`` at ``scale`` times its full rows, data drawn from ``rng``."""
    r = lambda n: _rows(n, scale)  # noqa: E731
    alpha = 1e-4
    if name == "iid":
        return binary_case(name, "i.i.d. columns, weak signal",
                           *iid_binary(r(500_000), 100, 0.5, rng), alpha)
    if name == "toeplitz":
        return binary_case(name, "Toeplitz-correlated columns (rho 0.95)",
                           *toeplitz_binary(r(300_000), 100, 0.95, rng), alpha)
    if name == "unscaled":
        return binary_case(name, "column scales 1e-3..1e4",
                           *unscaled_binary(r(300_000), 100, rng), alpha)
    if name == "rare":
        X, y = rare_binary(r(1_000_000), 50, 0.006, rng)
        return binary_case(name, f"{100 * y.mean():.2f}% positives", X, y, alpha)
    if name == "strong":
        return binary_case(name, "strong signal (log-odds sd 8), near separation",
                           *iid_binary(r(200_000), 50, 8.0, rng), alpha)
    if name == "tall":
        return binary_case(name, "tall and narrow", *iid_binary(r(3_000_000), 10, 1.0, rng),
                           alpha)
    if name == "wide":
        return binary_case(name, "wide", *iid_binary(r(20_000), 2000, 1.0, rng), 1e-3)
    if name == "float32":
        return binary_case(name, "float32 X",
                           *iid_binary(r(1_000_000), 100, 1.0, rng, np.float32), alpha)
    if name == "categorical":
        return categorical_case(r(300_000), rng)
    if name == "categorical-k5":
        return categorical_multinomial_case(r(300_000), 5, rng)
    if name in ("t2", "lognormal"):
        return binary_case(name, f"{name} columns (heavy tails)",
                           *heavy_binary(r(300_000), 50, rng, name), alpha)
    if name == "weekly":
        return binary_case(name, "weekday dummies in row order",
                           *weekly_binary(r(196_000), 50, rng), alpha)
    if name == "frame":
        return frame_case(r(300_000), 50, rng)
    if name == "frame-k5":
        return multinomial_frame_case(r(300_000), 50, 5, rng)
    if name == "k3":
        return multinomial_case(name, "weak signal",
                                *multinomial_data(r(500_000), 50, 3, 0.5, rng), alpha)
    if name == "k10":
        return multinomial_case(name, "strong signal",
                                *multinomial_data(r(100_000), 50, 10, 4.0, rng), alpha)
    if name == "k50":
        return multinomial_case(name, "signal 2",
                                *multinomial_data(r(50_000), 20, 50, 2.0, rng), alpha)
    link = name.removeprefix("ordinal-")
    return ordinal_case(link, r(100_000 if link == "logit" else 50_000), 30, rng)


CASES = ("iid", "toeplitz", "unscaled", "rare", "strong", "tall", "wide", "float32",
         "categorical", "k3", "k10", "k50", "ordinal-logit", "ordinal-probit",
         "ordinal-cloglog", "t2", "lognormal", "weekly", "frame", "frame-k5",
         "categorical-k5")
