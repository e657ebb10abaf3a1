"""The probit and cloglog closed forms of the ordinal cells equal the generic ones built
from each link's log CDF, survival, density and density slope, and stay finite where
the generic ones meet inf * 0."""

import numpy as np
import pytest

from logitkit.families import Ordinal
from logitkit.families.ordinal import LINKS, Link


def _cells(rng):
    lower = rng.normal(scale=3, size=400)
    b = np.concatenate([[-np.inf, -np.inf], lower, [3.0, -np.inf]])
    a = np.concatenate([[0.5, -30.0], lower + rng.exponential(1.5, size=400), [np.inf, 7.0]])
    return a, b


def _assert_lower_orders_are_prefixes(F, a, b, full):
    """F.ends at orders 0 and 1 equal the first 1 and 3 fields of ``full`` (order 2)
    exactly, and leave the others None."""
    for order, fields in ((0, 1), (1, 3)):
        lower_order = F.ends(a, b, order)
        for x, y in zip(lower_order[:fields], full[:fields], strict=True):
            np.testing.assert_array_equal(x, y)
        assert all(x is None for x in lower_order[fields:])


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_closed_forms_equal_the_generic_link_terms(link):
    a, b = _cells(np.random.default_rng(0))
    F = LINKS[link]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        generic = Link.ends(F, a, b, 2)
        # the generic log P, from the CDF side or the survival side
        lower = F.log_cdf(a) + np.log(-np.expm1(F.log_cdf(b) - F.log_cdf(a)))
        upper = F.log_sf(b) + np.log(-np.expm1(F.log_sf(a) - F.log_sf(b)))
        log_p = np.where(a + b > 0, upper, lower)
    np.testing.assert_allclose(F.log_prob(a, b), log_p, rtol=1e-12, atol=1e-300)
    closed = F.ends(a, b, 2)
    for name, x, y in zip(closed._fields, closed, generic, strict=True):
        assert np.all(np.isfinite(x)), name
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-12, err_msg=name)
    _assert_lower_orders_are_prefixes(F, a, b, closed)


def test_logit_product_form_equals_its_log_form():
    """NumPy's logit cells come from products of sigmoids, rows beyond them (e^-a or e^b
    overflowing, P near underflow) from the log forms: both agree everywhere, finite."""
    a, b = _cells(np.random.default_rng(2))
    far_b = np.array([-800.0, 700.0, 740.0, -np.inf, 30.0, 400.0, 699.9, -1e-9])
    far_a = np.array([-790.0, 720.0, np.inf, -745.0, 30.0000001, 400.5, 700.0, 1e-9])
    a, b = np.concatenate([a, far_a]), np.concatenate([b, far_b])
    F = LINKS["logit"]
    product, logs = F.ends(a, b, 2), F._log_ends(a, b, 2)
    for name, x, y in zip(product._fields, product, logs, strict=True):
        assert np.all(np.isfinite(x)), name
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-300, err_msg=name)
    _assert_lower_orders_are_prefixes(F, a, b, product)


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_the_far_tails_give_finite_derivatives(link):
    """Margins of hundreds (a separated fit's): P = 1 or a tiny cell, every derivative
    finite (the generic cloglog form made the Hessian nan there: inf * 0)."""
    fam = Ordinal(link)
    eta = np.array([[-300.0], [-300.0], [300.0], [300.0], [0.0]])
    y = np.array([0, 2, 2, 0, 1])
    der = fam.derivatives(eta, np.array([-1.0, 1.0]), y, np.ones(5), 2)
    for value in (der.loss, der.grad_eta, der.grad_aux, der.hess_eta, der.hess_aux):
        assert np.all(np.isfinite(value))
    # rows whose class holds all the mass contribute nothing
    assert np.all(np.abs(der.grad_eta[[0, 2], 0]) < 1e-100)
    assert np.all(np.abs(der.hess_eta[[0, 2]]) < 1e-100)


@pytest.mark.parametrize(("link", "rtol"), [("probit", 1e-9), ("cloglog", 1e-12)])
def test_torch_ends_match_numpy(link, rtol):
    """torch takes probit's log-CDF form everywhere, NumPy its CDF form: in narrow far
    cells (width 0.005 at 5.6 sigma) the Hessian terms differ by 1e-10 relative, NumPy's
    the closer to the exact value (1.6e-11 against 8.7e-11, by mpmath)."""
    torch = pytest.importorskip("torch")
    a, b = _cells(np.random.default_rng(1))
    F = LINKS[link]
    expected = F.ends(a, b, 2)
    got = F.ends(torch.from_numpy(a), torch.from_numpy(b), 2)
    for x, y in zip(got, expected, strict=True):
        np.testing.assert_allclose(x.numpy(), y, rtol=rtol, atol=1e-300)


def test_probit_far_tail_cells_keep_their_log_probability():
    """Cells beyond -30 sigma (where Phi nears underflow) and cells holding almost all
    the mass, against mpmath."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    a = np.array([-35.0, -40.0, 40.0, 8.0, 0.3, np.inf, -30.5])
    b = np.array([-36.0, -np.inf, 35.0, -8.5, 0.2999, 38.0, -31.0])
    got = LINKS["probit"].log_prob(a, b)
    for x, hi, lo in zip(got, a, b, strict=True):
        hi, lo = (-lo, -hi) if hi + lo > 0 else (hi, lo)  # mpmath's Phi(35) is 1 at 50 digits
        exact = mpmath.log(mpmath.ncdf(mpmath.mpf(hi)) - mpmath.ncdf(mpmath.mpf(lo)))
        assert x == pytest.approx(float(exact), rel=1e-12)
