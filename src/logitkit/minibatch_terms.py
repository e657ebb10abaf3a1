"""The objective on one minibatch: its loss and gradient estimates, for the minibatch
optimizers (:mod:`logitkit.solvers.stochastic`, the compiled and device loops).

A mixin of :class:`logitkit.objective.Objective`, whose parameter layout, linear
predictor, family and penalty it uses.
"""

from __future__ import annotations

import numpy as np

from logitkit.backends import device, to_numpy
from logitkit.design import batch_rows, is_design


class MinibatchTerms:
    """batch_value_grad and batch_terms of an Objective."""

    def batch_value_grad(self, theta, rows, order: int = 1, window=None):
        """The objective estimated on a minibatch ``rows`` (index array or slice).

        The batch's weighted loss sum is scaled by n / (b * total_weight) (b rows in the
        batch), an unbiased estimate of the mean loss that equals :meth:`evaluate`'s when
        ``rows`` covers every row (with unit weights: the batch's mean loss, as Keras
        reduces it); the penalty is added in full. One block, no intercept column.
        Returns (value, grad (p,) or None if ``order`` is 0, eta (b, m) float64).
        ``window``: NumPy (X float64, y, w[, offset]) rows already gathered for several
        batches; ``rows`` then index into them.
        """
        W, aux = self.unpack(theta)
        if not isinstance(self.X, np.ndarray) and not is_design(self.X):
            xp, dev = self.xp, device(self.X)
            Xb = self.X[rows]
            b = Xb.shape[0]
            w = self.w[rows] * (self.n / (b * self.total_weight) if b else 0.0)
            grad = None if order == 0 else xp.empty(self.n_params, dtype=xp.float64, device=dev)
            loss, eta = self.batch_terms(xp.asarray(W, device=dev), xp.asarray(aux, device=dev),
                                         Xb, self.y[rows], w, grad, self._offset_rows(rows))
            value = float(to_numpy(loss)) + self.penalty.value(W)
            if order == 0:
                return value, None, eta
            grad = to_numpy(grad)
            grad[: self.m * self.d1] += self.penalty.gradient(W).ravel()
            return value, grad, eta
        # NumPy: a batch is small, so computing it in float64 costs one cast, saves several
        X, y, w = (self.X, self.y, self.w) if window is None else window[:3]
        offset = self.offset if window is None else (window[3] if len(window) > 3 else None)
        # (a structured design's batch is made dense, b rows of it; a sparse one's not)
        Xb = batch_rows(X[rows])
        eta = self._eta(Xb, W)
        if offset is not None:
            eta = eta + offset[rows]
        der = self.family.derivatives(eta, aux, y[rows], w[rows], order)
        b = Xb.shape[0]
        scale = self.n / (b * self.total_weight) if b else 0.0
        value = float(der.loss) * scale
        penalised = self.penalty.alpha > 0
        if penalised:
            value += self.penalty.value(W)
        if order == 0:
            return value, None, eta
        md = self.m * self.d1
        grad = np.empty(self.n_params)
        grad_W = grad[:md].reshape(self.m, self.d1)
        G = der.grad_eta
        grad_W[:, : self.d] = G.T @ Xb
        if self.fit_intercept:
            grad_W[:, self.d] = G.sum(axis=0)
        grad[md:] = der.grad_aux
        grad *= scale
        if penalised:
            if self.penalty.identity and self.penalty.factor is None:
                grad_W[:, : self.d] += self.penalty.alpha * W[:, : self.d]
            else:
                grad_W += self.penalty.gradient(W)
        return value, grad, eta

    def batch_terms(self, W, aux, Xb, y, w, grad=None, offset=None):
        """A minibatch's loss and gradient, computed and kept where X lives.

        W (m, d1) and aux (q,): float64 arrays on X's device; Xb (b, d), y (b,), w (b,):
        the batch's rows, labels and weights, the weights already times the batch's scale
        (:meth:`batch_value_grad`'s). ``grad``: a float64 (p,) array there that receives
        the gradient (None: the loss only); ``offset`` (b, m) the batch's offset or None.
        Returns (loss, eta (b, m)), no penalty. No
        host transfer and no data-dependent control flow, so a device loop can capture it
        in a CUDA graph.
        """
        xp = self.xp
        eta = self._eta(Xb, W)
        if offset is not None:
            eta = eta + offset
        der = self.family.derivatives(eta, aux, y, w, 0 if grad is None else 1)
        if grad is None:
            return der.loss, eta
        md, d = self.m * self.d1, self.d
        grad_W = xp.reshape(grad[:md], (self.m, self.d1))
        G = xp.astype(der.grad_eta, Xb.dtype, copy=False)
        grad_W[:, :d] = (G[:, 0] @ Xb)[None, :] if self.m == 1 else G.T @ Xb
        if self.fit_intercept:
            grad_W[:, d] = xp.sum(der.grad_eta, axis=0)
        if self.q:
            grad[md:] = der.grad_aux
        return der.loss, eta
