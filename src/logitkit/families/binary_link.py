"""Binary family with a non-logit link: P(y=1) = F(eta), F a Link's CDF (probit, cloglog).

The logit keeps :class:`~logitkit.families.Binomial` (its fused, compiled passes); this
family serves the other links of :data:`~logitkit.families.ordinal.LINKS`, from each
link's stable log forms. Per row, with y the 0/1 code and l = -log P(y):

    y = 1: l = -log F(eta),  dl/deta = -r,  d2l/deta2 = r (r - g),  r = f / F
    y = 0: l = -log S(eta),  dl/deta =  r,  d2l/deta2 = r (r + g),  r = f / S

(S = 1 - F, g = f'/f the density's log slope). The observed information is what the
solvers use; ``information="expected"`` makes the second derivative the Fisher weight
f^2 / (F S) instead (R glm's IRLS weights), for the covariance only. For the logit the
two are equal.
"""

from __future__ import annotations

import numpy as np

from logitkit.backends import get_namespace
from logitkit.families.base import EtaDerivatives, Family
from logitkit.families.binomial import Binomial
from logitkit.families.ordinal import LINKS

INFORMATION = ("observed", "expected")
_CLOGLOG_LOW = -40.0


def binary_family(link: str = "logit", information: str = "observed") -> Family:
    """The binary family of ``link``: :class:`Binomial` for the logit (whose observed and
    expected information agree), else :class:`BinaryLink`."""
    if link not in LINKS:
        raise ValueError(f"link must be one of {sorted(LINKS)}, got {link!r}")
    if information not in INFORMATION:
        raise ValueError(f"information must be one of {INFORMATION}, got {information!r}")
    return Binomial() if link == "logit" else BinaryLink(link, information)


class BinaryLink(Family):
    name = "binomial"

    def __init__(self, link: str, information: str = "observed"):
        self.link, self.information = link, information
        self._F = LINKS[link]
        # the eta where F = 1/2 (probit 0, cloglog log(log 2)): the predicted class's edge
        self._median = float(self._F.ppf(np.array(0.5)))

    def n_eta(self, n_classes):
        return 1

    def slope_gram(self, n_classes):
        return np.ones((1, 1))

    def with_information(self, information: str) -> BinaryLink:
        """The same link whose second derivatives are the ``information``'s."""
        return BinaryLink(self.link, information)

    def _log_parts(self, xp, z, positive):
        """(log P(y), log f) per row: the CDF's log for y = 1, the survival's for y = 0."""
        F = self._F
        if self.link == "probit":  # symmetric: S(z) = F(-z), one log CDF per row
            return F.log_cdf(xp.where(positive, z, -z)), F.log_pdf(z)
        # cloglog: log F(z) = log(1 - exp(-e^z)) = z - e^z/2 + ... rounds to z below -40
        # (where e^z underflows in the log form beyond -745)
        log_cdf = xp.where(z < _CLOGLOG_LOW, z, F.log_cdf(xp.where(z < _CLOGLOG_LOW, 0.0, z)))
        return xp.where(positive, log_cdf, F.log_sf(z)), F.log_pdf(z)

    def derivatives(self, eta, aux, y, w, order):
        xp = np if isinstance(eta, np.ndarray) else get_namespace(eta)
        z = eta[:, 0]
        positive = y == 1
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_p, log_f = self._log_parts(xp, z, positive)
            out = EtaDerivatives(loss=-xp.sum(w * log_p))
            if xp is np:
                out.least_loss = float(np.min(-log_p, where=w > 0, initial=np.inf))
            if order == 0:
                return out
            r = xp.exp(log_f - log_p)
            sign = xp.where(positive, -1.0, 1.0)
            out.grad_eta = (w * sign * r)[:, None]
            out.grad_aux, out.grad_aux_rows = Binomial._no_aux(xp, eta)
            if order >= 2:
                if self.information == "expected":
                    log_cdf, log_sf = self._F.log_cdf(z), self._F.log_sf(z)
                    h = xp.exp(2.0 * log_f - log_cdf - log_sf)
                else:
                    h = r * (r + sign * self._F.dlog_pdf(z))
                Binomial._hessian_parts(xp, out, (w * h)[:, None], eta)
        return out

    def predict_proba(self, eta, aux):
        xp = get_namespace(eta)
        z = eta[:, 0]
        return xp.stack([xp.exp(self._F.log_sf(z)), xp.exp(self._F.log_cdf(z))], axis=1)

    def observed_log_proba(self, eta, y):
        """(n,) log P of each row's own class y (0/1 codes)."""
        xp = np if isinstance(eta, np.ndarray) else get_namespace(eta)
        with np.errstate(divide="ignore"):
            return self._log_parts(xp, eta[:, 0], y == 1)[0]

    def predict_class(self, eta, aux):
        return eta[:, 0] > self._median

    def null_parameters(self, class_weights_sum):
        n0, n1 = class_weights_sum
        return np.array([float(self._F.ppf(np.array(n1 / (n0 + n1))))]), np.zeros(0)
