"""Ordinal family: cumulative link (proportional odds) model.

P(Y <= j | x) = F(theta_j - eta), j = 0..K-2, with eta = x'b of shape (n, 1) and cut
points theta (the auxiliary parameters, K-1 of them, increasing). This is the
MASS::polr / Stata ologit sign convention. A row of class c has probability
F(a) - F(b) with a = theta_c - eta (+inf for the last class) and
b = theta_{c-1} - eta (-inf for the first).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import scipy.special as sc

from logitkit.backends import (
    clip_max,
    clip_min,
    device,
    get_namespace,
    log_expit,
    log_ndtr,
    log_one_minus_exp,
    ndtr_log_pdf,
)
from logitkit.families import ordinal_rows
from logitkit.families.base import EtaDerivatives, Family

# the ends where an infinite one is clipped: the density and its products are 0 there
_PROBIT_END = 1e100
# below this Phi is computed from its log (Phi(-30) = 5e-198, far from underflow)
_PROBIT_TAIL = -30.0
_CLOGLOG_END = 700.0
# the logit's product form is kept where log P is above this (P, its factors and f/P
# far from underflow); other rows take the log form
_LOGIT_PRODUCT_LOG_P = -600.0
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _namespace(x):
    """NumPy itself for a NumPy array (its functions without array_api_compat's
    wrappers: a pass calls them once per block), else the array's namespace."""
    return np if isinstance(x, np.ndarray) else get_namespace(x)


class Ends(NamedTuple):
    """Per-row terms of a cell (a, b] with loss l = -log(F(a) - F(b)).

    log_p: log P = log(F(a) - F(b)); r_a, r_b: f/P at each end (0 at an infinite end),
    so that dl/da = -r_a and dl/db = r_b. For order 2 (None otherwise), with l_xy the
    second derivatives of l: s_a = l_aa + l_ab, s_b = l_bb + l_ab and c = l_ab
    (what the eta-space Hessian and its cut-point blocks are made of).
    """

    log_p: Any
    r_a: Any = None
    r_b: Any = None
    s_a: Any = None
    s_b: Any = None
    c: Any = None


class Link:
    """A CDF F given through stable log forms: log F, log(1-F), log f and f'/f.

    :meth:`ends` and :meth:`log_prob` here are the generic forms built from them (four
    log CDFs and masks at the infinite ends per row); each link overrides them with
    cheaper closed forms of the same quantities (probit: two log CDFs per row, no masks),
    which the tests check against these."""

    name: str

    def log_cdf(self, x): ...
    def log_sf(self, x): ...
    def log_pdf(self, x): ...
    def dlog_pdf(self, x): ...
    def ppf(self, p: np.ndarray) -> np.ndarray: ...

    def ends(self, a, b, order: int) -> Ends:
        """The terms of the cells (a, b] up to ``order`` from the log forms; a may be
        +inf, b may be -inf."""
        xp = _namespace(a)
        log_p = self.log_prob(a, b)
        if order == 0:
            return Ends(log_p)
        has_a, has_b = xp.isfinite(a), xp.isfinite(b)
        a0 = xp.where(has_a, a, xp.zeros_like(a))
        b0 = xp.where(has_b, b, xp.zeros_like(b))
        never = xp.full_like(a, -math.inf)
        r_a = xp.exp(xp.where(has_a, self.log_pdf(a0) - log_p, never))
        r_b = xp.exp(xp.where(has_b, self.log_pdf(b0) - log_p, never))
        if order == 1:
            return Ends(log_p, r_a, r_b)
        c = -r_a * r_b
        s_a = r_a * r_a - self.dlog_pdf(a0) * r_a + c
        s_b = r_b * r_b + self.dlog_pdf(b0) * r_b + c
        return Ends(log_p, r_a, r_b, s_a, s_b, c)

    def log_prob(self, a, b):
        """log(F(a) - F(b)) for a > b, from the CDF side or the survival side."""
        xp = _namespace(a)
        lower = self.log_cdf(a) + log_one_minus_exp(self.log_cdf(b) - self.log_cdf(a))
        upper = self.log_sf(b) + log_one_minus_exp(self.log_sf(a) - self.log_sf(b))
        return xp.where(a + b > 0, upper, lower)


class LogitLink(Link):
    name = "logit"

    def log_cdf(self, x):
        return log_expit(x)

    def log_sf(self, x):
        return log_expit(-x)

    def log_pdf(self, x):
        return log_expit(x) + log_expit(-x)

    def dlog_pdf(self, x):
        xp = _namespace(x)
        return -xp.tanh(0.5 * x)

    def ppf(self, p):
        return sc.logit(p)

    def ends(self, a, b, order: int) -> Ends:
        """NumPy: :meth:`_product_ends` where its products stay normal numbers, the log
        forms (:meth:`_log_ends`) on the other rows; torch: the log forms."""
        if not isinstance(a, np.ndarray):
            return self._log_ends(a, b, order)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            ends = self._product_ends(a, b, order)
            far = ~(ends.log_p > _LOGIT_PRODUCT_LOG_P)  # nan too
            if far.any():
                for mine, theirs in zip(ends, self._log_ends(a[far], b[far], order), strict=True):
                    if mine is not None:
                        mine[far] = theirs
        return ends

    def _product_ends(self, a, b, order: int) -> Ends:
        """Two exps, an expm1 and a log per row, and products: P = sigma(a) sigma(-b)
        (1 - e^(b-a)) (each factor to its relative precision, so P is, narrow and far
        cells alike), f(a)/P = (1 - sigma(a)) / (sigma(-b) (1 - e^(b-a))) and
        f(b)/P = sigma(b) / (sigma(a) (1 - e^(b-a))), with 1 - sigma(a) = e^-a sigma(a)
        and sigma(b) = e^b sigma(-b); the infinite ends give exactly 0 there. Rows where
        e^-a or e^b overflows, or P nears underflow, come out non-finite or below
        _LOGIT_PRODUCT_LOG_P, for :meth:`ends` to redo."""
        e_a, e_b = np.exp(-a), np.exp(b)
        sig_a = 1.0 / (1.0 + e_a)  # sigma(a)
        sig_nb = 1.0 / (1.0 + e_b)  # sigma(-b)
        gap = -np.expm1(b - a)  # 1 - e^(b-a)
        p = sig_a * sig_nb
        p *= gap
        log_p = np.log(p)
        if order == 0:
            return Ends(log_p)
        e_a *= sig_a  # 1 - sigma(a)
        e_b *= sig_nb  # sigma(b)
        r_a = e_a / (sig_nb * gap)
        r_b = e_b / (sig_a * gap)
        if order == 1:
            return Ends(log_p, r_a, r_b)
        sig_a *= e_a  # f(a)
        sig_nb *= e_b  # f(b)
        return Ends(log_p, r_a, r_b, sig_a, sig_nb, -r_a * r_b)

    def _log_ends(self, a, b, order: int) -> Ends:
        """Closed forms with one exp and one log1p per end and no special cases at the
        infinite ends. With u = log1p(exp(-|x|)): log sigma(x) = min(x, 0) - u,
        log sigma(-x) = -max(x, 0) - u and log f(x) = -|x| - 2u;
        log P = log sigma(a) + log sigma(-b) + log(-expm1(b - a)) (DESIGN.md rule 3).
        For the logistic f' = f (1 - 2 sigma), which makes s_a = f(a), s_b = f(b)."""
        xp = _namespace(a)
        abs_a, abs_b = xp.abs(a), xp.abs(b)
        u_a = xp.log1p(xp.exp(-abs_a))
        u_b = xp.log1p(xp.exp(-abs_b))
        log_p = (clip_max(a, 0.0) - clip_min(b, 0.0) - u_a - u_b
                 + xp.log(-xp.expm1(b - a)))
        if order == 0:
            return Ends(log_p)
        log_f_a = -abs_a - 2.0 * u_a
        log_f_b = -abs_b - 2.0 * u_b
        r_a = xp.exp(log_f_a - log_p)
        r_b = xp.exp(log_f_b - log_p)
        if order == 1:
            return Ends(log_p, r_a, r_b)
        return Ends(log_p, r_a, r_b, xp.exp(log_f_a), xp.exp(log_f_b), -r_a * r_b)

    def log_prob(self, a, b):
        """log(sigma(a) - sigma(b)) = log_sigmoid(a) + log_sigmoid(-b) + log(1 - e^(b-a))."""
        xp = _namespace(a)
        with np.errstate(invalid="ignore"):
            gap = xp.where(xp.isinf(a) | xp.isinf(b), xp.full_like(a, -math.inf), b - a)
        return log_expit(a) + log_expit(-b) + log_one_minus_exp(gap)


class ProbitLink(Link):
    name = "probit"

    def log_cdf(self, x):
        return log_ndtr(x)

    def log_sf(self, x):
        return log_ndtr(-x)

    def log_pdf(self, x):
        return ndtr_log_pdf(x)

    def dlog_pdf(self, x):
        return -x

    def ppf(self, p):
        return sc.ndtri(p)

    def log_prob(self, a, b):
        """log(Phi(a) - Phi(b)): a cell in the upper half is mirrored to the lower one
        (Phi(a) - Phi(b) = Phi(-b) - Phi(-a)), so that its lower end lo <= 0 and
        Phi(lo) keeps its relative precision. NumPy then takes two CDFs, the upper end's
        in its smaller tail, T = Phi(-|hi|): log(T - Phi(lo)) for hi <= 0 and
        log1p(-(T + Phi(lo))) for hi > 0 (P >= 1/2 there: no log of a number near 1),
        except where Phi(hi) nears underflow (hi < -30), where it takes the log form
        log Phi(hi) + log(1 - exp(log Phi(lo) - log Phi(hi))); torch always takes the log
        form (no data-dependent control flow)."""
        return self._cell(a, b)[0]

    def _cell(self, a, b):
        """(log P, P or None): :meth:`log_prob`, and on NumPy P itself (T - Phi(lo) or
        1 - (T + Phi(lo)); nan on the log form's rows)."""
        xp = _namespace(a)
        with np.errstate(invalid="ignore"):
            flip = a + b > 0  # (+inf) + (-inf) is nan: no flip, as wanted
        hi, lo = xp.where(flip, -b, a), xp.where(flip, -a, b)
        if not isinstance(hi, np.ndarray):
            return self._log_difference(hi, lo), None
        tail, lower = sc.ndtr(-np.abs(hi)), sc.ndtr(lo)
        upper_half = hi > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = np.where(upper_half, np.log1p(-(tail + lower)), np.log(tail - lower))
            p = np.where(upper_half, 1.0 - (tail + lower), tail - lower)
        far = hi < _PROBIT_TAIL
        if far.any():
            log_p[far] = self._log_difference(hi[far], lo[far])
            p[far] = math.nan
        return log_p, p

    def _log_difference(self, hi, lo):
        """log(Phi(hi) - Phi(lo)) from log CDFs, hi > lo, hi + lo <= 0."""
        xp = _namespace(hi)
        log_hi = log_ndtr(hi)
        with np.errstate(divide="ignore"):
            return log_hi + xp.log(-xp.expm1(log_ndtr(lo) - log_hi))

    def ends(self, a, b, order: int) -> Ends:
        """Two CDFs (:meth:`log_prob`), a log and two exps per row; the density's slope is
        -x. f/P = phi / P on NumPy, exp(log phi - log P) on the log form's rows and on
        torch (the exp of a difference of numbers near a^2 / 2 lost up to 3e-12 of the
        Hessian terms at 17 sigma, against mpmath). An infinite end is clipped to +-1e100,
        where phi underflows to exactly 0, so no masks are needed."""
        log_p, p = self._cell(a, b)
        if order == 0:
            return Ends(log_p)
        xp = _namespace(a)
        a, b = clip_max(a, _PROBIT_END), clip_min(b, -_PROBIT_END)
        if p is None:
            r_a = xp.exp(-0.5 * a * a - (_LOG_SQRT_2PI + log_p))
            r_b = xp.exp(-0.5 * b * b - (_LOG_SQRT_2PI + log_p))
        else:
            with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
                r_a = np.exp(-0.5 * a * a) * _INV_SQRT_2PI / p
                r_b = np.exp(-0.5 * b * b) * _INV_SQRT_2PI / p
            log_form = ~(p > 0)  # far rows (nan) and empty cells
            if log_form.any():
                log_a = -0.5 * a[log_form] ** 2 - (_LOG_SQRT_2PI + log_p[log_form])
                log_b = -0.5 * b[log_form] ** 2 - (_LOG_SQRT_2PI + log_p[log_form])
                r_a[log_form], r_b[log_form] = np.exp(log_a), np.exp(log_b)
        if order == 1:
            return Ends(log_p, r_a, r_b)
        c = -r_a * r_b
        return Ends(log_p, r_a, r_b, r_a * (r_a + a) + c, r_b * (r_b - b) + c, c)


class CloglogLink(Link):
    """F(x) = 1 - exp(-exp(x)), the complementary log-log (proportional hazards) link."""

    name = "cloglog"

    def log_cdf(self, x):
        xp = _namespace(x)
        return log_one_minus_exp(-xp.exp(x))

    def log_sf(self, x):
        xp = _namespace(x)
        return -xp.exp(x)

    def log_pdf(self, x):
        xp = _namespace(x)
        return x - xp.exp(x)

    def dlog_pdf(self, x):
        xp = _namespace(x)
        return 1.0 - xp.exp(x)

    def ppf(self, p):
        return np.log(-np.log1p(-p))

    def log_prob(self, a, b):
        """log(F(a) - F(b)) = log(S(b) - S(a)) = -e^b + log(1 - exp(-(e^a - e^b))) with
        e^a - e^b = -e^a expm1(b - a): exact in both tails, infinite ends included."""
        xp = _namespace(a)
        return self._log_prob(a, b, xp.exp(a), xp.exp(b))

    def _log_prob(self, a, b, exp_a, exp_b):
        xp = _namespace(a)
        with np.errstate(divide="ignore"):
            return xp.log(-xp.expm1(exp_a * xp.expm1(b - a))) - exp_b

    def ends(self, a, b, order: int) -> Ends:
        """With t = -(e^a - e^b) = e^a expm1(b - a) and D = -expm1(t) = P / S(b):
        log P = log D - e^b, f(b)/P = e^b / D (the hazard over D) and f(a)/P =
        e^a e^t / D; the density's slope is 1 - e^x, so that l_bb + l_ab = f(b)/P
        (1 + e^b e^t / D) + l_ab without the cancellation of f(b)/P - e^b. Two exps
        for e^a, e^b, two expm1, an exp and a log per row, no exp of a difference of
        large numbers. An infinite a is clipped to 700 (F = 1 and f = 0 exactly there, and
        e^700 is finite), so no masks are needed."""
        xp = _namespace(a)
        a = clip_max(a, _CLOGLOG_END)
        exp_a, exp_b = xp.exp(a), xp.exp(b)
        t = exp_a * xp.expm1(b - a)
        D = -xp.expm1(t)
        with np.errstate(divide="ignore"):
            log_p = xp.log(D) - exp_b
        if order == 0:
            return Ends(log_p)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = xp.exp(t) / D  # S(a) / P
        r_a = exp_a * g
        r_b = exp_b / D
        if order == 1:
            return Ends(log_p, r_a, r_b)
        c = -r_a * r_b
        return Ends(log_p, r_a, r_b, r_a * (r_a - 1.0 + exp_a) + c,
                    r_b * (1.0 + exp_b * g) + c, c)


class _Derivatives(EtaDerivatives):
    """EtaDerivatives whose ``grad_aux_rows`` may be given as a function that forms
    them on first read: only the sandwich variances' score products read them."""

    _rows = None

    @property
    def grad_aux_rows(self):
        if callable(self._rows):
            self._rows = self._rows()
        return self._rows

    @grad_aux_rows.setter
    def grad_aux_rows(self, value):
        self._rows = value


def _at_ends(codes, upper, lower, q):
    """(n, q): row i holds upper[i] at its class's upper cut point (column codes[i], if
    < q) and lower[i] at its lower one (column codes[i] - 1, if >= 0), zeros elsewhere.
    NumPy scatters into one (n, q + 2) array; torch multiplies a one-hot (no
    data-dependent control flow: a CUDA graph can hold it)."""
    if isinstance(upper, np.ndarray):
        out = np.zeros((len(codes), q + 2))
        flat, first = out.reshape(-1), np.arange(len(codes)) * (q + 2) + codes
        flat[first + 1] = upper  # column c + 1 of the padded array is theta_c
        flat[first] = lower
        return out[:, 1 : q + 1]
    onehot = _onehot(codes, q + 1, upper)
    return onehot[:, :q] * upper[:, None] + onehot[:, 1:] * lower[:, None]


def _onehot(codes, K, like):
    xp = get_namespace(like)
    levels = xp.arange(K, device=device(like))
    return xp.astype(codes[:, None] == levels[None, :], like.dtype)


def _least_loss(log_p, w) -> float:
    """min -log P over the rows with w > 0 (inf if none): the separation check's largest
    fitted probability of a row's own class, a by-product of the pass."""
    return -float(np.max(log_p, where=w > 0, initial=-math.inf))


def _class_sums(codes, columns, K):
    """(K, len(columns)) per-class sums of each (n,) column: bincounts in NumPy, a
    one-hot product in torch."""
    if isinstance(columns[0], np.ndarray):
        return np.stack([np.bincount(codes, weights=c, minlength=K) for c in columns], axis=1)
    xp = get_namespace(columns[0])
    return _onehot(codes, K, columns[0]).T @ xp.stack(columns, axis=1)


LINKS = {link.name: link for link in (LogitLink(), ProbitLink(), CloglogLink())}


class Ordinal(Family):
    name = "ordinal"

    def __init__(self, link: str = "logit"):
        self.link = link
        self._F = LINKS[link]

    def n_eta(self, n_classes):
        return 1

    def n_aux(self, n_classes):
        return n_classes - 1

    def slope_gram(self, n_classes):
        return np.ones((1, 1))

    def _bounds(self, eta, aux, y):
        """a = theta_c - eta and b = theta_{c-1} - eta, infinite beyond the ends; (n,) each."""
        xp = get_namespace(eta)
        inf = xp.full((1,), math.inf, dtype=eta.dtype, device=device(eta))
        cuts = xp.concat([-inf, aux, inf])
        codes = xp.astype(y, xp.int64, copy=False)
        z = eta[:, 0]
        return cuts[codes + 1] - z, cuts[codes] - z, codes

    def _log_prob(self, a, b):
        """log(F(a) - F(b)) for a > b (stable forms in :meth:`Link.log_prob`)."""
        return self._F.log_prob(a, b)

    def derivatives(self, eta, aux, y, w, order):
        if isinstance(eta, np.ndarray):
            return self._host_derivatives(eta, aux, y, w, order)
        xp = get_namespace(eta)
        a, b, codes = self._bounds(eta, aux, y)
        with np.errstate(invalid="ignore"):
            ends = self._F.ends(a, b, order)
        loss = -xp.sum(w * ends.log_p)
        if order == 0:
            return EtaDerivatives(loss=loss)
        q = aux.shape[0]
        w_a, w_b = w * ends.r_a, w * ends.r_b
        # a row of class c has theta_c as its upper end (a) and theta_{c-1} as its lower
        # end (b); the per-row cut-point scores (n, q) are formed only if read
        out = _Derivatives(loss=loss, grad_eta=(w_a - w_b)[:, None])
        out.grad_aux_rows = partial(_at_ends, codes, -w_a, w_b, q)
        sums = _class_sums(codes, (w_a, w_b), q + 1)  # (q+1, 2)
        out.grad_aux = sums[1:, 1] - sums[:q, 0]
        if order >= 2:
            h_a, h_b, h_ab = w * ends.s_a, w * ends.s_b, w * ends.c
            out.hess_eta_diag = (h_a + h_b)[:, None]
            out.hess_eta = out.hess_eta_diag[:, :, None]
            out.hess_eta_aux = _at_ends(codes, -h_a, -h_b, q)[:, None, :]
            # the cut points' Hessian is tridiagonal: per-class sums of l_aa, l_bb, l_ab
            sums = _class_sums(codes, (h_a - h_ab, h_b - h_ab, h_ab), q + 1)  # (q+1, 3)
            idx = xp.arange(q, device=device(eta))
            hess_aux = xp.zeros((q, q), dtype=eta.dtype, device=device(eta))
            hess_aux[idx, idx] = sums[:q, 0] + sums[1:, 1]
            hess_aux[idx[1:], idx[:-1]] = sums[1:q, 2]
            hess_aux[idx[:-1], idx[1:]] = sums[1:q, 2]
            out.hess_aux = hess_aux
        return out

    def _host_derivatives(self, eta, aux, y, w, order):
        """:meth:`derivatives` on NumPy arrays: the same quantities in fewer calls (no
        namespace wrappers, one bincount per per-class sum), as a pass makes one call per
        block of rows."""
        q = aux.shape[0]
        codes = y if y.dtype == np.intp else y.astype(np.intp)
        z = eta[:, 0]
        if order >= 1 and ordinal_rows.supports(self.link) and eta.dtype == np.float64:
            out = self._compiled_derivatives(z, aux, codes, w, order)
            if out is not None:
                return out
        cuts = np.concatenate([[-math.inf], aux, [math.inf]])
        a, b = cuts[1:][codes] - z, cuts[codes] - z
        with np.errstate(invalid="ignore"):
            ends = self._F.ends(a, b, order)
        loss = -np.dot(w, ends.log_p)
        least = _least_loss(ends.log_p, w)
        if order == 0:
            return EtaDerivatives(loss=loss, least_loss=least)
        w_a, w_b = w * ends.r_a, w * ends.r_b
        out = _Derivatives(loss=loss, grad_eta=(w_a - w_b)[:, None], least_loss=least)
        out.grad_aux_rows = partial(_at_ends, codes, -w_a, w_b, q)
        K = q + 1
        out.grad_aux = (np.bincount(codes, w_b, K)[1:] - np.bincount(codes, w_a, K)[:q])
        if order >= 2:
            h_a, h_b, h_ab = w * ends.s_a, w * ends.s_b, w * ends.c
            out.hess_eta_diag = (h_a + h_b)[:, None]
            out.hess_eta = out.hess_eta_diag[:, :, None]
            out.hess_eta_aux = _at_ends(codes, -h_a, -h_b, q)[:, None, :]
            # the cut points' Hessian is tridiagonal: per-class sums of l_aa, l_bb, l_ab
            h_a -= h_ab
            h_b -= h_ab
            diagonal = np.bincount(codes, h_a, K)[:q] + np.bincount(codes, h_b, K)[1:]
            off = np.bincount(codes, h_ab, K)[1:q]
            out.hess_aux = np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)
        return out

    def _compiled_derivatives(self, z, aux, codes, w, order):
        """:meth:`_host_derivatives` from :mod:`~logitkit.families.ordinal_rows`' loop;
        None where a row needs the NumPy forms."""
        q = aux.shape[0]
        terms = ordinal_rows.block_terms(
            np.ascontiguousarray(z), codes, np.asarray(w, dtype=np.float64),
            np.ascontiguousarray(aux, dtype=np.float64), self.link, order)
        if terms is None:
            return None
        loss, least, w_a, w_b, V, sums = terms
        out = _Derivatives(loss=loss, grad_eta=V[:, :1], grad_aux=sums[:q], least_loss=least)
        out.grad_aux_rows = partial(_at_ends, codes, -w_a, w_b, q)
        if order >= 2:
            out.hess_eta_diag = V[:, 1:2]
            out.hess_eta = V[:, 1:2, None]
            out.hess_eta_aux = V[:, None, 2 : q + 2]
            off = sums[2 * q : 3 * q - 1]
            out.hess_aux = np.diag(sums[q : 2 * q]) + np.diag(off, 1) + np.diag(off, -1)
        return out

    def observed_log_proba(self, eta, aux, y):
        """(n,) log probability of each row's own class y."""
        a, b, _ = self._bounds(eta, aux, y)
        with np.errstate(invalid="ignore"):
            return self._F.ends(a, b, 0).log_p

    def predict_proba(self, eta, aux):
        xp = get_namespace(eta)
        inf = xp.full((1,), math.inf, dtype=eta.dtype, device=device(eta))
        cuts = xp.concat([-inf, aux, inf])
        a = cuts[None, 1:] - eta  # (n, K)
        b = cuts[None, :-1] - eta
        with np.errstate(invalid="ignore"):
            return xp.exp(self._log_prob(a, b))

    def predict_class(self, eta, aux):
        """(n,) the most probable class, from differences of the CDF at the cut points
        (a few kernels per minibatch step rather than the log probabilities): the largest
        probability is at least 1/K, so rounding can only decide near-ties."""
        xp = get_namespace(eta)
        F = xp.exp(self._F.log_cdf(aux[None, :] - eta))  # (n, K-1): P(Y <= j)
        P = xp.concat([F[:, :1], F[:, 1:] - F[:, :-1], 1.0 - F[:, -1:]], axis=1)
        return xp.argmax(P, axis=1)

    def null_parameters(self, class_weights_sum):
        counts = np.asarray(class_weights_sum, dtype=float)
        cum = np.cumsum(counts)[:-1] / counts.sum()
        return np.zeros(0), self._F.ppf(cum)
