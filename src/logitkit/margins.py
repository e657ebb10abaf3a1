"""Marginal effects (Stata's ``margins``) with delta-method standard errors.

For each term and outcome class k the effect of x_j on P_k = P(y = classes_[k] | x):
"dydx" dP_k/dx_j, "eyex" dP_k/dx_j * x_j / P_k, "dyex" dP_k/dx_j * x_j, "eydx"
dP_k/dx_j / P_k, averaged over the rows (``at="overall"``, frequency weights as
repeated rows), or at one row of means, medians or zeros; a dict fixes some columns
in every row and averages over the rows (Stata's ``at(x=v)``). With ``discrete=True``
a 0/1 column and each level of a one-hot factor (a categorical column, or formula
columns named ``name[level]`` / ``name[T.level]`` that are one-hot) get a discrete
change instead, P_k(level) - P_k(reference) with the other columns as they are
(Stata's factor variables, statsmodels' ``dummy=True``); for "eydx" the change in
log P_k; "eyex" and "dyex" are not defined for them (Stata and statsmodels refuse):
NaN with a note. The Jacobian of the averaged effects in theta is computed by central
differences per row block (Stata's margins differentiates numerically too), so no
(n, p) array is formed; its covariance is J V J' with V the fit's covariance of the
chosen ``cov_type``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from logitkit.class_probabilities import ClassProbabilities, dense
from logitkit.delta_method import check_level, natural_covariance, z_table
from logitkit.fitted_rows import FitRows
from logitkit.messages import plain
from logitkit.summary import Summary

METHODS = {"dydx": "dy/dx", "eyex": "ey/ex", "dyex": "dy/ex", "eydx": "ey/dx"}
AT = {"overall": "average over the rows", "mean": "at the means",
      "median": "at the medians", "zero": "at zero"}
_FACTOR_NAME = re.compile(r"^(?P<prefix>.+)\[(?:T\.)?[^\[\]]*\]$")
_BLOCK_VALUES = 2**17  # float64 entries of a block's (b, K, d) arrays (1 MiB)
_MEDIAN_COLUMNS = 64  # columns gathered at a time for weighted medians


@dataclass(frozen=True)
class Term:
    """One reported effect: a derivative in ``column``, or (``group`` set) the discrete
    change of the factor group ``group`` from its reference to ``column``."""

    label: str
    column: int
    group: tuple | None = None


@dataclass(frozen=True)
class MarginalEffects:
    """table: one row per term (binary) or per (class, term): effect, std_err, z,
    p_value, ci_lower, ci_upper, kind ("derivative" or "discrete change"); cov: the
    effects' covariance (NaN without inference); method, at, cov_type, n_obs: how
    they were computed; notes: lines for the summary."""

    table: pd.DataFrame
    cov: pd.DataFrame
    method: str
    at: str
    cov_type: str
    n_obs: float
    level: float
    notes: tuple = field(default=())

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        """The table as text, like ``summary()`` (str() prints it)."""
        table = self.table.rename(columns={"effect": "coef"})
        table["note"] = np.where(table["kind"] == "discrete change", "discrete", "")
        table = table.drop(columns="kind")
        n_obs = int(self.n_obs) if float(self.n_obs).is_integer() else self.n_obs
        header = (("method", "Effect", METHODS[self.method]),
                  ("at", "At", self.at),
                  ("cov_type", "Covariance type", self.cov_type),
                  ("n_obs", "No. observations", n_obs))
        title = ("Average marginal effects" if self.at == AT["overall"]
                 else "Marginal effects")
        notes = ()
        if (self.table["kind"] != "derivative").any():
            notes = ("Rows marked (discrete) are discrete changes from the reference level "
                     "(0/1 columns: from 0 to 1)" + (
                         "; an elasticity in x is not defined for them (NaN): use "
                         "discrete=False for the derivative." if self.method.endswith("ex")
                         else "."),)
        return Summary(title, header, table, notes + self.notes, level=self.level,
                       estimate_label=METHODS[self.method])

    def __str__(self) -> str:
        return str(self.summary())


class _Rows:
    """Where effects are evaluated: row blocks of (X dense (b, d), weights (b,), offset)."""

    def __init__(self, rows: FitRows, d: int, K: int, fixed: dict | None = None):
        self.rows, self.fixed = rows, fixed or {}
        self.n = rows.X.shape[0]
        self.size = max(64, _BLOCK_VALUES // max(1, K * (d + 1)))

    def blocks(self):
        X, w, off = self.rows.X, self.rows.weights, self.rows.offset
        for start in range(0, self.n, self.size):
            sl = slice(start, min(start + self.size, self.n))
            Xb = dense(X[sl])
            if self.fixed:  # (a copy: the block may be a view of the fitting rows)
                Xb = Xb.copy()
            for j, value in self.fixed.items():
                Xb[:, j] = value
            yield (Xb, np.asarray(dense(w[sl]).reshape(-1)),
                   None if off is None else np.asarray(off[sl], dtype=np.float64))


class _Point(_Rows):
    """One row (means, medians or zeros) of weight 1."""

    def __init__(self, x, offset):
        self.x, self.offset = x, offset

    def blocks(self):
        yield self.x[None, :], np.ones(1), None if self.offset is None else self.offset[None]


def marginal_effects(est, at="overall", method="dydx", discrete=True, cov_type=None,
                     level=0.95, X=None, sample_weight=None, offset=None) -> MarginalEffects:
    """See :meth:`MarginsMixin.marginal_effects`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {plain(method)!r}")
    level = check_level(level)
    cov_type = est._cov_type(cov_type)
    cp = ClassProbabilities(est)
    rows = _evaluation_rows(est, X, sample_weight, offset)
    names = list(est.coef_names_)
    stats = _scan(rows, cp.d, _candidate_groups(est, names))
    if stats["total"] <= 0:
        raise ValueError("the rows have no positive weight: there is nothing to average over")
    fixed = _fixed_columns(est, at, names, rows, stats) if isinstance(at, dict) else {}
    terms = _terms(names, stats, discrete)
    where = _where(at, rows, stats, cp, fixed)
    classes = [1] if cp.kind == "binary" else list(range(cp.K))
    V, reason = natural_covariance(est, cov_type)
    total = 1.0 if isinstance(where, _Point) else stats["total"]
    free = est._free() if V is not None else np.zeros(cp.p, bool)
    effects, jacobian = _averages(cp, where, terms, method, classes, total, free,
                                  stats["rms"])
    r = effects.size
    cov = np.full((r, r), np.nan) if V is None else jacobian @ V @ jacobian.T
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    aliased = est.result_.aliased
    if aliased is not None and aliased.any():  # effects of columns left out of the fit
        missing = np.tile([bool(aliased[t.column]) for t in terms], len(classes))
        effects = np.where(missing.reshape(effects.shape), np.nan, effects)
        se[missing] = np.nan
        cov[missing, :] = cov[:, missing] = np.nan
    index = _index(est, classes, terms)
    table = z_table(effects.ravel(), se, index, level)
    table["kind"] = ["discrete change" if t.group is not None else "derivative"
                     for _ in classes for t in terms]
    notes = () if reason is None else (f"Standard errors are not reported: {reason}.",)
    at_label = AT[at] if isinstance(at, str) else "at " + ", ".join(
        f"{k}={plain(v)}" for k, v in at.items()) + " (other columns as observed), averaged"
    return MarginalEffects(table, pd.DataFrame(cov, index=index, columns=index), method,
                           at_label, cov_type, stats["total"], level, notes)


def _evaluation_rows(est, X, sample_weight, offset) -> FitRows:
    """The fitting rows, or X (encoded as at predict time) with its weights."""
    if X is None:
        if sample_weight is not None or offset is not None:
            raise ValueError("sample_weight and offset go with X: pass X too, or neither "
                             "(the fitting rows and their weights)")
        return est.fitted_rows()
    Xd = est._design(X, reset=False)
    n = Xd.shape[0]
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    if weights.shape != (n,) or not np.all(np.isfinite(weights)) or (weights < 0).any():
        raise ValueError(f"sample_weight must hold {n} finite values >= 0, one per row of X")
    offset = est._offset(Xd, offset, "marginal_effects")
    return FitRows(Xd, None, weights, None, offset)


def _candidate_groups(est, names) -> list[tuple]:
    """Consecutive column groups that may be one-hot factors: the encoder's categorical
    columns, then runs of formula-style names ``prefix[level]`` sharing a prefix."""
    groups, taken, position = [], set(), 0
    for col in getattr(getattr(est, "encoder_", None), "columns", ()) or ():
        width = len(col.output_names)
        if col.levels is not None:
            groups.append(tuple(range(position, position + width)))
            taken.update(groups[-1])
        position += width
    j = 0
    while j < len(names):
        match = _FACTOR_NAME.match(names[j])
        if j in taken or not match:
            j += 1
            continue
        end = j + 1
        while end < len(names) and end not in taken and (
                (m := _FACTOR_NAME.match(names[end])) and m["prefix"] == match["prefix"]):
            end += 1
        groups.append(tuple(range(j, end)))
        j = end
    return groups


def _scan(rows: FitRows, d: int, groups) -> dict:
    """One pass over the rows: total weight, weighted sums of x and x^2, which columns
    hold only 0 and 1, and which candidate groups are one-hot (row sums <= 1)."""
    total, sums, squares = 0.0, np.zeros(d), np.zeros(d)
    binary, one_hot = np.ones(d, bool), np.ones(len(groups), bool)
    for Xb, w, _ in _Rows(rows, d, 1).blocks():
        total += w.sum()
        sums += w @ Xb
        squares += w @ (Xb * Xb)
        binary &= ((Xb == 0) | (Xb == 1)).all(axis=0)
        for g, group in enumerate(groups):
            one_hot[g] &= bool((Xb[:, list(group)].sum(axis=1) <= 1).all())
    rms = np.sqrt(squares / total) if total > 0 else np.ones(d)
    factors = [g for g, ok in zip(groups, one_hot, strict=True)
               if ok and binary[list(g)].all()]
    return {"total": total, "mean": sums / total if total > 0 else sums, "rms": rms,
            "binary": binary, "factors": factors}


def _terms(names, stats, discrete) -> list[Term]:
    if not isinstance(discrete, (bool, np.bool_)):
        raise ValueError(f"discrete must be True (discrete changes for 0/1 and factor "
                         f"columns) or False (derivatives), got {plain(discrete)!r}")
    group_of = {j: g for g in stats["factors"] for j in g} if discrete else {}
    return [Term(name, j, group_of.get(j, (j,) if discrete and stats["binary"][j] else None))
            for j, name in enumerate(names)]


def _fixed_columns(est, at: dict, names, rows, stats) -> dict:
    """{column: value} of an ``at`` dict: design column names, or a categorical input
    column's name with one of its levels (its one-hot columns are set); a value "mean"
    or "median" takes the column's (weighted) mean or median over the rows."""
    fixed, position, encodings = {}, 0, {}
    for col in getattr(getattr(est, "encoder_", None), "columns", ()) or ():
        encodings[col.name] = (position, col)
        position += len(col.output_names)
    medians = None
    for key, value in at.items():
        if key in encodings and encodings[key][1].levels is not None:
            start, col = encodings[key]
            columns = list(range(start, start + len(col.levels) - 1))
        elif key in names:
            columns = [names.index(key)]
        else:
            raise ValueError(f"at has {key!r}, which is not a column of the model; its "
                             f"columns are {names}")
        if isinstance(value, str) and value in ("mean", "median"):
            if value == "median" and medians is None:
                medians = _medians(rows, len(names))
            source = stats["mean"] if value == "mean" else medians
            fixed.update({j: float(source[j]) for j in columns})
        elif len(columns) > 1 or key in encodings and encodings[key][1].levels is not None:
            levels = encodings[key][1].levels
            if value not in levels:
                raise ValueError(f"at[{key!r}] = {plain(value)!r} is not one of the levels "
                                 f"{plain(list(levels))} of {key!r} (or 'mean', 'median')")
            fixed.update({j: float(level == value) for j, level in zip(columns, levels[1:],
                                                                        strict=True)})
        else:
            if not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise ValueError(f"at[{key!r}] must be a finite number, 'mean' or 'median', "
                                 f"got {plain(value)!r}")
            fixed[columns[0]] = float(value)
    if not fixed:
        raise ValueError("at={} fixes nothing: use at='overall'")
    return fixed


def _where(at, rows: FitRows, stats, cp, fixed) -> _Rows:
    if isinstance(at, dict):
        return _Rows(rows, cp.d, cp.K, fixed)
    if at not in AT:
        raise ValueError(f"at must be one of {list(AT)} or a dict of column values, got "
                         f"{plain(at)!r}")
    if at == "overall":
        return _Rows(rows, cp.d, cp.K)
    off = rows.offset
    if at == "mean":
        w = dense(rows.weights).reshape(-1)
        offset = None if off is None else (w @ np.asarray(off, float).reshape(len(w), -1)
                                           ) / stats["total"]
        return _Point(stats["mean"], offset)
    if at == "median":
        return _Point(_medians(rows, cp.d), None if off is None else np.array(
            [_weighted_median(np.asarray(off, float).reshape(len(off), -1)[:, k],
                              dense(rows.weights).reshape(-1))
             for k in range(np.asarray(off).reshape(len(off), -1).shape[1])]))
    return _Point(np.zeros(cp.d), None if off is None else np.zeros(
        np.asarray(off).reshape(len(off), -1).shape[1]))


def _weighted_median(values, weights) -> float:
    """The median of the values repeated by their (frequency) weights: the mean of the
    lowest values whose cumulative weight reaches, and exceeds, half the total."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], np.cumsum(weights[order])
    half = c[-1] / 2
    return 0.5 * (v[np.searchsorted(c, half, side="left")]
                  + v[min(np.searchsorted(c, half, side="right"), len(v) - 1)])


def _medians(rows: FitRows, d: int) -> np.ndarray:
    """(d,) weighted column medians, gathering _MEDIAN_COLUMNS columns at a time."""
    w = dense(rows.weights).reshape(-1)
    keep = w > 0
    out = np.zeros(d)
    for start in range(0, d, _MEDIAN_COLUMNS):
        cols = slice(start, min(start + _MEDIAN_COLUMNS, d))
        values = np.vstack([Xb[:, cols] for Xb, _, _ in _Rows(rows, d, 1).blocks()])
        for j in range(values.shape[1]):
            out[start + j] = _weighted_median(values[keep, j], w[keep])
    return out


def _block_effects(cp, theta, Xb, eta, terms, method, classes) -> np.ndarray:
    """(b, len(classes), len(terms)) per-row effects at theta, eta (b, m) the rows'
    linear predictor at theta (offset included)."""
    out = np.empty((len(Xb), len(classes), len(terms)))
    derivative = [t for t, term in enumerate(terms) if term.group is None]
    if derivative:
        columns = [terms[t].column for t in derivative]
        P, S = cp.proba_and_slopes(theta, eta, columns)
        e = S[:, classes]
        if method in ("eyex", "dyex"):
            e = e * Xb[:, None, columns]
        if method.startswith("ey"):
            e = e / P[:, classes, None]
        out[:, :, derivative] = e
    B = cp.unpack(theta)[0][:, : cp.d]
    references = {}
    for t, term in enumerate(terms):
        if term.group is None:
            continue
        if method in ("eyex", "dyex"):  # no elasticity in a 0/1 or factor column
            out[:, :, t] = np.nan
            continue
        if term.group not in references:  # the rows at the reference level
            group = list(term.group)
            eta0 = eta - Xb[:, group] @ B[:, group].T
            references[term.group] = (eta0, cp.proba_from_eta(theta, eta0)[:, classes])
        eta0, P0 = references[term.group]
        P1 = cp.proba_from_eta(theta, eta0 + B[:, term.column])[:, classes]
        with np.errstate(divide="ignore"):
            out[:, :, t] = np.log(P1) - np.log(P0) if method == "eydx" else P1 - P0
    return out


def _averages(cp, where, terms, method, classes, total, free, rms):
    """((len(classes), T) weighted mean effects, (len(classes) * T, p) Jacobian, its
    columns 0 where not ``free`` ((p,) bool)). A parameter's step moves the linear
    predictor by the step times its column (no product with X per step)."""
    theta = cp.theta
    steps = _steps(cp, theta, rms)
    free = np.flatnonzero(free)
    effects = np.zeros((len(classes), len(terms)))
    J = np.zeros((len(classes) * len(terms), cp.p))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for Xb, w, off in where.blocks():
            eta = cp.eta(theta, Xb, off)
            effects += np.einsum("b,bkt->kt", w, _block_effects(cp, theta, Xb, eta, terms,
                                                                method, classes))
            for i in free:
                sums = []
                for sign in (1.0, -1.0):
                    moved, shifted = theta.copy(), eta
                    moved[i] += sign * steps[i]
                    if i < cp.m * cp.d1:  # a slope or intercept of eta's column i // d1
                        c, col = divmod(i, cp.d1)
                        shifted = eta.copy()
                        shifted[:, c] += sign * steps[i] * (Xb[:, col] if col < cp.d else 1.0)
                    sums.append(np.einsum("b,bkt->kt", w, _block_effects(
                        cp, moved, Xb, shifted, terms, method, classes)))
                J[:, i] += (sums[0] - sums[1]).ravel() / (2 * steps[i])
    return effects / total, J / total


def _steps(cp, theta, rms) -> np.ndarray:
    """(p,) central-difference steps: eps^(1/3) times the parameter's size or the
    reciprocal of its column's root mean square (1 for intercepts and cut points)."""
    scale = np.ones(cp.p)
    for c in range(cp.m):
        start = c * cp.d1
        scale[start:start + cp.d] = 1.0 / np.maximum(rms, 1e-8)
    return np.finfo(float).eps ** (1 / 3) * np.maximum(np.abs(theta), scale)


def _index(est, classes, terms) -> pd.Index:
    labels = [t.label for t in terms]
    if len(est.classes_) == 2:
        return pd.Index(labels, name="term")
    return pd.MultiIndex.from_product([[est.classes_[k] for k in classes], labels],
                                      names=[est.target_name_ or "class", "term"])


class MarginsMixin:
    """Post-estimation: marginal_effects(), predict_interval() and wald_test()."""

    def marginal_effects(self, at="overall", method="dydx", *, discrete=True,
                         cov_type=None, level=0.95, X=None, sample_weight=None,
                         offset=None) -> MarginalEffects:
        """Marginal effects with delta-method standard errors (Stata's ``margins``).

        at: "overall" (average over the rows, weighted), "mean", "median", "zero" (at one
        row of column means, medians or zeros; the offset likewise), or a dict {column:
        value} fixing those columns in every row (a categorical input column takes one of
        its levels), averaged over the rows. method: "dydx", "eyex", "dyex" or "eydx".
        discrete: True gives 0/1 columns and the levels of one-hot factors a discrete change
        from the reference (dP, or d log P for "ey" methods); False the derivative for every
        column. cov_type: the covariance of the estimates (any of ``summary``'s, cluster-
        robust included; None: the model's own). X, sample_weight, offset: rows to average
        over instead of the fitting rows. Binary fits report P(classes_[1]); multinomial and
        ordinal fits every class. Returns a :class:`MarginalEffects`
        (``.summary()``, ``.to_frame()``).
        """
        return marginal_effects(self, at, method, discrete, cov_type, level, X,
                                sample_weight, offset)

    def predict_interval(self, X, level=0.95, *, cov_type=None, offset=None):
        """Class probabilities of the rows of X with delta-method standard errors and
        ``level`` intervals built on the link scale (binary; per class on the logit of
        P_k for multinomial and ordinal fits: :mod:`logitkit.prediction_intervals`), with
        the ``cov_type`` covariance (None: the model's own).
        Returns a DataFrame with columns (class, proba | std_err | lower | upper)."""
        from logitkit.prediction_intervals import predict_interval

        return predict_interval(self, X, level, cov_type, offset)

    def wald_test(self, hypotheses, *, cov_type=None, base_class=None):
        """Wald chi2 test of linear hypotheses on the reported parameters: a string such
        as ``"gpa = 0, C(rank)[T.2] = C(rank)[T.3]"`` (multinomial: ``[class]term``) or a
        pair (R, q) with one column of R per reported parameter in summary order
        (:mod:`logitkit.wald`), with the ``cov_type`` covariance (None: the model's own).
        Returns a :class:`~logitkit.wald.WaldTestResult`."""
        from logitkit.wald import wald_test

        return wald_test(self, hypotheses, cov_type, base_class)
