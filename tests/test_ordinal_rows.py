"""The compiled probit and cloglog rows of the ordinal family (logitkit.families.ordinal_rows)
against the NumPy forms they replace: the same loss, derivatives, cut-point sums and least
row loss to 1e-12 (normwise), blocks with rows in the far tails left to NumPy, the same
fits; and the cloglog form both paths use against mpmath."""

import numpy as np
import pytest

import logitkit as lk
from logitkit.families import ordinal_rows
from logitkit.families.ordinal import LINKS, Ordinal
from logitkit.solvers import compiled_loop

pytest.importorskip("numba")

AUX = np.array([-1.5, -0.4, 0.5, 1.6])
FIELDS = ("loss", "grad_eta", "grad_aux", "grad_aux_rows", "hess_eta", "hess_eta_diag",
          "hess_eta_aux", "hess_aux", "least_loss")


def block(n, scale, seed, weights="mixed"):
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=(n, 1)) * scale
    y = rng.integers(0, 5, size=n)
    if weights == "mixed":
        w = rng.choice([0.0, 0.5, 1.0, 3.0], size=n)
    else:  # an unweighted fit's read-only broadcast of 1.0
        w = np.broadcast_to(np.float64(1.0), (n,))
    return eta, y, w


def derivatives(link, eta, y, w, order, enabled, monkeypatch):
    monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
    assert ordinal_rows.supports(link) is enabled
    return Ordinal(link).derivatives(eta, AUX, y, w, order)


def assert_same(got, expected, rtol=1e-12):
    for name in FIELDS:
        x, y = getattr(got, name), getattr(expected, name)
        if y is None:
            assert x is None, name
            continue
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        assert x.shape == y.shape, name
        scale = np.max(np.abs(y), initial=0.0)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=name)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize(("scale", "weights"), [(1.0, "mixed"), (4.0, "ones"), (9.0, "mixed")])
def test_rows_equal_numpy(link, order, scale, weights, monkeypatch):
    """Linear predictors of sd 1 to 9 (cells far into both tails, probabilities down to
    1e-100 within the compiled forms' range), weights with zeros, or the broadcast ones."""
    eta, y, w = block(3000, scale, seed=int(scale), weights=weights)
    expected = derivatives(link, eta, y, w, order, False, monkeypatch)
    got = derivatives(link, eta, y, w, order, True, monkeypatch)
    assert np.all(np.isfinite(got.grad_eta))
    assert_same(got, expected)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_the_loops_run_where_no_row_is_extreme(link, monkeypatch):
    """The compiled loops give the terms themselves (not a NumPy fallback) on ordinary
    rows, and stop on a block with a row whose CDF underflows (probit beyond -30 sigma)
    or whose cell probability is 0 (cloglog)."""
    monkeypatch.setattr(compiled_loop, "ENABLED", True)
    eta, y, w = block(500, 2.0, seed=3)
    z = np.ascontiguousarray(eta[:, 0])
    assert ordinal_rows.block_terms(z, y.astype(np.intp), w, AUX, link, 2) is not None
    z[7], y[7] = 900.0, 0  # class 0 at eta = 900: P = F(-898.5), 0 in float64
    assert ordinal_rows.block_terms(z, y.astype(np.intp), w, AUX, link, 2) is None


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
@pytest.mark.parametrize("order", [1, 2])
def test_underflowing_cdfs_take_the_numpy_forms(link, order, monkeypatch):
    """Linear predictors in the hundreds: P underflows on some rows (log P far below
    -700), where the NumPy path's log forms give finite derivatives; such blocks are
    NumPy's, mixed with ordinary ones that are the loops'."""
    eta, y, w = block(2000, 1.0, seed=5)
    eta[::97] *= 300.0
    expected = derivatives(link, eta, y, w, order, False, monkeypatch)
    got = derivatives(link, eta, y, w, order, True, monkeypatch)
    assert np.all(np.isfinite(expected.grad_eta))
    assert_same(got, expected)
    for rows in (slice(0, 96), slice(1000, 1090)):  # blocks without a far row
        part = (eta[rows], y[rows], w[rows])
        assert_same(derivatives(link, *part, order, True, monkeypatch),
                    derivatives(link, *part, order, False, monkeypatch))


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_fits_equal_numpy_fits(link, monkeypatch):
    """A weighted ordinal fit with inference: the same estimates, covariance, objective
    and passes with and without the compiled rows."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(3000, 4))
    latent = X @ np.array([1.0, -0.5, 0.25, 0.0]) + rng.normal(size=3000)
    y = np.digitize(latent, [-1.0, 0.0, 1.2])
    w = rng.choice([0.5, 1.0, 2.0], size=3000)
    fits = []
    for enabled in (False, True):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        fits.append(lk.OrdinalLogisticRegression(link=link).fit(X, y, sample_weight=w))
    numpy_fit, compiled_fit = fits
    np.testing.assert_allclose(compiled_fit.coef_, numpy_fit.coef_, rtol=1e-10)
    np.testing.assert_allclose(compiled_fit.thresholds_, numpy_fit.thresholds_, rtol=1e-10)
    np.testing.assert_allclose(compiled_fit.covariance_.to_numpy(),
                               numpy_fit.covariance_.to_numpy(), rtol=1e-9)
    assert compiled_fit.result_.objective_value == pytest.approx(
        numpy_fit.result_.objective_value, rel=1e-12)
    assert compiled_fit.n_passes_ == numpy_fit.n_passes_


def test_cloglog_ends_against_mpmath():
    """f(b)/P = e^b / D and f(a)/P = e^a e^t / D (t = e^a expm1(b - a), D = -expm1(t)):
    no exp of b - e^b - log P, which lost all precision once e^b is large (b = 40: e^b
    = 2.4e17, whose rounding moved the exponent by 32)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    a = np.array([41.0, 21.0, 3.0, 1.0, -3.0, -37.0, np.inf, 0.5])
    b = np.array([40.0, 20.0, 2.0, -30.0, -5.0, -38.0, 30.0, -np.inf])
    ends = LINKS["cloglog"].ends(a, b, 2)

    def S(x):  # survival function 1 - F = exp(-e^x)
        return mpmath.mpf(0) if x == np.inf else mpmath.exp(-mpmath.exp(mpmath.mpf(x)))

    def f(x):
        return mpmath.mpf(0) if abs(x) == np.inf else mpmath.exp(x - mpmath.exp(
            mpmath.mpf(x)))

    for i in range(len(a)):
        P = (mpmath.mpf(1) if b[i] == -np.inf else S(b[i])) - S(a[i])
        assert ends.log_p[i] == pytest.approx(float(mpmath.log(P)), rel=1e-13)
        assert ends.r_a[i] == pytest.approx(float(f(a[i]) / P), rel=1e-12, abs=1e-300)
        assert ends.r_b[i] == pytest.approx(float(f(b[i]) / P), rel=1e-12, abs=1e-300)
