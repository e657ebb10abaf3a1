"""Binomial family: P(y=1) = sigmoid(eta), eta of shape (n, 1)."""

import numpy as np
from array_api_compat import is_torch_array

from logitkit.backends import clip_min, device, get_namespace, log_expit
from logitkit.families.base import EtaDerivatives, Family


class Binomial(Family):
    name = "binomial"

    def n_eta(self, n_classes):
        return 1

    def slope_gram(self, n_classes):
        return np.ones((1, 1))

    def block_derivatives(self, eta, aux, y, w, order, scratch):
        """:meth:`derivatives` of a block of a full pass; on NumPy arrays computed in
        place in ``scratch`` (the arrays returned are views of it, valid until the next
        block), each step one ufunc with ``out=``, and with ``least_loss``, the smallest
        loss of a row of positive weight (minus the log of the largest fitted probability
        of a row's own class, for the separation check)."""
        if not isinstance(eta, np.ndarray):
            return self.derivatives(eta, aux, y, w, order)
        z = eta[:, 0]
        b = z.shape[0]
        arrays = scratch.arrays(4 if order >= 2 else 3, b)
        t, u, v = arrays[:3]
        h = arrays[3] if order >= 2 else None
        # with t = exp(-|z|): loss = max(z, 0) - y z + log1p(t); P(y=1) = 1 / (1 + t) for
        # z >= 0, t / (1 + t) below, p (1 - p) = t / (1 + t)^2
        np.abs(z, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.maximum(z, 0.0, out=v)
        np.multiply(y, z, out=u)
        v -= u  # (before the log1p term: a tiny loss stays exact, as in derivatives)
        np.log1p(t, out=u)
        u += v
        out = EtaDerivatives(loss=float(np.dot(w, u)))
        positive = np.greater(w, 0.0, out=scratch.mask(b))
        out.least_loss = float(np.min(u, where=positive, initial=np.inf))
        if order == 0:
            return out
        np.add(t, 1.0, out=u)
        np.reciprocal(u, out=u)
        np.multiply(t, u, out=v)
        if h is not None:
            np.multiply(v, u, out=h)
            h *= w
        np.copyto(v, u, where=np.greater_equal(z, 0.0, out=positive))
        v -= y
        v *= w
        out.grad_eta = v[:, None]
        out.grad_aux, out.grad_aux_rows = self._no_aux(np, eta)
        if h is not None:
            self._hessian_parts(np, out, h[:, None], eta)
        return out

    def derivatives(self, eta, aux, y, w, order):
        z = eta[:, 0]
        if order < 2 and is_torch_array(z):
            return self._device_derivatives(z, y, w, order)
        # NumPy arrays need no namespace: its lookup and wrappers cost as much as the
        # arithmetic of a minibatch step
        xp = np if isinstance(z, np.ndarray) else get_namespace(eta)
        # with t = exp(-|z|): loss = log(1 + e^z) - y z = max(z, 0) - y z + log1p(t),
        # P(y=1) = 1 / (1 + t) for z >= 0, t / (1 + t) below, p (1 - p) = t / (1 + t)^2;
        # one exp and one log1p, stable for any z
        t = xp.exp(-xp.abs(z))
        out = EtaDerivatives(loss=xp.sum(w * (clip_min(z, 0.0) - y * z + xp.log1p(t))))
        if order >= 1:
            inv = 1.0 / (1.0 + t)
            p = xp.where(z >= 0, inv, t * inv)
            out.grad_eta = (w * (p - y))[:, None]
            out.grad_aux, out.grad_aux_rows = self._no_aux(xp, eta)
        if order >= 2:
            self._hessian_parts(xp, out, (w * t * inv * inv)[:, None], eta)
        return out

    @staticmethod
    def _hessian_parts(xp, out, diag, eta):
        """The Hessian entries of ``out`` from its (n, 1) diagonal w p (1 - p)."""
        out.hess_eta_diag = diag
        out.hess_eta = diag[:, :, None]
        out.hess_eta_aux = xp.zeros((eta.shape[0], 1, 0), dtype=eta.dtype, device=device(eta))
        out.hess_aux = xp.zeros((0, 0), dtype=eta.dtype, device=device(eta))

    @staticmethod
    def _no_aux(xp, eta):
        """The (0,) and (n, 0) aux gradients of a family without aux parameters."""
        if xp is np:
            return np.empty(0, dtype=eta.dtype), np.empty((eta.shape[0], 0), dtype=eta.dtype)
        return (xp.zeros(0, dtype=eta.dtype, device=device(eta)),
                xp.zeros((eta.shape[0], 0), dtype=eta.dtype, device=device(eta)))

    def _device_derivatives(self, z, y, w, order):
        """Loss and gradient from the device's single-kernel softplus and sigmoid: six
        kernels for a minibatch step. softplus is log(1 + e^z) up to its threshold and z
        beyond; at 40 that switch is exact in float64 (e^-40 is below z's rounding)."""
        import torch

        loss_i = torch.addcmul(torch.nn.functional.softplus(z, threshold=40.0), y, z,
                               value=-1.0)  # log(1 + e^z) - y z
        out = EtaDerivatives(loss=torch.dot(w, loss_i))
        if order >= 1:
            out.grad_eta = (w * (torch.sigmoid(z) - y))[:, None]
            out.grad_aux = z.new_zeros(0)
            out.grad_aux_rows = z.new_zeros((z.shape[0], 0))
        return out

    def predict_proba(self, eta, aux):
        xp = get_namespace(eta)
        p1 = xp.exp(log_expit(eta[:, 0]))
        return xp.stack([1.0 - p1, p1], axis=1)

    def predict_class(self, eta, aux):
        return eta[:, 0] > 0

    def null_parameters(self, class_weights_sum):
        n0, n1 = class_weights_sum
        return np.array([np.log(n1) - np.log(n0)]), np.zeros(0)
