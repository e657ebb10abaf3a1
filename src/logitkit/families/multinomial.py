"""Multinomial (softmax) family in baseline-category form.

Class 0 is the base: eta has shape (n, K-1) and the full logits are [0, eta].
The estimator reports the symmetric (sum-to-zero) form that scikit-learn uses; the
penalty's slope Gram ``I - 11'/K`` makes the two forms the same optimisation problem
(min over a common shift c of ||B_full - c||^2 is ||centred B_full||^2).
"""

import numpy as np

from logitkit.backends import get_namespace, logsumexp
from logitkit.families.base import EtaDerivatives, Family


class Multinomial(Family):
    name = "multinomial"

    def n_eta(self, n_classes):
        return n_classes - 1

    def slope_gram(self, n_classes):
        m = n_classes - 1
        return np.eye(m) - np.full((m, m), 1.0 / n_classes)

    def derivatives(self, eta, aux, y, w, order):
        xp = get_namespace(eta)
        n, m = eta.shape
        full = xp.concat([xp.zeros((n, 1), dtype=eta.dtype), eta], axis=1)
        lse = logsumexp(full, axis=1)
        codes = xp.astype(y, xp.int64)
        onehot = xp.astype(codes[:, None] == xp.arange(1, m + 1)[None, :], eta.dtype)
        observed = xp.sum(onehot * eta, axis=1)  # full logit of the observed class (0 for base)
        out = EtaDerivatives(loss=xp.sum(w * (lse - observed)))
        if order >= 1:
            p = xp.exp(eta - lse[:, None])
            out.grad_eta = w[:, None] * (p - onehot)
            out.grad_aux = xp.zeros(0, dtype=eta.dtype)
            out.grad_aux_rows = xp.zeros((eta.shape[0], 0), dtype=eta.dtype)
        if order >= 2:
            wp = w[:, None] * p
            hess = -wp[:, :, None] * p[:, None, :]
            idx = xp.arange(m)
            hess[:, idx, idx] += wp
            out.hess_eta = hess
            out.hess_eta_diag = wp
            out.hess_eta_lowrank = xp.sqrt(w)[:, None] * p
            out.hess_eta_aux = xp.zeros((n, m, 0), dtype=eta.dtype)
            out.hess_aux = xp.zeros((0, 0), dtype=eta.dtype)
        return out

    def predict_proba(self, eta, aux):
        xp = get_namespace(eta)
        n = eta.shape[0]
        full = xp.concat([xp.zeros((n, 1), dtype=eta.dtype), eta], axis=1)
        return xp.exp(full - logsumexp(full, axis=1)[:, None])

    def null_parameters(self, class_weights_sum):
        logs = np.log(np.asarray(class_weights_sum, dtype=float))
        return logs[1:] - logs[0], np.zeros(0)
