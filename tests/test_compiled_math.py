"""The compiled passes' exp, log and log1p against NumPy's, in vectorised loops."""

import numpy as np
import pytest

pytest.importorskip("numba")

import numba  # noqa: E402

from logitkit.solvers import compiled_math as cm  # noqa: E402

loop = numba.njit(error_model="numpy")


@loop
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = cm.exp(x[i])


@loop
def _log_all(x, out):
    for i in range(x.shape[0]):
        out[i] = cm.log(x[i])


@loop
def _log1p_all(t, out):
    for i in range(t.shape[0]):
        u = 1.0 + t[i]
        out[i] = cm.log1p_of(t[i], u, 1.0 / u)


@loop
def _least_bits(x):
    least = cm.INF_BITS
    for i in range(x.shape[0]):
        least = min(least, cm.float_bits(x[i]))
    return cm.bits_float(least)


def _apply(kernel, x):
    out = np.empty_like(x)
    kernel(x, out)
    return out


def _ulps(got, want):
    return np.max(np.abs(got - want) / np.spacing(np.abs(want)))


def test_exp_within_one_ulp_over_its_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708, 709.7, 10**6), rng.uniform(-40, 2, 10**6),
                        rng.uniform(-1e-6, 1e-6, 10**5), [0.0, -0.0, 1e-300, 709.78]])
    assert _ulps(_apply(_exp_all, x), np.exp(x)) <= 1.0


def test_exp_subnormal_results_underflow_overflow_and_nan():
    rng = np.random.default_rng(1)
    x = rng.uniform(-745.2, -708.4, 10**5)
    want = np.exp(x)
    assert np.all(want < 2.3e-308)
    # subnormal results: within one unit of the last place a subnormal has
    assert np.max(np.abs(_apply(_exp_all, x) - want)) <= 5e-324
    got = _apply(_exp_all, np.array([-746.0, -1e4, -np.inf, 709.8, 1e4, np.inf, np.nan]))
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.0, np.inf, np.inf, np.inf, np.nan])


def test_log_within_one_ulp_on_positive_normals():
    rng = np.random.default_rng(2)
    x = np.concatenate([np.exp(rng.uniform(-700, 700, 10**6)), rng.uniform(1, 60, 10**6),
                        1 + rng.uniform(0, 1e-8, 10**5), 1 - rng.uniform(0, 1e-8, 10**5),
                        [2.2250738585072014e-308, 1.7976931348623157e308, 2.0, 0.5]])
    got, want = _apply(_log_all, x), np.log(x)
    assert _ulps(got, want) <= 1.0
    assert _apply(_log_all, np.array([1.0]))[0] == 0.0


def test_log1p_within_one_ulp_on_the_unit_interval():
    rng = np.random.default_rng(3)
    t = np.concatenate([np.exp(-rng.uniform(0, 745, 10**6)), rng.uniform(0, 1, 10**6),
                        [1.0, 5e-324, 1e-17, 2.0**-53, np.sqrt(2) - 1]])
    got, want = _apply(_log1p_all, t), np.log1p(t)
    assert _ulps(got, want) <= 1.0
    assert _apply(_log1p_all, np.array([0.0]))[0] == 0.0


def test_bits_order_non_negative_floats():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.exponential(size=1000), [0.0, 5e-324, 1e300]])
    assert _least_bits(x) == x.min()
    assert _least_bits(x[x > 1e-300]) == x[x > 1e-300].min()
    assert _least_bits(np.empty(0)) == np.inf
