"""Every solver path (newton, newton-cg, lbfgs and auto's choice) reaches the optimum of an
independent reference fit on small versions of each kind of problem of issue 12.

The reference objectives are written here from the documented formula (weighted mean
log-loss + alpha/2 ||slopes||^2, intercepts and cut points unpenalised; ordinal
P(Y <= j | x) = F(theta_j - x @ coef)), with their own gradients and Hessians, and
minimised by scipy.optimize.minimize(method="trust-exact"). logitkit's fit is then
evaluated with the same code:

- objective within 1e-9 relative of the reference's (or lower);
- coefficients within what the conditioning allows: near the optimum ||theta - theta*||
  <= ||gradient(theta)|| / lambda_min(Hessian), so both fits' gradients, divided by the
  reference Hessian's smallest eigenvalue, bound their distance (times 10 for the
  quadratic model, plus 1e-9 relative for rounding).
Slopes are compared in standardised coordinates (slope x column sd), the ones the
conditioning argument holds in for the badly scaled design.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import scipy.optimize as so
import scipy.special as sc
import scipy.stats as st
from threadpoolctl import threadpool_limits

import logitkit as lk

SOLVERS = ("newton", "newton-cg", "lbfgs", "auto")
OBJECTIVE_RTOL = 1e-9


# ---- reference objectives: value, gradient, Hessian of a flat parameter vector ------------

@dataclass
class Softmax:
    """Mean log-loss of softmax over K classes (K = 2: the binary logit) + alpha/2
    ||slopes||^2. Parameters: slopes (m, d) in standardised coordinates (coef * sd), then
    m intercepts; m = 1 (binary: log-odds of class 1) or K with class 0's intercept fixed
    at 0 (the penalty makes the slopes sum to zero over classes at the optimum)."""

    X: np.ndarray  # (n, d) standardised design
    y: np.ndarray
    K: int
    alpha: float
    sd: np.ndarray  # (d,) column scales: coef = slopes / sd

    @property
    def m(self):
        return 1 if self.K == 2 else self.K

    @property
    def size(self):
        d = self.X.shape[1]
        return self.m * d + (1 if self.K == 2 else self.K - 1)

    def split(self, theta):
        d = self.X.shape[1]
        B = theta[: self.m * d].reshape(self.m, d)
        c = theta[self.m * d:]
        return B, (c if self.K == 2 else np.r_[0.0, c])

    def logits(self, theta):
        B, c = self.split(theta)
        Z = self.X @ B.T + c
        return np.hstack([np.zeros_like(Z), Z]) if self.K == 2 else Z

    def value(self, theta):
        Z = self.logits(theta)
        n = len(self.y)
        loss = np.mean(sc.logsumexp(Z, axis=1) - Z[np.arange(n), self.y])
        B, _ = self.split(theta)
        return loss + 0.5 * self.alpha * np.sum((B / self.sd) ** 2)

    def _residual(self, theta):
        """(n, m) derivative of the row losses by the logits that are parameters."""
        P = sc.softmax(self.logits(theta), axis=1)
        Y = np.eye(self.K)[self.y]
        return (P - Y)[:, 1:] if self.K == 2 else P - Y, P

    def _design(self):
        """(n, d + 1) design with a column of ones (the intercept)."""
        return np.hstack([self.X, np.ones((len(self.y), 1))])

    def gradient(self, theta):
        R, _ = self._residual(theta)
        n, d = self.X.shape
        GB = R.T @ self.X / n
        B, _ = self.split(theta)
        GB = GB + self.alpha * B / self.sd**2
        Gc = R.sum(axis=0) / n
        return np.r_[GB.ravel(), Gc if self.K == 2 else Gc[1:]]

    def _order(self):
        """Index in the (m, d + 1) grid of (class, design column) of each parameter."""
        d1 = self.X.shape[1] + 1
        slopes = (np.arange(self.m)[:, None] * d1 + np.arange(d1 - 1)).ravel()
        first = 0 if self.K == 2 else 1
        return np.r_[slopes, np.arange(first, self.m) * d1 + d1 - 1]

    def hessian(self, theta):
        """sum_i (diag(p_i) - p_i p_i') kron a_i a_i' / n over the (m, d + 1) grid, then
        the parameters' rows and columns, + the penalty."""
        _, P = self._residual(theta)
        P = P[:, 1:] if self.K == 2 else P
        A, n = self._design(), len(self.y)
        d1 = A.shape[1]
        M = (P[:, :, None] * A[:, None, :]).reshape(n, -1)  # (n, m * (d + 1))
        H = -M.T @ M
        for k in range(self.m):
            H[k * d1:(k + 1) * d1, k * d1:(k + 1) * d1] += (A.T * P[:, k]) @ A
        order = self._order()
        H = H[np.ix_(order, order)] / n
        d = self.X.shape[1]
        diag = np.arange(self.m * d)
        H[diag, diag] += self.alpha / np.tile(self.sd, self.m) ** 2
        return H

    def hessp(self, theta, v):
        """The Hessian times v without forming it (two products with the design)."""
        _, P = self._residual(theta)
        P = P[:, 1:] if self.K == 2 else P
        A, n, d = self._design(), len(self.y), self.X.shape[1]
        V = np.zeros(self.m * (d + 1))
        V[self._order()] = v
        U = A @ V.reshape(self.m, d + 1).T  # (n, m): change of each logit
        S = P * U
        T = S - P * S.sum(axis=1, keepdims=True)
        HV = (T.T @ A).ravel()[self._order()] / n
        HV[: self.m * d] += self.alpha * v[: self.m * d] / np.tile(self.sd, self.m) ** 2
        return HV

    def from_model(self, model):
        coef = np.atleast_2d(model.coef_) * self.sd
        intercept = np.atleast_1d(model.intercept_).astype(float)
        if self.K > 2:
            intercept = intercept[1:] - intercept[0]
            coef = coef - coef.mean(axis=0)
        return np.r_[coef.ravel(), intercept]


# (CDF, density, derivative of the density, survival function) of each link
LINKS = {
    "logit": (sc.expit, lambda x: sc.expit(x) * sc.expit(-x),
              lambda x: sc.expit(x) * sc.expit(-x) * (1 - 2 * sc.expit(x)),
              lambda x: sc.expit(-x)),
    "probit": (st.norm.cdf, st.norm.pdf, lambda x: -x * st.norm.pdf(x), st.norm.sf),
    "cloglog": (lambda x: -np.expm1(-np.exp(x)), lambda x: np.exp(x - np.exp(x)),
                lambda x: np.exp(x - np.exp(x)) * (1 - np.exp(x)),
                lambda x: np.exp(-np.exp(x))),
}


def _finite(function, x):
    """function(x) where x is finite, 0 at the infinite ends (density and its slope)."""
    out = np.zeros_like(x)
    finite = np.isfinite(x)
    out[finite] = function(x[finite])
    return out


@dataclass
class CumulativeLink:
    """Mean negative log-likelihood of P(Y <= j) = F(cuts_j - x @ coef), no penalty.
    Parameters: coef (d,), then the K - 1 cut points."""

    X: np.ndarray
    y: np.ndarray
    K: int
    link: str

    @property
    def size(self):
        return self.X.shape[1] + self.K - 1

    def _parts(self, theta):
        d, n = self.X.shape[1], len(self.y)
        full = np.r_[-np.inf, theta[d:], np.inf]
        eta = self.X @ theta[:d]
        u, lo = full[self.y + 1] - eta, full[self.y] - eta
        # Jacobians of u and lo by the parameters: -x for coef, +1 for its own cut point
        Ju = np.hstack([-self.X, np.zeros((n, self.K - 1))])
        Jl = Ju.copy()
        top, bottom = self.y < self.K - 1, self.y > 0
        Ju[np.flatnonzero(top), d + self.y[top]] = 1.0
        Jl[np.flatnonzero(bottom), d + self.y[bottom] - 1] = 1.0
        return u, lo, Ju, Jl

    def _cell(self, u, lo):
        F, _, _, S = LINKS[self.link]
        with np.errstate(invalid="ignore"):
            return np.where(lo > 0, S(lo) - S(u), F(u) - F(lo))

    def value(self, theta):
        u, lo, _, _ = self._parts(theta)
        cell = self._cell(u, lo)
        return np.inf if np.any(~(cell > 0)) else -np.mean(np.log(cell))

    def _derivatives(self, theta):
        _, f, df, _ = LINKS[self.link]
        u, lo, Ju, Jl = self._parts(theta)
        P = self._cell(u, lo)
        fu, fl, dfu, dfl = _finite(f, u), _finite(f, lo), _finite(df, u), _finite(df, lo)
        a, b = fu / P, -fl / P  # d log P / du, d log P / dlo
        return a, b, dfu / P - a * a, -dfl / P - b * b, -a * b, Ju, Jl

    def gradient(self, theta):
        a, b, _, _, _, Ju, Jl = self._derivatives(theta)
        return -(a @ Ju + b @ Jl) / len(self.y)

    def hessian(self, theta):
        _, _, huu, hll, hul, Ju, Jl = self._derivatives(theta)
        H = (Ju.T * huu) @ Ju + (Jl.T * hll) @ Jl + (Ju.T * hul) @ Jl
        H = H + (Jl.T * hul) @ Ju
        return -H / len(self.y)

    def from_model(self, model):
        return np.r_[model.coef_, model.thresholds_]


@dataclass
class Reference:
    theta: np.ndarray
    value: float
    smallest_curvature: float  # the Hessian's smallest eigenvalue at theta


def reference_fit(problem, start):
    """scipy's trust-exact (newton-cg with Hessian-vector products beyond 400 parameters,
    then one exact Newton step), checked to be within 1e-12 relative of the optimum:
    ||g||^2 / (2 lambda_min) bounds what is left to gain near the optimum of a strongly
    convex objective."""
    if problem.size > 400:
        theta = so.minimize(problem.value, start, jac=problem.gradient, hessp=problem.hessp,
                            method="newton-cg", options={"xtol": 1e-12, "maxiter": 500}).x
        hessian = problem.hessian(theta)
        theta = theta - np.linalg.solve(hessian, problem.gradient(theta))
    else:
        theta = so.minimize(problem.value, start, jac=problem.gradient, hess=problem.hessian,
                            method="trust-exact", options={"gtol": 1e-11, "maxiter": 500}).x
        hessian = problem.hessian(theta)
    smallest = np.linalg.eigvalsh(hessian)[0]  # (after the Newton step: as good a bound)
    assert smallest > 0
    value, gradient = problem.value(theta), np.linalg.norm(problem.gradient(theta))
    assert gradient**2 / (2 * smallest) < 1e-12 * abs(value)
    return Reference(theta, value, smallest)


# ---- small problems of each kind -------------------------------------------------------------

def _binary_labels(eta, rng):
    return (eta + rng.logistic(size=len(eta)) > 0).astype(np.int64)


def _standardised(X):
    sd = X.std(axis=0)
    return X / sd, sd


@dataclass
class Case:
    fit_input: object  # what logitkit is given: an array or a DataFrame
    y: np.ndarray
    problem: object
    start: np.ndarray
    params: dict  # the estimator's parameters, solver aside


def softmax_case(X, y, alpha, fit_input=None):
    Z, sd = _standardised(np.asarray(X, dtype=float))
    K = int(y.max()) + 1
    problem = Softmax(Z, y, K, alpha, sd)
    return Case(X if fit_input is None else fit_input, y, problem, np.zeros(problem.size),
                {"alpha": alpha})


def binary_problem(kind, rng):
    n, d = 3000, 8
    X = rng.normal(size=(n, d))
    if kind == "iid":
        return softmax_case(X, _binary_labels(X @ rng.normal(size=d) * 0.3, rng), 0.0)
    if kind == "correlated":  # AR(1) columns, rho 0.95: condition number ~ 1500
        for j in range(1, d):
            X[:, j] = 0.95 * X[:, j - 1] + np.sqrt(1 - 0.95**2) * X[:, j]
        return softmax_case(X, _binary_labels(X @ rng.normal(size=d) * 0.5, rng), 1e-3)
    if kind == "unscaled":  # column scales 1e-3 .. 1e4
        y = _binary_labels(X @ rng.normal(size=d) * 0.5, rng)
        return softmax_case(X * np.logspace(-3, 4, d), y, 1e-4)
    if kind == "rare":  # about 0.6% positives
        X = rng.normal(size=(20_000, 5))
        y = _binary_labels(X @ rng.normal(size=5) * 0.5 - 6.0, rng)
        return softmax_case(X, y, 0.0)
    if kind == "float32":
        y = _binary_labels(X @ rng.normal(size=d) * 0.5, rng)
        return softmax_case(X.astype(np.float32), y, 1e-4)
    if kind == "wide":  # 1001 parameters: auto picks newton-cg
        X = rng.normal(size=(200, 1000))
        return softmax_case(X, _binary_labels(X[:, :20] @ rng.normal(size=20), rng), 1e-2)
    raise ValueError(kind)


def multinomial_problem(K, rng):
    n, d = (1500, 3) if K == 50 else (3000, 6)
    X = rng.normal(size=(n, d))
    y = np.argmax(X @ rng.normal(size=(d, K)) + rng.gumbel(size=(n, K)), axis=1)
    assert len(np.unique(y)) == K
    return softmax_case(X, y, 1e-2 if K == 50 else 1e-3)


INVERSE_LINKS = {"logit": sc.logit, "probit": st.norm.ppf,
                 "cloglog": lambda p: np.log(-np.log1p(-p))}


def ordinal_problem(link, rng):
    n, d, K = 3000, 5, 5
    X = rng.normal(size=(n, d))
    noise = {"logit": rng.logistic(size=n), "probit": rng.normal(size=n),
             "cloglog": np.log(-np.log(rng.uniform(size=n)))}[link]
    latent = X @ rng.normal(size=d) + noise
    y = np.digitize(latent, np.quantile(latent, [0.1, 0.35, 0.6, 0.9]))
    problem = CumulativeLink(X, y, K, link)
    cumulative = np.cumsum(np.bincount(y, minlength=K))[:-1] / n
    start = np.r_[np.zeros(d), INVERSE_LINKS[link](cumulative)]
    return Case(X, y, problem, start, {"link": link})


def categorical_problem(rng):
    """2 Categorical columns of 6 and 4 levels and 3 numeric ones; the reference design is
    built here: the frame's columns in order, a categorical one as indicators of its
    levels after the first."""
    n = 3000
    frame = pd.DataFrame({
        "a": pd.Categorical.from_codes(rng.integers(0, 6, n), list("uvwxyz")),
        "x0": rng.normal(size=n),
        "b": pd.Categorical.from_codes(rng.integers(0, 4, n), ["p", "q", "r", "s"]),
        "x1": rng.normal(size=n) * 10.0,
        "x2": rng.normal(size=n),
    })
    parts = []
    for name in frame:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            parts.append((codes[:, None] == np.arange(1, len(column.cat.categories))) * 1.0)
        else:
            parts.append(column.to_numpy()[:, None])
    X = np.hstack(parts)
    y = _binary_labels(X @ rng.normal(size=X.shape[1]) * 0.5, rng)
    return softmax_case(X, y, 1e-4, fit_input=frame)


BUILDERS = {
    "binary-iid": lambda rng: binary_problem("iid", rng),
    "binary-correlated": lambda rng: binary_problem("correlated", rng),
    "binary-unscaled": lambda rng: binary_problem("unscaled", rng),
    "binary-rare": lambda rng: binary_problem("rare", rng),
    "binary-float32": lambda rng: binary_problem("float32", rng),
    "binary-wide": lambda rng: binary_problem("wide", rng),
    "multinomial-k3": lambda rng: multinomial_problem(3, rng),
    "multinomial-k50": lambda rng: multinomial_problem(50, rng),
    "ordinal-logit": lambda rng: ordinal_problem("logit", rng),
    "ordinal-probit": lambda rng: ordinal_problem("probit", rng),
    "ordinal-cloglog": lambda rng: ordinal_problem("cloglog", rng),
    "categorical-frame": categorical_problem,
}
_CACHE = {}
# what "auto" picks: Newton for few parameters, truncated Newton beyond 1000 (L-BFGS first
# needs X larger than its history: see test_lbfgs_first.py)
AUTO_CHOICE = {"binary-iid": "newton", "ordinal-probit": "newton", "binary-wide": "newton-cg"}


def case_and_reference(name):
    """The case's data and its reference optimum, built once per test session."""
    if name not in _CACHE:
        rng = np.random.default_rng(sorted(BUILDERS).index(name))
        case = BUILDERS[name](rng)
        _CACHE[name] = case, reference_fit(case.problem, case.start)
    return _CACHE[name]


def fit_logitkit(case, solver):
    params = dict(case.params, solver=solver, inference=False)
    if solver == "lbfgs":
        params["max_iter"] = 5000  # its default 100 stops short on K=50 (ConvergenceWarning)
    if "link" in params:
        return lk.OrdinalLogisticRegression(**params).fit(case.fit_input, case.y)
    return lk.LogisticRegression(**params).fit(case.fit_input, case.y)


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small problems: one BLAS thread is as fast, and steadier on a shared machine (the
    1001-parameter Newton fit took 5x longer with two threads under load)."""
    with threadpool_limits(limits=1):
        yield


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", list(BUILDERS))
def test_solver_reaches_the_reference_optimum(name, solver):
    case, reference = case_and_reference(name)
    problem = case.problem
    model = fit_logitkit(case, solver)
    assert model.converged_
    ours = problem.from_model(model)
    value = problem.value(ours)
    assert value <= reference.value + OBJECTIVE_RTOL * abs(reference.value)
    # distance bound from both gradients and the smallest curvature at the optimum
    slack = (np.linalg.norm(problem.gradient(ours))
             + np.linalg.norm(problem.gradient(reference.theta)))
    bound = 10 * slack / reference.smallest_curvature
    bound += 1e-9 * (1 + np.linalg.norm(reference.theta))
    assert np.linalg.norm(ours - reference.theta) <= bound
    if solver == "auto" and name in AUTO_CHOICE:
        assert model.result_.solver == AUTO_CHOICE[name]
