"""The ordinal family's per-row terms in compiled loops (numba, ``logitkit[fast]``).

:meth:`Ordinal._host_derivatives` forms a block's cell terms with NumPy ufuncs: about 40
calls for a probit Hessian block, most of them a sweep over the block into a temporary,
then bincounts for the cut points' sums and a scatter for the cut-point columns. At a
pass's block sizes (a few thousand rows) that costs several times the link's
transcendentals. Here a block takes two compiled sweeps with the transcendentals in
between, in NumPy's vectorised ufuncs (numba calls the scalar libm functions: a loop
that computed them itself took 61 ns a row for probit values against NumPy's 51; the
log of log P stays in the loop, where it saves a sweep and the least loss's masked max):
:func:`_ends` writes their arguments per row; NumPy computes exp and expm1 for logit,
Phi (scipy's ``ndtr``) and exp for probit, exp and expm1 for cloglog; :func:`_rows` then
forms each row's weighted f/P at both ends, its eta-space Hessian and cut-point columns,
and adds the cut points' gradient and tridiagonal Hessian sums, and log P's weighted sum
(the loss) and the least row loss (the separation check's largest fitted probability).
The forms are :mod:`logitkit.families.ordinal`'s (logit's product form; probit's
mirrored two-CDF form with f/P = phi / P; cloglog's), so the paths agree to rounding
(tests/test_ordinal_rows.py); sums add in row order.

A row that the NumPy path takes through another form (logit's log form where log P <=
-600; probit's log-CDF form, the cell's larger end below -30 sigma), or whose P is not
positive or terms not finite, makes the loops stop: that block is computed with NumPy.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc

from logitkit.solvers import compiled_loop

LINK_CODES = {"logit": 0, "probit": 1, "cloglog": 2}
# the NumPy path's constants (logitkit.families.ordinal)
_LOGIT_PRODUCT_LOG_P = -600.0
_PROBIT_TAIL = -30.0
_PROBIT_END = 1e100
_CLOGLOG_END = 700.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def supports(link: str) -> bool:
    """Whether gradient and Hessian blocks of this link take the compiled loops: with
    numba installed and not switched off (``LOGITKIT_NUMBA=0``). Values alone (order 0)
    stay in NumPy: on a block of 3,125 rows (one thread) they took 17-18 ns a row there
    against 20 here (logit, cloglog), probit's 46 against 44."""
    return link in LINK_CODES and compiled_loop.available()


def block_terms(z, codes, w, cuts, link: str, order: int):
    """The terms of a block of rows, or None where a row needs the NumPy forms.

    z (b,) float64 linear predictor, codes (b,) intp classes 0..q, w (b,) float64 weights,
    cuts (q,) float64 cut points, order 1 or 2. Returns (loss, least, wa, wb, V, sums):
    loss = -sum w log P; least = min -log P over rows with w > 0 (inf if none); wa, wb
    (b,) = w f(a)/P, w f(b)/P; V (b, q + 4) for order 2, (b, 3) for order 1, whose first
    columns are w dl/deta, then for order 2 w d2l/deta2 and the q columns of
    d2l/deta dtheta (:func:`_rows`); sums (3 q,): the cut points' gradient, their
    Hessian's diagonal and (q - 1 entries) off-diagonal sums.
    """
    q, b = cuts.shape[0], z.shape[0]
    ends, rows = _kernels()
    # V: [w dl/deta, w d2l/deta2, w d2l/deta dtheta (q columns), w f(a)/P, w f(b)/P]
    V = np.empty((b, q + 4 if order >= 2 else 3))
    sums = np.zeros(3 * q)
    args = np.empty((4, b))
    code = LINK_CODES[link]
    if not ends(z, codes, cuts, code, args):
        return None
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        if code == 0:  # logit: e^-a, e^b, expm1(b - a)
            np.exp(args[:2], out=args[:2])
            np.expm1(args[2], out=args[2])
        elif code == 1:  # probit: Phi(-|hi|), Phi(lo), exp(-a^2/2), exp(-b^2/2)
            sc.ndtr(args[:2], out=args[:2])
            np.exp(args[2:], out=args[2:])
        else:  # cloglog: e^a, e^b, then t = e^a expm1(b - a), exp(t), expm1(t)
            np.exp(args[:2], out=args[:2])
            np.expm1(args[2], out=args[2])
            np.multiply(args[0], args[2], out=args[2])
            np.expm1(args[2], out=args[3])
            np.exp(args[2], out=args[2])
    ok, loss, least = rows(z, codes, w, cuts, code, order, args, V, sums)
    if not ok:
        return None
    if order >= 2:
        return loss, least, V[:, q + 2], V[:, q + 3], V, sums
    return loss, least, V[:, 1], V[:, 2], V, sums


_KERNELS = None


def _kernels():
    """(_ends, _rows) compiled on first use under compiled_loop's lock (cached on disk)."""
    global _KERNELS, _cell_ends
    with compiled_loop._LOCK:
        if _KERNELS is None:
            import numba

            jit = numba.njit(cache=True, nogil=True)
            _cell_ends = jit(_cell_ends)
            _KERNELS = jit(_ends), jit(_rows)
    return _KERNELS


def _cell_ends(cuts, k, zi):
    """(a, b) of a row of class k at linear predictor zi (+inf, -inf beyond the ends)."""
    q = cuts.shape[0]
    a = cuts[k] - zi if k < q else math.inf
    b = cuts[k - 1] - zi if k > 0 else -math.inf
    return a, b


def _ends(z, codes, cuts, link, args):
    """The arguments of the link's vectorised transcendentals, per row, into args (4, b):
    probit -|hi|, lo (the mirrored cell, as ProbitLink.log_prob), -a^2/2, -b^2/2 (ends
    clipped to +-1e100); cloglog a (clipped to 700), b, b - a. False (args incomplete)
    at the first row that needs the NumPy path's log-CDF form (probit, hi < -30) or
    whose ends are not numbers."""
    for i in range(z.shape[0]):
        a, b = _cell_ends(cuts, codes[i], z[i])
        if link == 0:
            args[0, i] = -a
            args[1, i] = b
            args[2, i] = b - a
        elif link == 1:
            flip = a + b > 0.0
            hi = -b if flip else a
            if not hi >= _PROBIT_TAIL:
                return False
            args[0, i] = -abs(hi)
            args[1, i] = -a if flip else b
            a = min(a, _PROBIT_END)
            b = max(b, -_PROBIT_END)
            args[2, i] = -0.5 * a * a
            args[3, i] = -0.5 * b * b
        else:
            a = min(a, _CLOGLOG_END)
            if not a > b:
                return False
            args[0, i] = a
            args[1, i] = b
            args[2, i] = b - a
    return True


def _rows(z, codes, w, cuts, link, order, args, V, sums):
    """The rows' terms from the transcendentals in args (see :func:`block_terms`):
    (ok, loss, least). log P is probit's log(T - Phi(lo)), or log1p(-(T + Phi(lo))) for
    hi > 0, as NumPy, and cloglog's log D - e^b. V's columns (order 2; order 1: the
    first and the last two): w dl/deta = wa - wb; w d2l/deta2 = w (s_a + s_b); q columns
    d2l/deta dtheta_j (-w s_a at j = c, -w s_b at j = c - 1, else 0); wa = w f(a)/P;
    wb = w f(b)/P (s_a, s_b, c as in :class:`~logitkit.families.ordinal.Ends`). Adds to
    sums[:q] the cut points' gradient (wb at c - 1, -wa at c) and for order 2 to
    sums[q:2q] the Hessian's diagonal (w (s_a - c) at c, w (s_b - c) at c - 1) and to
    sums[2q:] its off-diagonal (w c at c - 1 for 1 <= c < q). ok is False (outputs
    incomplete) at the first row whose P is not positive or whose terms are not finite:
    the NumPy path takes the block."""
    q = cuts.shape[0]
    total = 0.0
    least = math.inf
    last = V.shape[1] - 2  # wa's column
    for i in range(z.shape[0]):
        k = codes[i]
        a, b = _cell_ends(cuts, k, z[i])
        if link == 0:  # logit: LogitLink._product_ends
            e_a, e_b = args[0, i], args[1, i]
            sig_a = 1.0 / (1.0 + e_a)
            sig_nb = 1.0 / (1.0 + e_b)
            gap = -args[2, i]
            p = sig_a * sig_nb
            p *= gap
            log_p = math.log(p) if p > 0.0 else -math.inf
            if not log_p > _LOGIT_PRODUCT_LOG_P:
                return False, 0.0, least
            e_a *= sig_a
            e_b *= sig_nb
            r_a = e_a / (sig_nb * gap)
            r_b = e_b / (sig_a * gap)
            s_a = sig_a * e_a
            s_b = sig_nb * e_b
            c = -r_a * r_b
        elif link == 1:  # probit: P from the two CDFs, f/P = phi / P
            hi = -b if a + b > 0.0 else a
            tail, lower = args[0, i], args[1, i]
            if hi > 0.0:
                p = 1.0 - (tail + lower)
                log_p = math.log1p(-(tail + lower))
            else:
                p = tail - lower
                log_p = math.log(p) if p > 0.0 else -math.inf
            if not p > 0.0:
                return False, 0.0, least
            r_a = args[2, i] * _INV_SQRT_2PI / p
            r_b = args[3, i] * _INV_SQRT_2PI / p
            a = min(a, _PROBIT_END)
            b = max(b, -_PROBIT_END)
            c = -r_a * r_b
            s_a = r_a * (r_a + a) + c
            s_b = r_b * (r_b - b) + c
        else:  # cloglog: D = -expm1(t), g = exp(t) / D = S(a) / P
            exp_a, exp_b = args[0, i], args[1, i]
            d = -args[3, i]
            if not (d > 0.0 and exp_b < math.inf):
                return False, 0.0, least
            log_p = math.log(d) - exp_b
            g = args[2, i] / d
            r_a = exp_a * g
            r_b = exp_b / d
            c = -r_a * r_b
            s_a = r_a * (r_a - 1.0 + exp_a) + c
            s_b = r_b * (1.0 + exp_b * g) + c
        if not abs(s_a + s_b + log_p) < math.inf:  # (r_a, r_b, c or log P not finite)
            return False, 0.0, least
        wi = w[i]
        total += wi * log_p
        if wi > 0.0 and -log_p < least:
            least = -log_p
        w_a = wi * r_a
        w_b = wi * r_b
        V[i, 0] = w_a - w_b
        V[i, last] = w_a
        V[i, last + 1] = w_b
        if k < q:
            sums[k] -= w_a
        if k > 0:
            sums[k - 1] += w_b
        if order < 2:
            continue
        h_a = wi * s_a
        h_b = wi * s_b
        h_ab = wi * c
        V[i, 1] = h_a + h_b
        for j in range(q):
            V[i, 2 + j] = 0.0
        if k < q:
            V[i, 2 + k] = -h_a
            sums[q + k] += h_a - h_ab
        if k > 0:
            V[i, 1 + k] = -h_b
            sums[q + k - 1] += h_b - h_ab
            if k < q:
                sums[2 * q + k - 1] += h_ab
    return True, -total, least
