"""The family interface and the container of eta-space derivatives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class EtaDerivatives:
    """Weighted derivatives of ``sum_i w_i * loss_i`` over one block of n rows.

    ``m`` is the number of linear-predictor columns, ``q`` the number of auxiliary
    parameters. Entries beyond the requested order are None.

    loss:          scalar, sum_i w_i loss_i
    grad_eta:      (n, m), w_i * d loss_i / d eta_ik
    grad_aux:      (q,),   sum_i w_i d loss_i / d aux
    grad_aux_rows: (n, q), w_i * d loss_i / d aux (the per-row scores of sandwich variances)
    hess_eta:      (n, m, m), w_i * d2 loss_i / d eta_ik d eta_il
    hess_eta_diag, hess_eta_lowrank: (n, m) each, with
                   hess_eta[i] = diag(hess_eta_diag[i]) - outer(lowrank[i], lowrank[i])
                   (lowrank None when hess_eta is diagonal); lets the objective form
                   X' (.) X products as Gram matrices (BLAS syrk)
    hess_eta_coupling: (n,) c_i, an alternative to hess_eta_lowrank that a family's
                   :meth:`Family.curvature` may give instead: lowrank[i] = sqrt(c_i) *
                   hess_eta_diag[i] (the multinomial's, c_i = 1 / w_i), so that only one
                   (n, m) array is kept
    hess_eta_shift: (n,) optional, from :meth:`Family.curvature`: a number per row from
                   which :meth:`Family.hessian_factors` recomputes the row's Hessian
                   factors with fewer operations (the multinomial's log(sum_k exp eta_ik)
                   - log w_i, so that hess_eta_diag = exp(eta - shift))
    hess_eta_aux:  (n, m, q), w_i * d2 loss_i / d eta_ik d aux_j
    hess_aux:      (q, q),   sum_i w_i d2 loss_i / d aux d aux
    least_loss:    min_i loss_i over rows with w_i > 0 (inf if none), when the family
                   gives it (:meth:`Family.block_derivatives`)
    """

    loss: Any
    grad_eta: Any = None
    grad_aux: Any = None
    grad_aux_rows: Any = None
    hess_eta: Any = None
    hess_eta_diag: Any = None
    hess_eta_lowrank: Any = None
    hess_eta_coupling: Any = None
    hess_eta_shift: Any = None
    hess_eta_aux: Any = None
    hess_aux: Any = None
    least_loss: float | None = None


class Scratch:
    """Reusable float64 (and bool) work arrays of a pass's blocks, grown on demand."""

    def __init__(self):
        self._floats = np.empty((0, 0))
        self._mask = np.empty(0, dtype=bool)

    def arrays(self, count: int, rows: int) -> list:
        """``count`` float64 arrays of ``rows`` entries (overwritten by the next call)."""
        if self._floats.shape[0] < count or self._floats.shape[1] < rows:
            self._floats = np.empty((max(count, self._floats.shape[0]),
                                     max(rows, self._floats.shape[1])))
        return [self._floats[k, :rows] for k in range(count)]

    def mask(self, rows: int) -> np.ndarray:
        """A bool array of ``rows`` entries."""
        if self._mask.shape[0] < rows:
            self._mask = np.empty(rows, dtype=bool)
        return self._mask[:rows]


class Family:
    """Interface shared by the binomial, multinomial and ordinal families.

    ``y`` holds integer class codes 0..K-1 (as floats or ints), ``w`` row weights.
    """

    name: str
    link: str = "logit"
    # whether a row's eta-space Hessian depends on its label (not for a canonical link's
    # expected = observed information, as the softmax's)
    curvature_uses_labels: bool = True

    def n_eta(self, n_classes: int) -> int:
        """Number of columns m of the linear predictor."""
        raise NotImplementedError

    def n_aux(self, n_classes: int) -> int:
        """Number of auxiliary parameters q (cut points)."""
        return 0

    def slope_gram(self, n_classes: int):
        """(m, m) matrix G of the L2 penalty 1/2 sum_j B[:, j]' G B[:, j] over slopes."""
        raise NotImplementedError

    def derivatives(self, eta, aux, y, w, order: int) -> EtaDerivatives:
        """Loss and derivatives up to ``order`` (0, 1 or 2) for one block of rows."""
        raise NotImplementedError

    def block_derivatives(self, eta, aux, y, w, order: int, scratch) -> EtaDerivatives:
        """:meth:`derivatives` of one block of a pass over all rows; a family may compute
        them in the preallocated arrays of ``scratch`` (a :class:`Scratch`), so that the
        arrays it returns are valid only until its next call."""
        return self.derivatives(eta, aux, y, w, order)

    def curvature(self, eta, aux, y, w) -> EtaDerivatives:
        """Loss, gradient and the Hessian pieces a Hessian-vector product needs for one
        block: hess_eta_diag, hess_eta_lowrank (or hess_eta_coupling), hess_eta_aux and
        hess_aux (hess_eta, the (n, m, m) array, may be left out)."""
        return self.derivatives(eta, aux, y, w, 2)

    def hessian_factors(self, eta, aux, y, w, shift=None) -> EtaDerivatives:
        """:meth:`curvature`'s Hessian pieces (loss and gradient may be left out): what a
        Hessian-vector product recomputes per block when the rows' curvature is not kept;
        ``shift``: the rows' hess_eta_shift from :meth:`curvature`, if it gave one."""
        return self.curvature(eta, aux, y, w)

    def predict_proba(self, eta, aux):
        """(n, K) class probabilities from eta (n, m) and aux (q,)."""
        raise NotImplementedError

    def predict_class(self, eta, aux):
        """(n,) index of the most probable class (the minibatch loop's accuracy)."""
        from logitkit.backends import get_namespace

        return get_namespace(eta).argmax(self.predict_proba(eta, aux), axis=1)

    def null_parameters(self, class_weights_sum):
        """Intercepts (m,) and aux (q,) of the intercept-only fit, from per-class weight sums."""
        raise NotImplementedError
