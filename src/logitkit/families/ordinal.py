"""Ordinal family: cumulative link (proportional odds) model.

P(Y <= j | x) = F(theta_j - eta), j = 0..K-2, with eta = x'b of shape (n, 1) and cut
points theta (the auxiliary parameters, K-1 of them, increasing). This is the
MASS::polr / Stata ologit sign convention. A row of class c has probability
F(a) - F(b) with a = theta_c - eta (+inf for the last class) and
b = theta_{c-1} - eta (-inf for the first).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import scipy.special as sc

from logitkit.backends import (
    device,
    get_namespace,
    log_expit,
    log_ndtr,
    log_one_minus_exp,
    ndtr_log_pdf,
)
from logitkit.families.base import EtaDerivatives, Family


class Cell(NamedTuple):
    """Per-row terms of a cell (a, b]: log P, log f and f'/f at both ends."""

    log_p: Any
    log_pdf_a: Any
    log_pdf_b: Any
    dlog_pdf_a: Any
    dlog_pdf_b: Any


class Link:
    """A CDF F given through stable log forms: log F, log(1-F), log f and f'/f."""

    name: str

    def log_cdf(self, x): ...
    def log_sf(self, x): ...
    def log_pdf(self, x): ...
    def dlog_pdf(self, x): ...
    def ppf(self, p: np.ndarray) -> np.ndarray: ...

    def cell(self, a, b, a0, b0, has_a, has_b) -> Cell:
        """The log probability of the cells (a, b] and the log density and its slope at
        each end; a0, b0 are a and b with their infinite entries replaced by 0."""
        return Cell(self.log_prob(a, b), self.log_pdf(a0), self.log_pdf(b0),
                    self.dlog_pdf(a0), self.dlog_pdf(b0))

    def log_prob(self, a, b):
        """log(F(a) - F(b)) for a > b, from the CDF side or the survival side."""
        xp = get_namespace(a)
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
        xp = get_namespace(x)
        return -xp.tanh(0.5 * x)

    def ppf(self, p):
        return sc.logit(p)

    def cell(self, a, b, a0, b0, has_a, has_b) -> Cell:
        """Two log-sigmoids per row: log sigma(-x) = log sigma(x) - x, log f(x) =
        log sigma(x) + log sigma(-x) and f'/f (x) = 1 - 2 sigma(x)."""
        xp = get_namespace(a)
        log_sig_a, log_sig_b = log_expit(a0), log_expit(b0)
        upper = xp.where(has_a, log_sig_a, xp.zeros_like(a))  # log sigma(a); 0 at +inf
        lower = xp.where(has_b, log_sig_b - b0, xp.zeros_like(b))  # log sigma(-b); 0 at -inf
        gap = xp.where(has_a & has_b, b0 - a0, xp.full_like(a, -math.inf))
        log_p = upper + lower + log_one_minus_exp(gap)
        return Cell(log_p, 2.0 * log_sig_a - a0, 2.0 * log_sig_b - b0,
                    1.0 - 2.0 * xp.exp(log_sig_a), 1.0 - 2.0 * xp.exp(log_sig_b))

    def log_prob(self, a, b):
        """log(sigma(a) - sigma(b)) = log_sigmoid(a) + log_sigmoid(-b) + log(1 - e^(b-a))."""
        xp = get_namespace(a)
        with np.errstate(invalid="ignore"):
            gap = xp.where(xp.isinf(a) | xp.isinf(b), -math.inf, b - a)
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


class CloglogLink(Link):
    """F(x) = 1 - exp(-exp(x)), the complementary log-log (proportional hazards) link."""

    name = "cloglog"

    def log_cdf(self, x):
        xp = get_namespace(x)
        return log_one_minus_exp(-xp.exp(x))

    def log_sf(self, x):
        xp = get_namespace(x)
        return -xp.exp(x)

    def log_pdf(self, x):
        xp = get_namespace(x)
        return x - xp.exp(x)

    def dlog_pdf(self, x):
        xp = get_namespace(x)
        return 1.0 - xp.exp(x)

    def ppf(self, p):
        return np.log(-np.log1p(-p))


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
        codes = xp.astype(y, xp.int64)
        z = eta[:, 0]
        return cuts[codes + 1] - z, cuts[codes] - z, codes

    def _log_prob(self, a, b):
        """log(F(a) - F(b)) for a > b (stable forms in :meth:`Link.log_prob`)."""
        return self._F.log_prob(a, b)

    def derivatives(self, eta, aux, y, w, order):
        xp = get_namespace(eta)
        a, b, codes = self._bounds(eta, aux, y)
        has_a, has_b = xp.isfinite(a), xp.isfinite(b)
        a0 = xp.where(has_a, a, xp.zeros_like(a))
        b0 = xp.where(has_b, b, xp.zeros_like(b))
        with np.errstate(invalid="ignore"):
            cell = self._F.cell(a, b, a0, b0, has_a, has_b)
        log_p = cell.log_p
        out = EtaDerivatives(loss=-xp.sum(w * log_p))
        if order == 0:
            return out
        # r = f / P at each end (0 at an infinite end)
        never = xp.full_like(a, -math.inf)
        r_a = xp.exp(xp.where(has_a, cell.log_pdf_a - log_p, never))
        r_b = xp.exp(xp.where(has_b, cell.log_pdf_b - log_p, never))
        q = aux.shape[0]
        levels = xp.arange(q, device=device(eta))
        upper = xp.astype(codes[:, None] == levels[None, :], eta.dtype)  # theta_c is row's a
        lower = xp.astype(codes[:, None] - 1 == levels[None, :], eta.dtype)  # theta_{c-1} is b
        dl_da, dl_db = -r_a, r_b
        out.grad_eta = (w * (r_a - r_b))[:, None]
        out.grad_aux_rows = (w * dl_da)[:, None] * upper + (w * dl_db)[:, None] * lower
        out.grad_aux = xp.sum(out.grad_aux_rows, axis=0)
        if order >= 2:
            l_aa = r_a * r_a - cell.dlog_pdf_a * r_a
            l_bb = r_b * r_b + cell.dlog_pdf_b * r_b
            l_ab = -r_a * r_b
            out.hess_eta_diag = (w * (l_aa + 2.0 * l_ab + l_bb))[:, None]
            out.hess_eta = out.hess_eta_diag[:, :, None]
            out.hess_eta_aux = (
                -(w * (l_aa + l_ab))[:, None] * upper - (w * (l_ab + l_bb))[:, None] * lower
            )[:, None, :]
            cross = (upper * (w * l_ab)[:, None]).T @ lower
            out.hess_aux = (
                (upper * (w * l_aa)[:, None]).T @ upper
                + (lower * (w * l_bb)[:, None]).T @ lower
                + cross
                + cross.T
            )
        return out

    def predict_proba(self, eta, aux):
        xp = get_namespace(eta)
        inf = xp.full((1,), math.inf, dtype=eta.dtype, device=device(eta))
        cuts = xp.concat([-inf, aux, inf])
        a = cuts[None, 1:] - eta  # (n, K)
        b = cuts[None, :-1] - eta
        with np.errstate(invalid="ignore"):
            return xp.exp(self._log_prob(a, b))

    def null_parameters(self, class_weights_sum):
        counts = np.asarray(class_weights_sum, dtype=float)
        cum = np.cumsum(counts)[:-1] / counts.sum()
        return np.zeros(0), self._F.ppf(cum)
