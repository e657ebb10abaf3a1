"""logitkit: logistic regression (binary, multinomial, ordinal), exact and fast.

Public names only; see the README for a tour.
"""

from logitkit.estimators import LogisticRegression, OrdinalLogisticRegression
from logitkit.exceptions import ConvergenceWarning, PerfectSeparationWarning

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "LogisticRegression",
    "OrdinalLogisticRegression",
    "PerfectSeparationWarning",
    "__version__",
]
