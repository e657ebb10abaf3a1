"""Offsets in penalty="firth" fits: a constant offset moves the intercept alone (exactly,
intervals included), a varying one agrees with firthmodels (binary) and makes the
modified score of an independent implementation vanish (multinomial)."""

import numpy as np
import pytest

import logitkit as lk
from test_firth import hepatitis, sex2


def test_constant_offset_shifts_the_intercept():
    X, y = sex2()
    plain = lk.LogisticRegression(penalty="firth").fit(X, y)
    shifted = lk.LogisticRegression(penalty="firth").fit(X, y, offset=np.full(len(y), 0.7))
    assert shifted.has_offset_
    np.testing.assert_allclose(shifted.coef_, plain.coef_, atol=1e-9)
    np.testing.assert_allclose(shifted.intercept_, plain.intercept_ - 0.7, atol=1e-9)
    a, b = shifted.summary().table, plain.summary().table
    np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=1e-8)
    np.testing.assert_allclose(a.loc[X.columns, ["ci_lower", "ci_upper", "chi2"]],
                               b.loc[X.columns, ["ci_lower", "ci_upper", "chi2"]], atol=1e-8)
    np.testing.assert_allclose(a.loc["Intercept", ["ci_lower", "ci_upper"]],
                               b.loc["Intercept", ["ci_lower", "ci_upper"]] - 0.7, atol=1e-8)
    np.testing.assert_allclose(shifted.predict_proba(X, offset=0.7), plain.predict_proba(X),
                               atol=1e-10)
    with pytest.raises(ValueError, match="offset"):
        shifted.predict_proba(X)


def test_varying_offset_agrees_with_firthmodels():
    firthmodels = pytest.importorskip("firthmodels")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((150, 4))
    offset = rng.normal(0, 0.8, 150)
    y = (rng.random(150) < 1 / (1 + np.exp(-(X @ [0.8, -0.5, 0.3, 0.0] + offset - 0.4))))
    ours = lk.LogisticRegression(penalty="firth").fit(X, y.astype(int), offset=offset)
    peer = firthmodels.FirthLogisticRegression(backend="numpy", gtol=1e-8, xtol=1e-8,
                                               max_iter=100).fit(X, y.astype(int),
                                                                 offset=offset)
    peer.lrt()
    ci = peer.conf_int(method="pl", tol=1e-9, max_iter=200)
    table = ours.summary().table.loc[[f"x{j}" for j in range(4)] + ["Intercept"]]
    np.testing.assert_allclose(table["coef"], np.r_[peer.coef_, peer.intercept_], atol=1e-8)
    np.testing.assert_allclose(table["std_err"], peer.bse_, rtol=1e-7)
    np.testing.assert_allclose(table["p_value"], peer.lrt_pvalues_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(table[["ci_lower", "ci_upper"]], ci, atol=1e-7)


def _penalised_log_likelihood(theta, X, y, w, offset):
    """log L + 1/2 log det I of a baseline-category logit model, written out directly:
    theta (m, d + 1) slopes then intercept per non-base class, offset (n, m)."""
    Xa = np.column_stack([X, np.ones(len(X))])
    eta = Xa @ theta.T + offset
    full = np.column_stack([np.zeros(len(X)), eta])
    logp = full - np.logaddexp.reduce(full, axis=1, keepdims=True)
    pi = np.exp(logp[:, 1:])
    info = sum(wi * np.kron(np.diag(p) - np.outer(p, p), np.outer(x, x))
               for wi, p, x in zip(w, pi, Xa, strict=True))
    return w @ logp[np.arange(len(y)), y] + 0.5 * np.linalg.slogdet(info)[1]


def test_multinomial_offset_zeroes_an_independent_modified_score():
    X, labels, counts = hepatitis()
    rng = np.random.default_rng(0)
    offset = rng.normal(0, 0.5, (len(labels), 2))  # classes_[1:] against classes_[0]
    fit = lk.LogisticRegression(penalty="firth").fit(X, labels, sample_weight=counts,
                                                      offset=offset)
    y = np.array([list(fit.classes_).index(label) for label in labels])
    theta = fit.result_.params.reshape(2, 4)  # natural: against classes_[0]
    args = (X.to_numpy(float), y, counts.astype(float), offset)
    assert fit.firth_.penalised_log_likelihood == pytest.approx(
        _penalised_log_likelihood(theta, *args), abs=1e-9)
    step = 1e-6
    for k in range(2):
        for j in range(4):
            e = np.zeros_like(theta)
            e[k, j] = step
            slope = (_penalised_log_likelihood(theta + e, *args)
                     - _penalised_log_likelihood(theta - e, *args)) / (2 * step)
            assert abs(slope) < 1e-6
    # the offset matters: the fit differs from the offset-free one
    plain = lk.LogisticRegression(penalty="firth").fit(X, labels, sample_weight=counts)
    assert np.abs(plain.coef_ - fit.coef_).max() > 1e-3
    tests = fit.firth_tests(0.95, tests=False)
    assert np.all(tests.lower < fit.summary().table["coef"].to_numpy())
