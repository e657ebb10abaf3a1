"""What the benchmarks share: objectives computed from each solver's coefficients (the same
formula for logitkit and its peers), timing and memory measurement, the common options.

Objective convention: weighted mean log-loss + alpha/2 ||slopes||^2 (intercepts and cut
points unpenalised); scikit-learn's C is 1 / (n * alpha).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import scipy.special as sc

# rows of X converted to float64 at a time when evaluating an objective
_BLOCK = 65_536


def unscaled_binary(n, d, rng):
    """X (n, d) with column scales from 1e-3 to 1e4, and y from a logit model of the
    unscaled columns (badly scaled, well conditioned in standardised coordinates)."""
    scales = np.logspace(-3, 4, d)
    Z = rng.normal(size=(n, d))
    beta = rng.normal(size=d) / np.sqrt(d)
    y = (Z @ beta + rng.logistic(size=n) > 0).astype(np.int64)
    return Z * scales, y


def _blocks(X):
    for start in range(0, X.shape[0], _BLOCK):
        yield slice(start, start + _BLOCK), np.asarray(X[start:start + _BLOCK], dtype=float)


def softmax_objective(X, y, coef, intercept, alpha):
    """Mean log-loss + alpha/2 ||coef||^2 in the symmetric (K, d) form (a (1, d) or (d,)
    coef is the binary model: the log-odds of class 1). X of any float dtype, in float64."""
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    loss = 0.0
    for rows, block in _blocks(X):
        logits = block @ coef.T + intercept
        if logits.shape[1] == 1:
            logits = np.hstack([np.zeros_like(logits), logits])
        loss += np.sum(sc.logsumexp(logits, axis=1) - logits[np.arange(len(logits)), y[rows]])
    return loss / len(y) + 0.5 * alpha * np.sum(coef**2)


def softmax_objective_from_scores(y, scores, coef, alpha):
    """:func:`softmax_objective` from the logits ``scores`` (n, K) and the penalised slopes
    ``coef`` (K, d): for designs (one-hot) each solver encodes its own way."""
    scores = np.asarray(scores, dtype=float)
    loss = np.mean(sc.logsumexp(scores, axis=1) - scores[np.arange(len(y)), y])
    return loss + 0.5 * alpha * np.sum(np.asarray(coef, dtype=float) ** 2)


def binary_objective_from_scores(y, scores, coef, alpha):
    """The binary objective from the log-odds ``scores`` (n,) of class 1 and the penalised
    slopes ``coef``: for designs (one-hot) each solver encodes its own way."""
    scores = np.asarray(scores, dtype=float)
    loss = np.mean(np.logaddexp(0.0, scores) - np.where(y == 1, scores, 0.0))
    return loss + 0.5 * alpha * np.sum(np.asarray(coef, dtype=float) ** 2)


# (CDF, survival function) of each ordinal link's latent noise
_LINKS = {
    "logit": (sc.expit, lambda x: sc.expit(-x)),
    "probit": (sc.ndtr, lambda x: sc.ndtr(-x)),
    "cloglog": (lambda x: -np.expm1(-np.exp(x)), lambda x: np.exp(-np.exp(x))),
}


def ordinal_objective(X, y, coef, cuts, link="logit", alpha=0.0):
    """Mean negative log-likelihood of the cumulative-link model P(Y <= j) = F(cuts[j] -
    x @ coef) + alpha/2 ||coef||^2; a cell's probability from the tail it lies in."""
    cdf, sf = _LINKS[link]
    full = np.concatenate([[-np.inf], np.asarray(cuts, dtype=float), [np.inf]])
    coef = np.asarray(coef, dtype=float)
    loss = 0.0
    for rows, block in _blocks(X):
        eta = block @ coef
        upper, lower = full[y[rows] + 1] - eta, full[y[rows]] - eta
        with np.errstate(invalid="ignore"):
            cell = np.where(lower > 0, sf(lower) - sf(upper), cdf(upper) - cdf(lower))
        loss -= np.sum(np.log(cell))
    return loss / len(y) + 0.5 * alpha * np.sum(coef**2)


def statsmodels_ordinal(params, d):
    """(slopes (d,), increasing cut points) from statsmodels OrderedModel's params: the
    first cut point, then the logs of the increments."""
    params = np.asarray(params)
    return params[:d], np.cumsum(np.r_[params[d], np.exp(params[d + 1:])])


def timed(fit):
    """(seconds, result) of ``fit()``, warnings silenced (peers warn about convergence;
    the objective gap shows it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        result = fit()
        return time.perf_counter() - start, result


def peak_memory(fit):
    """tracemalloc's peak of extra bytes during ``fit()`` (run apart from the timed runs,
    as tracing slows allocation-heavy code)."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(fit):
    """(seconds, peak extra bytes, result) of ``fit()``: one timed run, one traced run."""
    seconds, result = timed(fit)
    return seconds, peak_memory(fit), result


def benchmark_parser(doc: str, rows: str = "the full rows", repeat: bool = False,
                     threads: bool = False) -> argparse.ArgumentParser:
    """The options every benchmark shares: --scale (a fraction of ``rows``) and, when
    asked for, --repeat (timed runs, best of) and --threads (BLAS/OpenMP threads)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help=f"fraction of {rows}")
    if repeat:
        parser.add_argument("--repeat", type=int, default=3, help="timed runs (best of)")
    if threads:
        parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    return parser
