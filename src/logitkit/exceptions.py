"""Warnings and errors that logitkit emits."""

from sklearn.exceptions import ConvergenceWarning


class PerfectSeparationWarning(UserWarning):
    """The classes are (quasi-)completely separated: the maximum-likelihood estimate does
    not exist, and the reported coefficients are finite only because the solver stopped."""


class AliasedColumnsWarning(UserWarning):
    """Some columns of the design are linear combinations of the intercept and the columns
    before them: they are left out of the fit and reported as aliased (as R's ``glm``)."""


class UnboundedIntervalWarning(UserWarning):
    """A profile-likelihood interval is infinite on a side: the profile never reaches the
    cut-off there (as under separation)."""


class ModelFileError(ValueError):
    """A model file is missing parts, corrupted, tampered with or of another format version."""


class DataFileError(ValueError):
    """A data file (CSV, TSV, Parquet) cannot be read or does not fit the model."""


__all__ = ["AliasedColumnsWarning", "ConvergenceWarning", "DataFileError", "ModelFileError",
           "PerfectSeparationWarning", "UnboundedIntervalWarning"]
