"""Multinomial (softmax) family in baseline-category form.

Class 0 is the base: eta has shape (n, K-1) and the full logits are [0, eta].
The estimator reports the symmetric (sum-to-zero) form that scikit-learn uses; the
penalty's slope Gram ``I - 11'/K`` makes the two forms the same optimisation problem
(min over a common shift c of ||B_full - c||^2 is ||centred B_full||^2).

``Multinomial(full=True)`` is the over-parametrised full softmax of neural-network
libraries (Keras ``Dense(K, activation="softmax")``): eta has shape (n, K), the logits
are eta itself and the slope Gram is the identity. Its optimum is the same model (the
ridge picks the centred representative); the minibatch solvers train in this form so
that their trajectories match Keras's (Adam is not reparametrisation-invariant).
"""

import numpy as np
from array_api_compat import is_torch_array

from logitkit.backends import device, get_namespace, logsumexp
from logitkit.families.base import EtaDerivatives, Family

# NumPy reduces a short last axis slowly: below this many columns, a row's max is taken
# column by column and its sum by a matrix-vector product (20,000 rows, 2 columns: max
# 2057 -> 17 us, sum 472 -> 15 us; 9 columns: 1520 -> 664 us, 1192 -> 94 us), except on
# a minibatch's few rows, where one call costs less than a call per column (32 x 10: the
# full softmax's loss and gradient 18 us with one call, 25 us with the column loop)
_SHORT_ROWS = 16
_FEW_ROWS = 1024


def _short(A) -> bool:
    return A.shape[1] <= _SHORT_ROWS and A.shape[0] >= _FEW_ROWS


def _row_max(A):
    """(n,) max of each row of a 2-d float64 array."""
    if not _short(A):
        return A.max(axis=1)
    top = A[:, 0].copy()
    for k in range(1, A.shape[1]):
        np.maximum(top, A[:, k], out=top)
    return top


def _row_sum(A):
    """(n,) sum of each row of a 2-d float64 array."""
    return A @ np.ones(A.shape[1]) if _short(A) else A.sum(axis=1)


class Multinomial(Family):
    name = "multinomial"
    curvature_uses_labels = False

    def __init__(self, full: bool = False):
        self.full = bool(full)

    def n_eta(self, n_classes):
        return n_classes if self.full else n_classes - 1

    def _logits(self, eta):
        """The (n, K) full logits: eta itself (full form) or [0, eta] (baseline form)."""
        if self.full:
            return eta
        xp = get_namespace(eta)
        zeros = xp.zeros((eta.shape[0], 1), dtype=eta.dtype, device=device(eta))
        return xp.concat([zeros, eta], axis=1)

    def slope_gram(self, n_classes):
        if self.full:
            return np.eye(n_classes)
        m = n_classes - 1
        return np.eye(m) - np.full((m, m), 1.0 / n_classes)

    def derivatives(self, eta, aux, y, w, order):
        if order < 2 and is_torch_array(eta):
            return self._device_derivatives(eta, y, w, order)
        if isinstance(eta, np.ndarray):
            return self._host_derivatives(eta, y, w, order, full_hessian=True)
        return self._derivatives(eta, y, w, order, full_hessian=True)

    def curvature(self, eta, aux, y, w):
        """h_i = diag(w p) - (sqrt(w) p)(sqrt(w) p)' by its (n, m) factors only, without the
        (n, m, m) hess_eta that :meth:`derivatives` forms (NumPy: diag(a) - a a' / w, one
        (n, m) array a = w p and the coupling 1 / w)."""
        if self.full or not isinstance(eta, np.ndarray):
            return self._derivatives(eta, y, w, 2, full_hessian=False)
        return self._host_derivatives(eta, y, w, 2, full_hessian=False)

    def hessian_factors(self, eta, aux, y, w, shift=None):
        """NumPy, baseline form: only a = w p and the coupling 1 / w of :meth:`curvature`;
        with the rows' ``shift`` (log-normaliser - log w), a = exp(eta - shift): two
        operations on (n, m) arrays instead of nine."""
        if self.full or not isinstance(eta, np.ndarray):
            return self.curvature(eta, aux, y, w)
        if shift is None:
            top = np.maximum(_row_max(eta), 0.0)
            shift = top + np.log(_row_sum(np.exp(eta - top[:, None])) + np.exp(-top))
            with np.errstate(divide="ignore"):
                shift -= np.log(w)
        P = np.subtract(eta, shift[:, None])
        np.exp(P, out=P)
        coupling = np.divide(1.0, w, out=np.zeros(len(w)), where=w > 0)
        return EtaDerivatives(loss=None, hess_eta_diag=P, hess_eta_coupling=coupling,
                              hess_eta_aux=np.zeros((len(w), eta.shape[1], 0)),
                              hess_aux=np.zeros((0, 0)))

    def _host_derivatives(self, eta, y, w, order, full_hessian):
        """NumPy, either form: one exp per entry and no (n, K) copy of the logits (half
        the time of the general path on 50 classes, a third of it on 3)."""
        n, m = eta.shape
        top = _row_max(eta)
        if not self.full:
            np.maximum(top, 0.0, out=top)  # the base class's logit is 0
        P = np.exp(eta - top[:, None])
        total = _row_sum(P)
        if not self.full:
            total += np.exp(-top)
        codes = np.asarray(y).astype(np.int64, copy=False)
        rows = np.arange(n) if self.full else np.flatnonzero(codes > 0)
        column = codes[rows] - (0 if self.full else 1)  # eta's column of the observed class
        if self.full:
            observed = eta[rows, column]
        else:  # (the base class's logit is 0)
            observed = np.zeros(n)
            observed[rows] = eta[rows, column]
        top += np.log(total)  # the log-normaliser
        losses = top - observed  # (n,) -log p of each row's class
        out = EtaDerivatives(loss=float(w @ losses),
                             least_loss=float(np.min(losses, where=w > 0, initial=np.inf)))
        if order == 0:
            return out
        P /= total[:, None]
        wP = P
        wP *= w[:, None]
        grad = wP.copy()
        grad[rows, column] -= w[rows]
        out.grad_eta, out.grad_aux, out.grad_aux_rows = grad, np.zeros(0), np.zeros((n, 0))
        if order < 2:
            return out
        # h_i = diag(w p) - w p p' = diag(a) - a a' / w with a = w p
        coupling = np.divide(1.0, w, out=np.zeros(n), where=w > 0)
        out.hess_eta_diag, out.hess_aux = wP, np.zeros((0, 0))
        out.hess_eta_aux = np.zeros((n, m, 0))
        if full_hessian:
            out.hess_eta_lowrank = np.sqrt(coupling)[:, None] * wP
            hess = -wP[:, :, None] * (wP * coupling[:, None])[:, None, :]
            idx = np.arange(m)
            hess[:, idx, idx] += wP
            out.hess_eta = hess
        else:
            out.hess_eta_coupling = coupling
            with np.errstate(divide="ignore"):  # (a row of weight 0: +inf, a = 0)
                out.hess_eta_shift = top - np.log(w)
        return out

    def _derivatives(self, eta, y, w, order, full_hessian):
        xp = get_namespace(eta)
        n, m = eta.shape
        lse = logsumexp(self._logits(eta), axis=1)
        codes = xp.astype(y, xp.int64, copy=False)
        first = 0 if self.full else 1  # the class of eta's column 0
        columns = xp.arange(first, m + first, device=device(eta))
        onehot = xp.astype(codes[:, None] == columns[None, :], eta.dtype)
        observed = xp.sum(onehot * eta, axis=1)  # full logit of the observed class (0 for base)
        out = EtaDerivatives(loss=xp.sum(w * (lse - observed)))
        if order >= 1:
            p = xp.exp(eta - lse[:, None])
            out.grad_eta = w[:, None] * (p - onehot)
            out.grad_aux = xp.zeros(0, dtype=eta.dtype, device=device(eta))
            out.grad_aux_rows = xp.zeros((eta.shape[0], 0), dtype=eta.dtype, device=device(eta))
        if order >= 2:
            wp = w[:, None] * p
            if full_hessian:
                hess = -wp[:, :, None] * p[:, None, :]
                idx = xp.arange(m, device=device(eta))
                hess[:, idx, idx] += wp
                out.hess_eta = hess
            out.hess_eta_diag = wp
            out.hess_eta_lowrank = xp.sqrt(w)[:, None] * p
            out.hess_eta_aux = xp.zeros((n, m, 0), dtype=eta.dtype, device=device(eta))
            out.hess_aux = xp.zeros((0, 0), dtype=eta.dtype, device=device(eta))
        return out

    def _device_derivatives(self, eta, y, w, order):
        """Loss and gradient of either form from torch's log-softmax, gather and scatter:
        eight kernels for a minibatch step instead of sixteen, and on a GPU pass over 10M
        rows about a third of the general path's memory traffic (no one-hot array)."""
        import torch

        log_p = torch.log_softmax(self._logits(eta), dim=1)
        codes = y.long()[:, None]
        out = EtaDerivatives(loss=-torch.dot(w, log_p.gather(1, codes)[:, 0]))
        if order >= 1:  # w (p - onehot), in eta's columns
            if self.full:
                grad = torch.exp(log_p).mul_(w[:, None])
                out.grad_eta = grad.scatter_add_(1, codes, -w[:, None])
            else:  # (rows of the base class have no column)
                grad = torch.exp(log_p[:, 1:]).mul_(w[:, None])
                seen = torch.where(codes > 0, -w[:, None], 0.0)
                out.grad_eta = grad.scatter_add_(1, (codes - 1).clamp_(min=0), seen)
            out.grad_aux = eta.new_zeros(0)
            out.grad_aux_rows = eta.new_zeros((eta.shape[0], 0))
        return out

    def predict_proba(self, eta, aux):
        xp = get_namespace(eta)
        full = self._logits(eta)
        return xp.exp(full - logsumexp(full, axis=1)[:, None])

    def predict_class(self, eta, aux):
        return get_namespace(eta).argmax(self._logits(eta), axis=1)

    def null_parameters(self, class_weights_sum):
        logs = np.log(np.asarray(class_weights_sum, dtype=float))
        if self.full:
            return logs - logs.mean(), np.zeros(0)
        return logs[1:] - logs[0], np.zeros(0)
