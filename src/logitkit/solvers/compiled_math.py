"""exp, log and log1p that the compiler vectorises, for the compiled passes (numba).

numba calls libm's scalar exp and log (its vectorised SVML versions need an LLVM that
pip's llvmlite is not built with), so a loop over rows that takes one exp and one log1p
a row ran a row at a time: 20-25 ns a row for the binary loss terms. These versions are
arithmetic, comparisons and bit operations only, which LLVM vectorises (four float64
lanes with AVX2) when their caller's loop has no branches: the same loss terms 7-8 ns a
row, one thread. Accuracy against NumPy's exp, log and log1p: at most 1 ulp over
millions of arguments spanning their ranges (tests/test_compiled_math.py).

- :func:`exp`: Cody-Waite reduction x = k ln 2 + r, |r| <= ln 2 / 2, a degree-13
  Taylor polynomial in r, and 2^k as two factors built from bits (so that subnormal
  results and overflow to inf come out right). k comes from the bits of x log2(e) +
  1.5 2^52, which rounds to an integer without a float-to-integer conversion (AVX2 has
  none for 64-bit integers, and LLVM would take the lanes apart).
- :func:`log` (positive normal x) and :func:`log1p_of` (t in [0, 1]): the exponent from
  the bits, the mantissa m in [sqrt(2)/2, sqrt(2)), and fdlibm's kernel for log(m) (s =
  f / (2 + f) and a degree-14 polynomial in s).

Compiled without fast-math reassociation: rounding to an integer by adding and
subtracting 1.5 2^52 is what reassociation would remove. LLVM inlines them into the
kernels and keeps each instruction's own flags. ``error_model="numpy"``: a division
does not check for zero (a check would be a branch in every lane).

This module imports numba: the kernels' modules import it when they compile.
"""

from __future__ import annotations

import numba
from numba import types
from numba.extending import intrinsic

jit = numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")

LOG2E = 1.4426950408889634
# ln 2 in two parts, the first with trailing zero bits (k ln2_hi is exact for |k| < 2^11)
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
SQRT2 = 1.4142135623730951
# adding 1.5 2^52 rounds a float of magnitude below 2^51 to an integer, kept in the
# low bits of the sum
SHIFT = 6755399441055744.0
SHIFT_BITS = 0x4338000000000000
MANTISSA = 0x000FFFFFFFFFFFFF
ONE_BITS = 0x3FF0000000000000
# the bits of +inf: larger than the bits of every finite non-negative float
INF_BITS = 0x7FF0000000000000
# fdlibm's e_log.c: log(1 + f) = f - f^2 / 2 + s (f^2 / 2 + R(s^2)), s = f / (2 + f)
LG1 = 6.666666666666735130e-01
LG2 = 3.999999999940941908e-01
LG3 = 2.857142874366239149e-01
LG4 = 2.222219843214978396e-01
LG5 = 1.818357216161805012e-01
LG6 = 1.531383769920937332e-01
LG7 = 1.479819860511658591e-01


@intrinsic
def bits_float(typingctx, bits):
    """The float64 whose bits are the int64 ``bits``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@intrinsic
def float_bits(typingctx, x):
    """The bits of the float64 ``x`` as an int64 (for non-negative x, ordered as x is:
    a loop's least non-negative value is an integer minimum, which vectorises where a
    float minimum with its NaN rules does not)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@jit
def exp(x):
    """e^x for float64 x (0 below -745.2, inf above 709.8; NaN gives NaN)."""
    x = min(max(x, -746.0), 710.0)
    shifted = x * LOG2E + SHIFT
    k = shifted - SHIFT
    r = (x - k * LN2_HI) - k * LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    whole = float_bits(shifted) - SHIFT_BITS
    half = whole >> 1
    return p * bits_float((half + 1023) << 52) * bits_float((whole - half + 1023) << 52)


@jit
def _log_reduced(f):
    """log(1 + f) for f in [sqrt(2)/2 - 1, sqrt(2) - 1] (fdlibm's kernel)."""
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    even = w * (LG2 + w * (LG4 + w * LG6))
    odd = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    half_square = 0.5 * f * f
    return f - (half_square - s * (half_square + (odd + even)))


@jit
def log(x):
    """ln x for positive normal float64 x."""
    bits = float_bits(x)
    mantissa = bits_float((bits & MANTISSA) | ONE_BITS)  # in [1, 2)
    big = mantissa > SQRT2
    m = mantissa * 0.5 if big else mantissa
    e = (bits >> 52) - (1022 if big else 1023)
    k = bits_float(e + SHIFT_BITS) - SHIFT  # e as a float, without a conversion
    return k * LN2_HI + (_log_reduced(m - 1.0) + k * LN2_LO)


@jit
def log1p_of(t, u, inv):
    """ln(1 + t) for t in [0, 1], given u = 1 + t (rounded) and inv = 1 / u: the rounding
    of 1 + t is added back as (t - (u - 1)) / u, so tiny t keep their digits."""
    big = u > SQRT2
    m = u * 0.5 if big else u
    k = 1.0 if big else 0.0
    return k * LN2_HI + (_log_reduced(m - 1.0) + (k * LN2_LO + (t - (u - 1.0)) * inv))
