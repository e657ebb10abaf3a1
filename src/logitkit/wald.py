"""Wald tests of linear hypotheses R b = q on the reported parameters.

b are the parameters as ``summary()`` reports them, named as there; multinomial
parameters are written ``[class]term`` (Stata's ``test [1]age = [2]age``). A string
holds comma-separated equations, each a sum of terms ``[number *] name`` or numbers on
either side of ``=`` (an equation without ``=`` means ``= 0``), e.g.
``"gpa = 0, C(rank)[T.2] = C(rank)[T.3]"`` or ``"2 * x1 - x2 = 1"``. Names are matched
whole and longest first, so they may hold any characters (``I(x**2)``, ``a:b``).
W = (R b - q)' (R V R')^-1 (R b - q) ~ chi2(rank R) under the hypothesis, V the
covariance of the chosen ``cov_type``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as st

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class WaldTestResult:
    """statistic ~ chi2(df) under the hypothesis R b = q; R (r, k) and q (r,) over the
    reported parameters ``names``."""

    statistic: float
    df: int
    p_value: float
    R: np.ndarray
    q: np.ndarray
    names: tuple
    cov_type: str

    def __str__(self) -> str:
        lines = []
        for i, row in enumerate(self.R):
            text = ""
            for name, v in zip(self.names, row, strict=True):
                if v == 0:
                    continue
                size = "" if abs(v) == 1 else f"{abs(v):g}*"
                sign = ("-" if v < 0 else "") if not text else (" - " if v < 0 else " + ")
                text += f"{sign}{size}{name}"
            lines.append(f"  ({i + 1})  {text} = {self.q[i]:g}")
        return "\n".join(["Wald test of linear hypotheses", *lines,
                          f"  chi2({self.df}) = {self.statistic:.4f}   "
                          f"Prob > chi2 = {self.p_value:.4g}   (cov_type={self.cov_type})"])

    __repr__ = __str__


def parameter_names(index: pd.Index) -> list[str]:
    """The names a hypothesis may use: terms, or ``[class]term`` for multinomial fits."""
    if isinstance(index, pd.MultiIndex):
        return [f"[{c}]{t}" for c, t in index]
    return [str(t) for t in index]


def parse(hypotheses: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(R (r, k), q (r,)) of a string of linear equations over ``names``."""
    if not isinstance(hypotheses, str) or not hypotheses.strip():
        raise ValueError("hypotheses must be a non-empty string such as 'x1 = 0, x2 = x3', "
                         "or a pair (R, q)")
    by_length = sorted(names, key=len, reverse=True)
    rows, q = [], []
    row, constant, side, sign, factor = np.zeros(len(names)), 0.0, 1.0, 1.0, None
    expect_term, pos, text = True, 0, hypotheses

    def fail(message):
        raise ValueError(f"cannot read the hypothesis at character {pos}: {message}\n  "
                         f"{text}\n  {' ' * pos}^\n  parameter names: {names}")

    def close():
        nonlocal row, constant, side
        if expect_term:
            fail("an equation ends without a term")
        if not row.any():
            fail("the equation names no parameter")
        rows.append(row)
        q.append(0.0 - constant)  # (no -0.0)
        row, constant, side = np.zeros(len(names)), 0.0, 1.0

    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if expect_term:
            if char in "+-" and factor is None:
                sign = sign * (-1.0 if char == "-" else 1.0)
                pos += 1
                continue
            name = next((n for n in by_length if text.startswith(n, pos)), None)
            number = _NUMBER.match(text, pos)
            if name is not None and (number is None or len(name) >= number.end() - pos):
                row[names.index(name)] += side * sign * (1.0 if factor is None else factor)
                pos += len(name)
            elif number is not None:
                value = float(number.group())
                pos = number.end()
                rest = text[pos:].lstrip()
                if rest.startswith("*"):
                    factor = (1.0 if factor is None else factor) * value
                    pos = len(text) - len(rest) + 1
                    continue
                constant += side * sign * value * (1.0 if factor is None else factor)
            else:
                fail("expected a parameter name or a number")
            sign, factor, expect_term = 1.0, None, False
            continue
        if char in "+-":
            sign, expect_term = (-1.0 if char == "-" else 1.0), True
        elif char == "=":
            if side < 0:
                fail("a second '=' in one equation")
            side, expect_term = -1.0, True
        elif char == ",":
            close()
            expect_term = True
        else:
            fail("expected '+', '-', '=' or ','")
        pos += 1
    close()
    return np.array(rows), np.array(q)


def wald_test(est, hypotheses, cov_type=None, base_class=None) -> WaldTestResult:
    """See :meth:`MarginsMixin.wald_test`."""
    cov_type = est._cov_type(cov_type)
    reported = est._reported(base_class)
    names = parameter_names(reported.index)
    if isinstance(hypotheses, str):
        R, q = parse(hypotheses, names)
    else:
        R, q = _matrix_form(hypotheses, len(names))
    if est.inference_ is None:
        raise ValueError("a Wald test needs standard errors: " + est._no_inference()[1])
    b = reported.matrix @ est.result_.params
    cov = est._reported_covariance(reported, cov_type)[0]
    used = np.abs(R).sum(axis=0) > 0
    missing = used & np.isnan(np.diag(cov))
    if missing.any():
        raise ValueError(f"the hypothesis involves {[names[i] for i in np.flatnonzero(missing)]}"
                         ", which were not estimated (aliased, or diverging for want of "
                         "weight)")
    df = int(np.linalg.matrix_rank(R))
    if df < len(R):
        raise ValueError(f"the {len(R)} hypotheses are linearly dependent (rank {df}): "
                         "drop the redundant ones")
    sub = np.ix_(used, used)
    Ru = R[:, used]
    diff = Ru @ b[used] - q
    middle = Ru @ cov[sub] @ Ru.T
    statistic = float(diff @ np.linalg.solve(middle, diff))
    return WaldTestResult(statistic, df, float(st.chi2.sf(statistic, df)), R, q,
                          tuple(names), cov_type)


def _matrix_form(hypotheses, k: int):
    try:
        R, q = hypotheses
    except (TypeError, ValueError):
        raise ValueError("hypotheses must be a string or a pair (R, q)") from None
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    q = np.zeros(len(R)) if q is None else np.atleast_1d(np.asarray(q, dtype=np.float64))
    if R.shape[1] != k or q.shape != (len(R),):
        raise ValueError(f"R must have shape (r, {k}) (one column per reported parameter, in "
                         f"summary order) and q shape (r,); got {R.shape} and {q.shape}")
    if not (np.isfinite(R).all() and np.isfinite(q).all()):
        raise ValueError("R and q must be finite")
    return R, q
