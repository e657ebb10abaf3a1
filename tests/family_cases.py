"""Small objectives of every family, shared by the derivative and Newton-CG tests."""

import numpy as np

from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective

# (id, family factory, number of classes, fit_intercept)
FAMILIES = [
    ("binomial", lambda: Binomial(), 2, True),
    ("binomial-no-intercept", lambda: Binomial(), 2, False),
    ("multinomial", lambda: Multinomial(), 4, True),
    ("multinomial-no-intercept", lambda: Multinomial(), 3, False),
    ("multinomial-full", lambda: Multinomial(full=True), 3, True),
    ("ordinal-logit", lambda: Ordinal("logit"), 4, False),
    ("ordinal-probit", lambda: Ordinal("probit"), 3, False),
    ("ordinal-cloglog", lambda: Ordinal("cloglog"), 5, False),
]
IDS = [case[0] for case in FAMILIES]


def small_problem(family, n_classes, fit_intercept, alpha, rng):
    """(objective, natural parameters): 300 weighted rows of 3 badly scaled, off-centre
    columns in blocks of 64 rows (the accumulation over several blocks is exercised)."""
    n, d = 300, 3
    X = rng.normal(size=(n, d)) * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0]
    y = rng.integers(0, n_classes, size=n).astype(float)
    w = rng.uniform(0.2, 3.0, size=n)
    ob = Objective(family, X, y, w, n_classes, fit_intercept, alpha=alpha)
    ob.block_rows = 64
    W = rng.normal(scale=0.3, size=(ob.m, ob.d1))
    return ob, ob.pack(W, np.sort(rng.normal(size=ob.q)) * 2.0)
