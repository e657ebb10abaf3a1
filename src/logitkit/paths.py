"""TEMPORARY placeholder of Part P's regularization_path (ridge only, one fit per
alpha); replaced by P's module before the branch is finished."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from logitkit.estimators import LogisticRegression


class RegularizationPath:
    def __init__(self, fits, alphas):
        self._fits = fits
        self.alphas_ = alphas
        self.coefs_ = np.stack([f.coef_ for f in fits])
        self.intercepts_ = np.stack([getattr(f, "intercept_", getattr(f, "thresholds_", None))
                                     for f in fits])
        self.deviance_ = np.array([-2 * f.log_likelihood_ for f in fits])
        self.n_nonzero_ = np.array([np.count_nonzero(np.abs(f.coef_) > 1e-12) for f in fits])
        self.n_iter_ = np.array([f.n_iter_ for f in fits])
        self.kkt_violation_ = np.zeros(len(fits))

    def estimator(self, i):
        return self._fits[i]


def regularization_path(X, y, *, estimator=None, l1_ratio=1.0, n_alphas=100,
                        alpha_min_ratio=None, alphas=None, sample_weight=None):
    estimator = LogisticRegression() if estimator is None else estimator
    if alphas is None:
        probe = clone(estimator).set_params(alpha=1e6, l1_ratio=0.0).fit(
            X, y, sample_weight=sample_weight)
        from logitkit.design import dense
        Xa = np.asarray(dense(probe._design(X, reset=False)), dtype=float)
        proba = probe.predict_proba(X)
        codes = np.searchsorted(probe.classes_, np.asarray(y).ravel())
        resid = np.eye(len(probe.classes_))[codes] - proba
        top = np.abs((Xa - Xa.mean(0)).T @ resid).max() / len(Xa) / max(l1_ratio, 1e-3)
        ratio = alpha_min_ratio or (1e-4 if Xa.shape[0] > Xa.shape[1] else 1e-2)
        alphas = top * np.geomspace(1, ratio, n_alphas)
    alphas = np.sort(np.asarray(alphas, dtype=float))[::-1]
    fits = [clone(estimator).set_params(alpha=a, l1_ratio=l1_ratio).fit(
        X, y, sample_weight=sample_weight) for a in alphas]
    return RegularizationPath(fits, alphas)
