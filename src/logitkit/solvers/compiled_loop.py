"""Compiled minibatch epochs on the host (numba, the optional ``logitkit[fast]`` extra).

:class:`~logitkit.solvers.stochastic.Trainer` runs its NumPy steps through
:meth:`Objective.batch_value_grad`; a step of 32 rows then costs tens of microseconds of
Python and NumPy dispatch for a few thousand flops. Here the same steps run as one
compiled loop over the epoch: the batch's linear predictor, the family's loss and
gradient, the penalty, the chain rule to the trained coordinates (ordinal cut points),
the optimizer's update in place, and the epoch's loss and accuracy sums. The arithmetic
follows the NumPy path operation by operation (Keras's update rules, the same stable
forms of the losses), so the two agree to rounding (sums over a batch may add in another
order): the tests compare them on every family and optimizer.

Covered: the binomial family, the full softmax (multinomial, as trained), the ordinal
family with the logit and cloglog links; SGD (momentum, Nesterov), Adam, RMSprop
(momentum) and Adagrad with any learning-rate schedule (the optimizer's per-step numbers
come from :meth:`GradientTransformation.table`); float32 or float64 X in a NumPy array
(in C order; else gathered into C order a window of steps at a time). The probit link
takes the NumPy steps, X on a torch device the device loop. Without numba installed, or
with ``LOGITKIT_NUMBA=0`` in the environment, every fit takes the NumPy steps. The
compiled functions are cached on disk (numba's ``cache=True``): the first fit after
installing compiles them once per X dtype (seconds), later processes load them (about
half a second, numba's import included, on a process's first compiled epoch).
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading

import numpy as np

from logitkit.solvers.optimizers import advance

# set LOGITKIT_NUMBA=0 to take the NumPy path everywhere (tests switch it per test)
ENABLED = os.environ.get("LOGITKIT_NUMBA", "1") != "0"
# numba is imported on the first compiled epoch, not with logitkit
_INSTALLED = importlib.util.find_spec("numba") is not None
_COMPILED = False
_LOCK = threading.Lock()

SGD, ADAM, RMSPROP, ADAGRAD = range(4)
_OPTIMIZER_CODES = {"sgd": SGD, "adam": ADAM, "rmsprop": RMSPROP, "adagrad": ADAGRAD}
_LINK_CODES = {"logit": 0, "cloglog": 1}
_CLOGLOG_END = 700.0  # the ordinal family's clip of an infinite upper end (see ordinal.py)
# X not in C order: the rows of this many steps are gathered into a C-ordered copy at once
_WINDOW_STEPS = 256


def available() -> bool:
    """numba is installed and not switched off."""
    return _INSTALLED and ENABLED


_JITTED: dict = {}


def jitted(function, **helpers):
    """``function`` compiled by numba (once; cached on disk), or ``function`` itself
    without numba. ``helpers``: name -> function of the module-level names it calls that
    must run compiled too; they are compiled and bound in its module first (the Python
    versions they replace are the same code)."""
    if not available():
        return function
    with _LOCK:
        if function not in _JITTED:
            import numba

            for name, helper in helpers.items():
                function.__globals__[name] = numba.njit(cache=True, nogil=True)(helper)
            _JITTED[function] = numba.njit(cache=True, nogil=True)(function)
    return _JITTED[function]


def supports(problem, config) -> bool:
    """Whether ``problem.train`` under ``config``'s optimizer runs compiled here."""
    from logitkit.families import Binomial, Multinomial, Ordinal

    ob = problem.train
    X = ob.X
    if not (available() and isinstance(X, np.ndarray) and X.ndim == 2
            and X.dtype in (np.float32, np.float64) and config.optimizer in _OPTIMIZER_CODES):
        return False
    family = ob.family
    if ob.offset is not None:  # (the loop's kernels take no offset)
        return False
    if isinstance(family, Multinomial):
        return family.full
    if isinstance(family, Ordinal):
        return family.link in _LINK_CODES and ob.q >= 1
    return isinstance(family, Binomial)


class CompiledEpochs:
    """One :meth:`Trainer.run`'s epochs in the compiled loop (the interface of
    :class:`~logitkit.solvers.device_loop.DeviceLoop`): the problem's data and settings
    in the loop's layout; u and the optimizer state are the trainer's, updated in place."""

    def __init__(self, problem, trainer, batch: int):
        from logitkit.families import Multinomial, Ordinal

        ob = problem.train
        self.problem, self.trainer, self.batch = problem, trainer, batch
        self.steps_per_epoch = max(1, math.ceil(ob.n / batch))
        self.X = ob.X
        self.y = np.ascontiguousarray(ob.y, dtype=np.float64)
        self.w = np.ascontiguousarray(ob.w, dtype=np.float64)
        family = ob.family
        self.kind = 1 if isinstance(family, Multinomial) else 2 if isinstance(
            family, Ordinal) else 0
        self.link = _LINK_CODES.get(getattr(family, "link", "logit"), 0)
        self.unit = bool(ob.total_weight == ob.n and np.all(self.w == 1.0))
        c = trainer.config
        self.optimizer = _OPTIMIZER_CODES[c.optimizer]
        self.hyper = np.array([c.momentum, float(c.nesterov), c.beta_1, c.beta_2, c.rho,
                               c.epsilon])
        self.rows = np.arange(ob.n)  # the stored order, when not shuffled
        self.sizes = np.array([ob.n, ob.d, ob.m, ob.q, int(ob.fit_intercept), ob.n_classes],
                              dtype=np.int64)

    def epoch(self, order, progress=None) -> tuple[float, float]:
        """One epoch in the row ``order`` (None: as stored); returns (sum over steps of the
        batch objective times its rows, weight of the correctly classified rows).
        ``progress(steps_done, loss_sum, correct, weight_seen)``, if given, is called
        after each tenth of the epoch (which then runs in ten parts)."""
        steps, n = self.steps_per_epoch, self.X.shape[0]
        sums = np.zeros(2)
        every = steps if progress is None else max(1, steps // 10)
        for first in range(0, steps, every):
            stop = min(first + every, steps)
            self.steps(order, first, stop, sums)
            if progress is not None:
                end = min(stop * self.batch, n)
                seen = (end if self.unit else float(
                    self.w[:end].sum() if order is None else self.w[order[:end]].sum()))
                progress(stop, sums[0], sums[1], seen)
        return float(sums[0]), float(sums[1])

    def steps(self, order, first: int, stop: int, sums: np.ndarray) -> None:
        """Steps first .. stop - 1 of the epoch: updates the trainer's u and optimizer
        state in place and adds the loss and accuracy sums to ``sums``."""
        trainer, batch = self.trainer, self.batch
        state = trainer.state
        table = np.ascontiguousarray(trainer.optimizer.table(state.count, stop - first))
        buffers = state.buffers
        stacked = np.stack(buffers) if buffers else np.zeros((1, trainer.u.shape[0]))
        ob, kernel = self.problem.train, _kernels()[self.kind]
        settings = (self.optimizer, self.hyper, self.sizes, ob.alpha, ob.total_weight,
                    self.unit, self.link, sums)
        if self.X.flags.c_contiguous:
            order = self.rows if order is None else order
            kernel(self.X, self.y, self.w, order, batch, first, stop, trainer.u, stacked,
                   table, *settings)
        else:  # rows gathered into C order a window at a time: one compiled layout
            for lo in range(first, stop, _WINDOW_STEPS):
                hi = min(lo + _WINDOW_STEPS, stop)
                rows = (slice(lo * batch, hi * batch) if order is None
                        else order[lo * batch:hi * batch])
                Xw = np.ascontiguousarray(self.X[rows])
                kernel(Xw, self.y[rows], self.w[rows], self.rows[:Xw.shape[0]], batch, 0,
                       hi - lo, trainer.u, stacked, table[lo - first:hi - first], *settings)
        for buffer, new in zip(buffers, stacked, strict=False):
            buffer[:] = new
        advance(state, stop - first)


# -- the compiled functions -------------------------------------------------------------
def _kernels():
    """The epoch functions (binary, softmax, ordinal), compiled on first use (once, under
    a lock): each function below is replaced by its numba dispatcher (cached on disk),
    helpers first, so that the epochs call compiled helpers."""
    global _COMPILED
    with _LOCK:
        if not _COMPILED:
            import numba

            # a row's dot product may add in any order (SIMD lanes, as BLAS does)
            globals()["_row_dot"] = numba.njit(cache=True, nogil=True,
                                               fastmath={"reassoc"})(_row_dot)
            for name in ("_linear", "_step_rows", "_update", "_penalty", "_finish_gradient",
                         "_log_sigmoid", "_cell", "_cdf", "_binary_epoch", "_softmax_epoch",
                         "_ordinal_epoch"):
                globals()[name] = numba.njit(cache=True, nogil=True)(globals()[name])
            _COMPILED = True
    return _binary_epoch, _softmax_epoch, _ordinal_epoch


def _row_dot(X, r, u, d):
    """X[r, :d] . u[:d] in float64."""
    z = 0.0
    for j in range(d):
        z += np.float64(X[r, j]) * u[j]
    return z


def _linear(X, r, u, d, fit_intercept):
    """Row r's linear predictor X[r, :d] . u[:d] (+ u[d] with an intercept), float64."""
    z = _row_dot(X, r, u, d)
    if fit_intercept:
        z += u[d]
    return z


def _step_rows(order, s, batch, n, total_weight):
    """(start, b, scale) of step s: its first position in ``order``, its b rows, and the
    scale n / (b * total_weight) that makes its weighted loss sum a mean estimate."""
    start = s * batch
    b = min(batch, order.shape[0] - start)
    return start, b, n / (b * total_weight)


def _update(u, g, buffers, scalars, optimizer, hyper):
    """One update of u (p,) in place from gradient g (p,): Keras's rules in the same
    operations as :mod:`logitkit.solvers.optimizers` (scalars: a row of its table)."""
    momentum, nesterov, b1, b2, rho, eps = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], \
        hyper[5]
    p = u.shape[0]
    if optimizer == 1:  # adam: scalars (bias correction, -lr)
        m, v = buffers[0], buffers[1]
        c1, c2 = 1.0 - b1, 1.0 - b2
        for k in range(p):
            gk = g[k]
            m[k] += (gk - m[k]) * c1
            v[k] += (gk * gk - v[k]) * c2
            out = math.sqrt(v[k]) + eps
            out = m[k] / out
            out *= scalars[0]
            u[k] += out * scalars[1]
        return
    lr = scalars[0]  # -lr for the others
    for k in range(p):
        gk = g[k]
        if optimizer == 0:
            step = gk * lr
            if momentum != 0.0:
                v = buffers[0]
                v[k] *= momentum
                v[k] += step
                step = v[k] * momentum + step if nesterov != 0.0 else v[k] * 1.0
        elif optimizer == 2:
            v = buffers[0]
            v[k] *= rho
            v[k] += (1.0 - rho) * (gk * gk)
            step = (gk / math.sqrt(v[k] + eps)) * lr
            if momentum != 0.0:
                s = buffers[1]
                s[k] *= momentum
                s[k] += step
                step = s[k] * 1.0
        else:
            a = buffers[0]
            a[k] += gk * gk
            step = (gk / math.sqrt(a[k] + eps)) * lr
        u[k] += step


def _penalty(u, m, d, d1, alpha):
    """alpha/2 ||slopes||^2 of the (m, d1) coefficient block at the front of u."""
    total = 0.0
    for k in range(m):
        for j in range(d):
            total += u[k * d1 + j] * u[k * d1 + j]
    return 0.5 * alpha * total


def _finish_gradient(u, g, m, d, d1, alpha, scale, penalised):
    """g times the batch's scale, plus the penalty's gradient on the slopes."""
    for k in range(g.shape[0]):
        g[k] *= scale
    if penalised:
        for k in range(m):
            for j in range(d):
                g[k * d1 + j] += alpha * u[k * d1 + j]


def _binary_epoch(X, y, w, order, batch, first, stop, u, buffers, table, optimizer, hyper,
                  sizes, alpha, total_weight, unit, link, sums):
    n, d, fit_intercept = sizes[0], sizes[1], sizes[4]
    d1 = d + fit_intercept
    g = np.empty(u.shape[0])
    penalised = alpha > 0.0
    for s in range(first, stop):
        start, b, scale = _step_rows(order, s, batch, n, total_weight)
        loss = 0.0
        hits = 0.0
        for k in range(d1):
            g[k] = 0.0
        for i in range(b):
            r = order[start + i]
            z = _linear(X, r, u, d, fit_intercept)
            t = math.exp(-abs(z))
            yi, wi = y[r], w[r]
            loss += wi * (max(z, 0.0) - yi * z + math.log1p(t))
            inv = 1.0 / (1.0 + t)
            p = inv if z >= 0 else t * inv
            gi = wi * (p - yi)
            for j in range(d):
                g[j] += gi * np.float64(X[r, j])
            if fit_intercept:
                g[d] += gi
            if (z > 0) == (yi == 1.0):
                hits += 1.0 if unit else wi
        value = loss * scale
        if penalised:
            value += _penalty(u, 1, d, d1, alpha)
        _finish_gradient(u, g, 1, d, d1, alpha, scale, penalised)
        _update(u, g, buffers, table[s - first], optimizer, hyper)
        sums[0] += value * b
        sums[1] += hits


def _softmax_epoch(X, y, w, order, batch, first, stop, u, buffers, table, optimizer, hyper,
                   sizes, alpha, total_weight, unit, link, sums):
    """The full softmax: W (K, d1) = u.reshape(K, d1), eta = X W[:, :d]' + W[:, d]. The
    batch's rows are gathered in float64 and multiplied by BLAS (the products of the
    NumPy path)."""
    n, d, m, fit_intercept = sizes[0], sizes[1], sizes[2], sizes[4]
    d1 = d + fit_intercept
    g = np.empty(u.shape[0])
    rows = np.empty((batch, d))
    slopes = np.empty((d, m))  # W[:, :d]'
    G = np.empty((batch, m))
    penalised = alpha > 0.0
    for s in range(first, stop):
        start, b, scale = _step_rows(order, s, batch, n, total_weight)
        for i in range(b):
            r = order[start + i]
            for j in range(d):
                rows[i, j] = X[r, j]
        for k in range(m):
            for j in range(d):
                slopes[j, k] = u[k * d1 + j]
        Xb = rows[:b]
        eta = np.dot(Xb, slopes)
        loss = 0.0
        hits = 0.0
        for i in range(b):
            top = -math.inf
            best = 0
            for k in range(m):
                z = eta[i, k] + u[k * d1 + d] if fit_intercept else eta[i, k]
                eta[i, k] = z
                if z > top:
                    top, best = z, k
            total = 0.0
            for k in range(m):
                total += math.exp(eta[i, k] - top)
            lse = top + math.log(total)
            code = int(y[order[start + i]])
            wi = w[order[start + i]]
            loss += wi * (lse - eta[i, code])
            for k in range(m):
                G[i, k] = wi * (math.exp(eta[i, k] - lse) - (1.0 if k == code else 0.0))
            if best == code:
                hits += 1.0 if unit else wi
        Gb = G[:b]
        cross = np.dot(Gb.T, Xb)  # (m, d)
        for k in range(m):
            for j in range(d):
                g[k * d1 + j] = cross[k, j]
            if fit_intercept:
                total = 0.0
                for i in range(b):
                    total += Gb[i, k]
                g[k * d1 + d] = total
        value = loss * scale
        if penalised:
            value += _penalty(u, m, d, d1, alpha)
        _finish_gradient(u, g, m, d, d1, alpha, scale, penalised)
        _update(u, g, buffers, table[s - first], optimizer, hyper)
        sums[0] += value * b
        sums[1] += hits


def _log_sigmoid(x):
    """log(1 / (1 + e^-x)), stable for any x."""
    return min(x, 0.0) - math.log1p(math.exp(-abs(x)))


def _cell(a, b, link):
    """(log P, f(a)/P, f(b)/P) of the ordinal cell (b, a]: the links' forms of ordinal.py
    (logit: one exp and one log1p per end; cloglog: exps and expm1s, a clipped to 700)."""
    if link == 0:
        u_a = math.log1p(math.exp(-abs(a)))
        u_b = math.log1p(math.exp(-abs(b)))
        log_p = min(a, 0.0) - max(b, 0.0) - u_a - u_b + math.log(-math.expm1(b - a))
        r_a = math.exp(-abs(a) - 2.0 * u_a - log_p)
        r_b = math.exp(-abs(b) - 2.0 * u_b - log_p)
        return log_p, r_a, r_b
    a = min(a, _CLOGLOG_END)
    exp_a, exp_b = math.exp(a), math.exp(b)
    inner = -math.expm1(exp_a * math.expm1(b - a))
    log_p = (math.log(inner) if inner > 0.0 else -math.inf) - exp_b
    r_a = math.exp(a - exp_a - log_p)
    r_b = math.exp(b - exp_b - log_p)
    return log_p, r_a, r_b


def _cdf(x, link):
    if link == 0:
        return math.exp(_log_sigmoid(x))
    return -math.expm1(-math.exp(x))


def _ordinal_epoch(X, y, w, order, batch, first, stop, u, buffers, table, optimizer, hyper,
                   sizes, alpha, total_weight, unit, link, sums):
    """Slopes u[:d] (and an intercept if fitted), then the cut points trained as
    (theta_1, log increments): theta is formed per step, the gradient mapped back."""
    n, d, q, fit_intercept = sizes[0], sizes[1], sizes[3], sizes[4]
    d1 = d + fit_intercept
    p = u.shape[0]
    g = np.empty(p)
    cuts = np.empty(q + 2)
    cuts[0], cuts[q + 1] = -math.inf, math.inf
    penalised = alpha > 0.0
    for s in range(first, stop):
        start, b, scale = _step_rows(order, s, batch, n, total_weight)
        running = u[d1]
        cuts[1] = running
        for k in range(1, q):
            running += math.exp(u[d1 + k])
            cuts[k + 1] = running
        loss = 0.0
        hits = 0.0
        for k in range(p):
            g[k] = 0.0
        for i in range(b):
            r = order[start + i]
            z = _linear(X, r, u, d, fit_intercept)
            code = int(y[r])
            wi = w[r]
            log_p, r_a, r_b = _cell(cuts[code + 1] - z, cuts[code] - z, link)
            loss -= wi * log_p
            w_a, w_b = wi * r_a, wi * r_b
            gi = w_a - w_b
            for j in range(d):
                g[j] += gi * np.float64(X[r, j])
            if fit_intercept:
                g[d] += gi
            if code < q:
                g[d1 + code] -= w_a
            if code >= 1:
                g[d1 + code - 1] += w_b
            # the most probable class, from differences of the CDF at the cut points
            previous, best, top = 0.0, 0, -math.inf
            for k in range(q + 1):
                current = _cdf(cuts[k + 1] - z, link) if k < q else 1.0
                if current - previous > top:
                    top, best = current - previous, k
                previous = current
            if best == code:
                hits += 1.0 if unit else wi
        value = loss * scale
        if penalised:
            value += _penalty(u, 1, d, d1, alpha)
        _finish_gradient(u, g, 1, d, d1, alpha, scale, penalised)
        # chain rule to (theta_1, log increments): d/du_k = e^{u_k} sum_{j >= k} d/dtheta_j
        tail = 0.0
        for k in range(q - 1, -1, -1):
            tail += g[d1 + k]
            g[d1 + k] = tail if k == 0 else math.exp(u[d1 + k]) * tail
        _update(u, g, buffers, table[s - first], optimizer, hyper)
        sums[0] += value * b
        sums[1] += hits

