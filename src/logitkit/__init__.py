"""logitkit: logistic regression (binary, multinomial, ordinal), exact and fast.

Public names only; see the README for a tour.
"""

from logitkit import datasets
from logitkit.cv import LogisticRegressionCV, OrdinalLogisticRegressionCV
from logitkit.estimators import LogisticRegression, OrdinalLogisticRegression
from logitkit.exceptions import (
    AliasedColumnsWarning,
    ConvergenceWarning,
    DataFileError,
    ModelFileError,
    PerfectSeparationWarning,
    UnboundedIntervalWarning,
)
from logitkit.formulas import logit, mlogit, ologit
from logitkit.io import load
from logitkit.paths import RegularizationPath, regularization_path

__version__ = "0.1.0"

__all__ = [
    "AliasedColumnsWarning",
    "ConvergenceWarning",
    "DataFileError",
    "LogisticRegression",
    "LogisticRegressionCV",
    "ModelFileError",
    "OrdinalLogisticRegression",
    "OrdinalLogisticRegressionCV",
    "PerfectSeparationWarning",
    "RegularizationPath",
    "UnboundedIntervalWarning",
    "__version__",
    "datasets",
    "load",
    "logit",
    "mlogit",
    "ologit",
    "regularization_path",
]
