"""Class probabilities as functions of the natural parameters, for post-estimation.

Marginal effects, prediction intervals and their delta-method standard errors need
P(y = k | x) at parameters other than the fitted ones and its derivatives with
respect to x and to theta. :class:`ClassProbabilities` gives them for every kind on
dense float64 row blocks (n, d), in the natural layout of :mod:`logitkit.objective`:
per linear-predictor row the d slopes, then the intercept when fitted; ordinal cut
points last. The binary link is ``getattr(est, "link", "logit")``; offsets (n,) or
(n, m) are added to the linear predictor.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

from logitkit.backends import to_numpy
from logitkit.design import is_design
from logitkit.families import LINKS


def dense(Xb) -> np.ndarray:
    """A row block of any design as a float64 NumPy array (b, d)."""
    if is_design(Xb) or hasattr(Xb, "toarray"):
        Xb = Xb.toarray()
    return np.asarray(to_numpy(Xb), dtype=np.float64)


class ClassProbabilities:
    """P(y = classes_[k] | x; theta) of a fitted estimator, with derivatives.

    kind: "binary", "multinomial" or "ordinal"; K classes; p natural parameters; m
    linear-predictor columns; d features.
    """

    def __init__(self, est):
        self.K = len(est.classes_)
        self.d = len(est.coef_names_)
        self.theta = np.asarray(est.result_.params, dtype=np.float64)
        self.p = len(self.theta)
        self.fit_intercept = bool(est._fits_intercept())
        self.d1 = self.d + int(self.fit_intercept)
        if getattr(est, "thresholds_", None) is not None:
            self.kind, self.m = "ordinal", 1
        elif self.K == 2:
            self.kind, self.m = "binary", 1
        else:
            self.kind, self.m = "multinomial", self.p // self.d1
        self.full = self.kind == "multinomial" and self.m == self.K
        self.link = LINKS[getattr(est, "link", "logit")] if self.kind != "multinomial" else None

    # -- layout ----------------------------------------------------------------------
    def unpack(self, theta):
        """(W (m, d1), cut points (q,))."""
        return theta[: self.m * self.d1].reshape(self.m, self.d1), theta[self.m * self.d1:]

    def eta(self, theta, X, offset=None) -> np.ndarray:
        """(b, m) linear predictor (ordinal: x'b, without cut points)."""
        W, _ = self.unpack(theta)
        eta = X @ W[:, : self.d].T
        if self.fit_intercept:
            eta = eta + W[:, self.d]
        if offset is not None:
            eta = eta + np.asarray(offset, dtype=np.float64).reshape(len(X), -1)
        return eta

    def _tilde(self, X) -> np.ndarray:
        """(b, d1): X, then a column of ones when an intercept is fitted."""
        return np.hstack([X, np.ones((len(X), 1))]) if self.fit_intercept else X

    # -- probabilities and their derivatives -----------------------------------------
    def _pdf(self, x) -> np.ndarray:
        """The link's density, 0 at infinite arguments."""
        finite = np.isfinite(x)
        with np.errstate(over="ignore", under="ignore"):
            return np.where(finite, np.exp(self.link.log_pdf(np.where(finite, x, 0.0))), 0.0)

    def _ordinal_ends(self, theta, eta):
        """(P (b, K), f at the upper cut point (b, K), f at the lower one (b, K))."""
        _, cuts = self.unpack(theta)
        ends = np.concatenate([[-np.inf], cuts, [np.inf]])
        a, b = ends[None, 1:] - eta, ends[None, :-1] - eta
        with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
            P = np.exp(self.link.log_prob(a, b))
        return P, self._pdf(a), self._pdf(b)

    def proba(self, theta, X, offset=None) -> np.ndarray:
        """(b, K) class probabilities."""
        return self.proba_from_eta(theta, self.eta(theta, X, offset))

    def proba_from_eta(self, theta, eta) -> np.ndarray:
        """(b, K) class probabilities from the (b, m) linear predictor."""
        if self.kind == "binary":
            z = eta[:, 0]
            if self.link.name == "logit":  # (scipy's expit: exact in both tails, fast)
                return np.stack([expit(-z), expit(z)], axis=1)
            with np.errstate(under="ignore"):
                return np.stack([np.exp(self.link.log_sf(z)), np.exp(self.link.log_cdf(z))], 1)
        if self.kind == "multinomial":
            return softmax(self._logits(eta), axis=1)
        return self._ordinal_ends(theta, eta)[0]

    def _logits(self, eta):
        return eta if self.full else np.hstack([np.zeros((len(eta), 1)), eta])

    def _full_slopes(self, theta) -> np.ndarray:
        """(K, d) slopes of the full logits (multinomial)."""
        B = self.unpack(theta)[0][:, : self.d]
        return B if self.full else np.vstack([np.zeros((1, self.d)), B])

    def proba_and_slopes(self, theta, eta, columns=None):
        """(P (b, K), dP/dx (b, K, len(columns))) at theta from the (b, m) linear
        predictor; ``columns``: the features (default all)."""
        B = self.unpack(theta)[0][:, : self.d]
        if columns is not None:
            B = B[:, columns]
        if self.kind == "binary":
            P = self.proba_from_eta(theta, eta)
            f = P[:, 0] * P[:, 1] if self.link.name == "logit" else self._pdf(eta[:, 0])
            slope = f[:, None] * B[0][None, :]
            return P, np.stack([-slope, slope], axis=1)
        if self.kind == "multinomial":
            P = softmax(self._logits(eta), axis=1)
            full = B if self.full else np.vstack([np.zeros((1, B.shape[1])), B])
            return P, P[:, :, None] * (full[None, :, :] - (P @ full)[:, None, :])
        P, f_a, f_b = self._ordinal_ends(theta, eta)
        return P, -(f_a - f_b)[:, :, None] * B[0][None, None, :]

    def proba_gradient(self, theta, X, offset=None):
        """(P (b, K), dP/dtheta (b, K, p)), analytic."""
        eta = self.eta(theta, X, offset)
        Xt = self._tilde(X)
        b = len(X)
        G = np.zeros((b, self.K, self.p))
        if self.kind == "binary":
            P = self.proba(theta, X, offset)
            f = self._pdf(eta[:, 0])
            G[:, 1, :] = f[:, None] * Xt
            G[:, 0, :] = -G[:, 1, :]
            return P, G
        if self.kind == "multinomial":
            P = softmax(self._logits(eta), axis=1)
            first = 0 if self.full else 1  # the class of W's row 0
            for c in range(self.m):
                column = c + first
                dP = P * ((np.arange(self.K) == column)[None, :] - P[:, column:column + 1])
                G[:, :, c * self.d1:(c + 1) * self.d1] = dP[:, :, None] * Xt[:, None, :]
            return P, G
        P, f_a, f_b = self._ordinal_ends(theta, eta)
        G[:, :, : self.d] = -(f_a - f_b)[:, :, None] * X[:, None, :]
        q = self.K - 1
        start = self.d
        for k in range(self.K):
            if k < q:
                G[:, k, start + k] += f_a[:, k]
            if k > 0:
                G[:, k, start + k - 1] -= f_b[:, k]
        return P, G

    def binary_link_scale(self, theta, X, offset=None) -> np.ndarray:
        """(b,) the binary linear predictor (the link scale of P(classes_[1]))."""
        return self.eta(theta, X, offset)[:, 0]


def logit(p):
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


__all__ = ["ClassProbabilities", "dense", "expit", "logit"]
