"""Families: the loss of one row as a function of its linear predictor eta.

A family knows how a linear predictor turns into class probabilities and a loss, and
returns the loss and its first two derivatives with respect to eta (an ``(n, m)``
array) and to its own auxiliary parameters (the ordinal cut points). It knows
nothing about X, intercepts, penalties or solvers (DESIGN.md rule 1).
"""

from logitkit.families.base import EtaDerivatives, Family
from logitkit.families.binary_link import BinaryLink, binary_family
from logitkit.families.binomial import Binomial
from logitkit.families.multinomial import Multinomial
from logitkit.families.ordinal import LINKS, Ordinal

__all__ = ["EtaDerivatives", "Family", "Binomial", "BinaryLink", "binary_family", "Multinomial",
           "Ordinal", "LINKS"]
