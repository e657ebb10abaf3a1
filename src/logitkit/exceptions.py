"""Warnings that logitkit emits."""

from sklearn.exceptions import ConvergenceWarning


class PerfectSeparationWarning(UserWarning):
    """The classes are (quasi-)completely separated: the maximum-likelihood estimate does
    not exist, and the reported coefficients are finite only because the solver stopped."""


__all__ = ["ConvergenceWarning", "PerfectSeparationWarning"]
