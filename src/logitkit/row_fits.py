"""Per-row fitted quantities over row blocks, for the model checks (residuals,
influence, Hosmer-Lemeshow, Brant): the linear predictor with the rows' offset, class
probabilities, and blocks of X as float64 host arrays.

Every pass reads X in blocks of about 8 MB (DESIGN.md rule 4); what comes back is per
row ((n,) or (n, k) with k small), never n x n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from logitkit.backends import to_numpy
from logitkit.design import dense
from logitkit.families import LINKS

_BLOCK_BYTES = 8 * 2**20


@dataclass(frozen=True)
class HostRows:
    """The rows a check reads: X (n, d) as fitted (array, tensor or Design), codes (n,)
    int class codes, weights (n,) float64, offset (n, k) float64 or None."""

    X: Any
    codes: np.ndarray
    weights: np.ndarray
    offset: np.ndarray | None

    @property
    def n(self) -> int:
        return len(self.codes)

    def blocks(self):
        """Slices of about 8 MB of X's rows each (at least 256 rows)."""
        size = max(256, _BLOCK_BYTES // (8 * max(1, self.X.shape[1])))
        for start in range(0, self.n, size):
            yield slice(start, min(start + size, self.n))

    def block(self, rows) -> np.ndarray:
        """X[rows] as a dense float64 host array (b, d)."""
        return np.asarray(to_numpy(dense(self.X[rows])), dtype=np.float64)

    def offset_block(self, rows) -> np.ndarray | None:
        return None if self.offset is None else self.offset[rows]


def host_rows(rows) -> HostRows:
    """:class:`HostRows` of a FitRows (its offset checked as logitkit.offsets does: (n,),
    or (n, K-1) multinomial)."""
    codes = np.asarray(to_numpy(rows.codes)).astype(np.intp, copy=False)
    weights = np.asarray(to_numpy(rows.weights), dtype=np.float64)
    offset = None if rows.offset is None else np.asarray(to_numpy(rows.offset), np.float64)
    return HostRows(rows.X, codes, weights, offset)


def binary_link(estimator):
    """The Link object of a binary fit (logit unless the estimator names another)."""
    return LINKS[getattr(estimator, "link", "logit")]


def binary_eta(estimator, Xb, offset_b) -> np.ndarray:
    """(b,) linear predictor of classes_[1]: X b + intercept (+ offset)."""
    return to_numpy(estimator._scores(Xb, offset_b))[:, 0]


def binary_parts(estimator, Xb, offset_b):
    """(eta, mu, 1 - mu, f) of a block: mu = F(eta) = P(classes_[1]), f = F'(eta),
    each (b,), from the link's log forms (no cancellation in 1 - mu)."""
    link = binary_link(estimator)
    eta = binary_eta(estimator, Xb, offset_b)
    return (eta, np.exp(link.log_cdf(eta)), np.exp(link.log_sf(eta)),
            np.exp(link.log_pdf(eta)))


def ordinal_eta(estimator, Xb, offset_b) -> np.ndarray:
    """(b,) x'b (+ offset) of an ordinal fit: P(Y <= j) = F(theta_j - eta)."""
    return to_numpy(estimator._eta(Xb, offset_b))[:, 0]


def class_probabilities(estimator, Xb, offset_b) -> np.ndarray:
    """(b, K) float64 fitted class probabilities of a block, columns in ``classes_``
    order."""
    return np.asarray(to_numpy(estimator._proba(Xb, offset_b)), dtype=np.float64)
