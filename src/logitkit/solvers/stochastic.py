"""Minibatch training: the loop that SGD, Adam, RMSprop and Adagrad share.

The loop trains the same :class:`~logitkit.objective.Objective` the exact solvers
minimise, through :meth:`Objective.batch_value_grad` (the family's analytic gradients,
no autograd). It trains in Keras's layout so that a ported Keras script follows the same
trajectory (see :class:`TrainingProblem`): binomial weights are the natural parameters
(Keras ``Dense(1, "sigmoid")``: kernel (d, 1), bias (1,)); multinomial ones are the full
K-column softmax (``Dense(K, "softmax")``), mapped to the baseline-category form at the
end; ordinal cut points are trained as the first cut point and log increments, so they
stay increasing.

Each epoch shuffles the rows with the run's ``numpy.random.Generator``, walks the
batches (the last one may be short, as in Keras) and records Keras's history entries:
``loss`` (the mean over the epoch's rows of the batch objective, each batch evaluated
before its update, as Keras reports it), ``accuracy`` (weighted, the same way), and
``val_loss`` / ``val_accuracy`` at the epoch's end when there is validation data.
Losses include the penalty, as Keras's include regularisation losses.
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, replace

import numpy as np

from logitkit.backends import get_namespace, to_numpy, weighted_counts
from logitkit.design import batch_rows, is_design
from logitkit.families import Multinomial
from logitkit.messages import plain
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop
from logitkit.solvers.optimizers import (
    DEFAULT_LEARNING_RATES,
    OPTIMIZERS,
    SCHEDULES,
    advance,
    make_optimizer,
    make_schedule,
)
from logitkit.solvers.report import SolverReport

INITIALIZERS = ("zeros", "glorot_uniform")
# a minibatch fit counts as converged when it is within this many standard errors of the
# exact optimum, in every direction (estimated by one Newton step)
SE_TOLERANCE = 0.01
# the Newton-step check needs the p x p Hessian; above this many parameters it is skipped
CHECK_MAX_PARAMS = 1000
# validation and evaluation pass over rows in blocks of this many
_EVAL_ROWS = 65536
# the NumPy steps gather the rows of this many steps at once
_WINDOW_STEPS = 16


# -- configuration --------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingConfig:
    """The minibatch settings of an estimator (its keyword-only parameters), validated.

    learning_rate: None means Keras's default (0.01 for sgd, else 0.001). epochs: passes
    over the data. batch_size: rows per step (None: all rows, plain gradient descent).
    momentum, nesterov: sgd (and rmsprop) momentum. beta_1, beta_2: Adam's moment decays.
    rho: RMSprop's decay. epsilon: the optimizers' epsilon, placed as in Keras.
    schedule: None/"constant"; "exponential" or "step" (the rate times decay_rate every
    decay_steps steps, default once per epoch; "step" in stairs); "cosine" (to 0 over
    decay_steps, default the whole fit); or a callable step -> learning rate.
    early_stopping, patience, min_delta, restore_best_weights: Keras's EarlyStopping on
    val_loss (else loss); the best epoch's weights are restored at the end.
    validation_split: the last fraction of the rows is held out, as in Keras.
    shuffle: reshuffle the rows every epoch. kernel_initializer: "zeros",
    "glorot_uniform" (Keras's Dense default) or a callable shape -> array giving the
    initial kernel of shape (d, m) (m = 1, or K for softmax), like a Keras initializer.
    verbose: 0 silent, 1 a tqdm progress bar per epoch, 2 one line per epoch. The
    estimator's random_state seeds the shuffling and the initialisation.

    A minibatch fit is not an exact maximum-likelihood fit: it counts as converged only
    when one Newton step puts it within :data:`SE_TOLERANCE` standard errors of the exact
    optimum, and the estimators report standard errors only then.
    """

    optimizer: str
    learning_rate: float
    epochs: int
    batch_size: int | None = 32
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.9
    epsilon: float = 1e-7
    schedule: object = None
    decay_rate: float = 0.96
    decay_steps: int | None = None
    early_stopping: bool = False
    patience: int = 5
    min_delta: float = 0.0
    restore_best_weights: bool = True
    validation_split: float = 0.0
    shuffle: bool = True
    kernel_initializer: str = "zeros"
    verbose: int = 0

    @classmethod
    def from_params(cls, solver: str, params: dict) -> TrainingConfig:
        """Validate an estimator's parameters; unknown keys are ignored."""
        names = set(cls.__dataclass_fields__) - {"optimizer"}
        values = {k: params[k] for k in names if k in params}
        lr = values.get("learning_rate")
        values["learning_rate"] = DEFAULT_LEARNING_RATES[solver] if lr is None else lr
        config = cls(optimizer=solver, **values)
        config._check()
        return config

    def _check(self):
        def positive(name, integral=False, allow_zero=False, allow_none=False):
            value = getattr(self, name)
            if allow_none and value is None:
                return
            kind = numbers.Integral if integral else numbers.Real
            ok = isinstance(value, kind) and not isinstance(value, bool) and (
                value >= 0 if allow_zero else value > 0)
            if not ok or (not integral and not math.isfinite(value)):
                what = "an integer" if integral else "a finite number"
                bound = ">= 0" if allow_zero else "> 0"
                raise ValueError(f"{name} must be {what} {bound}, got {plain(value)!r}")

        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        positive("learning_rate")
        positive("epochs", integral=True)
        positive("batch_size", integral=True, allow_none=True)
        positive("epsilon")
        positive("decay_rate")
        positive("decay_steps", integral=True, allow_none=True)
        positive("patience", integral=True, allow_zero=True)
        positive("min_delta", allow_zero=True)
        for name in ("momentum", "beta_1", "beta_2", "rho"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {plain(value)!r}")
        if not (isinstance(self.validation_split, numbers.Real)
                and 0 <= self.validation_split < 1):
            raise ValueError(
                f"validation_split must be in [0, 1), got {plain(self.validation_split)!r}")
        if not (self.schedule is None or callable(self.schedule) or self.schedule in SCHEDULES):
            raise ValueError(f"schedule must be None, a callable or one of {SCHEDULES}, "
                             f"got {self.schedule!r}")
        if not (callable(self.kernel_initializer) or self.kernel_initializer in INITIALIZERS):
            raise ValueError(f"kernel_initializer must be one of {INITIALIZERS} or a callable "
                             f"shape -> array, got {self.kernel_initializer!r}")
        if self.verbose not in (0, 1, 2, False, True):
            raise ValueError(f"verbose must be 0, 1 or 2, got {plain(self.verbose)!r}")

    def steps_per_epoch(self, n_rows: int) -> int:
        return max(1, math.ceil(n_rows / (self.batch_size or max(1, n_rows))))

    def make_optimizer(self, steps_per_epoch: int):
        lr = make_schedule(self.learning_rate, self.schedule, decay_rate=self.decay_rate,
                           decay_steps=self.decay_steps, steps_per_epoch=steps_per_epoch,
                           total_steps=steps_per_epoch * self.epochs)
        return make_optimizer(self.optimizer, lr, momentum=self.momentum,
                              nesterov=self.nesterov, beta_1=self.beta_1, beta_2=self.beta_2,
                              rho=self.rho, epsilon=self.epsilon)


# -- the trained parametrisation ------------------------------------------------------
class TrainingProblem:
    """An estimator's objective in the coordinates u the optimizers train (Keras's layout).

    ``objective``: the objective the estimator reports (natural layout of
    :mod:`logitkit.objective`). ``train``: the objective trained, the same except that a
    baseline-category multinomial becomes the full softmax. u equals the natural
    parameters of ``train`` except for ordinal cut points, trained as
    (theta_1, log(theta_2 - theta_1), ...).
    """

    def __init__(self, objective: Objective):
        self.objective = objective
        family = objective.family
        self.full_softmax = isinstance(family, Multinomial) and not family.full
        self.family = Multinomial(full=True) if self.full_softmax else family
        self.train = self.like(objective)
        self.start = self.train.m * self.train.d1  # where aux starts
        self.n_params = self.train.n_params

    def like(self, objective: Objective) -> Objective:
        """``objective``'s data under the trained family (for validation data)."""
        if objective.family is self.family:
            return objective
        offset = objective.offset
        if offset is not None:  # a zero column for classes_[0] (eta_offset's full form)
            offset = objective.xp.concat([objective.xp.zeros_like(offset[:, :1]), offset],
                                         axis=1)
        return Objective(self.family, objective.X, objective.y, objective.w,
                         objective.n_classes, objective.fit_intercept, objective.alpha,
                         objective.reads, offset=offset)

    # u <-> natural parameters of ``train`` (NumPy vectors, or tensors in a device loop)
    def to_natural(self, u):
        if self.n_params - self.start < 2:
            return u
        i = self.start
        if isinstance(u, np.ndarray):  # no array-API wrappers: they cost more than a step
            theta = u.copy()
            np.exp(u[i + 1:], out=theta[i + 1:])
            np.cumsum(theta[i:], out=theta[i:])
            return theta
        xp = get_namespace(u)
        cuts = xp.cumulative_sum(xp.concat([u[i:i + 1], xp.exp(u[i + 1:])]), axis=0)
        return xp.concat([u[:i], cuts])

    def from_natural(self, theta):
        u = np.array(theta, dtype=float)
        i = self.start
        if self.n_params - i >= 2:
            u[i + 1:] = np.log(np.maximum(np.diff(theta[i:]), 1e-12))
        return u

    def gradient(self, u, grad):
        """Chain rule from d/d theta to d/d u (in place on ``grad``)."""
        i = self.start
        if self.n_params - i >= 2:
            xp = np if isinstance(grad, np.ndarray) else get_namespace(grad)
            if xp is np:
                tail = np.cumsum(grad[i:][::-1])[::-1]  # sum_{j >= k}
            else:
                tail = xp.flip(xp.cumulative_sum(xp.flip(grad[i:]), axis=0))
            grad[i + 1:] = xp.exp(u[i + 1:]) * tail[1:]
            grad[i] = tail[0]
        return grad

    # natural parameters of ``train`` <-> those of the estimator's objective
    def to_estimator(self, theta):
        if not self.full_softmax:
            return np.array(theta, dtype=float)
        W = theta.reshape(self.train.m, self.train.d1)
        return (W[1:] - W[0]).ravel()

    def from_estimator(self, params):
        if not self.full_softmax:
            return np.array(params, dtype=float)
        W = np.vstack([np.zeros((1, self.train.d1)),
                       np.asarray(params, float).reshape(self.objective.m, self.train.d1)])
        return (W - W.mean(axis=0)).ravel()

    def initial(self, initializer, rng: np.random.Generator):
        """Starting u: slopes zero, Glorot-uniform (Keras's default for Dense kernels) or
        given by a callable (d, m) -> kernel; intercepts zero (Keras's bias); ordinal cut
        points those of the null model."""
        ob = self.train
        W = np.zeros((ob.m, ob.d1))
        if callable(initializer):
            kernel = np.asarray(initializer((ob.d, ob.m)), dtype=float)
            if kernel.shape != (ob.d, ob.m):
                raise ValueError(f"kernel_initializer returned shape {kernel.shape}; the "
                                 f"kernel has shape {(ob.d, ob.m)}")
            W[:, : ob.d] = kernel.T
        elif initializer == "glorot_uniform":
            limit = math.sqrt(6.0 / (ob.d + ob.m))
            W[:, : ob.d] = rng.uniform(-limit, limit, size=(ob.d, ob.m)).T  # kernel (d, m)
        aux = np.zeros(0)
        if ob.q:
            sums = weighted_counts(ob.y, ob.w, ob.n_classes)
            aux = ob.family.null_parameters(np.maximum(sums, 1e-3 * max(sums.sum(), 1.0)))[1]
        return self.from_natural(ob.pack(W, aux))


# -- evaluation -----------------------------------------------------------------------
def _correct(objective: Objective, theta, eta, y, w, unit_weights: bool = False) -> float:
    """Weight of the correctly classified rows of one block (labels y, weights w)."""
    aux = theta[objective.m * objective.d1:]
    if not isinstance(eta, np.ndarray):
        aux = objective.xp.asarray(aux)
    hit = objective.family.predict_class(eta, aux) == y
    if isinstance(hit, np.ndarray):
        return float(np.count_nonzero(hit)) if unit_weights else float(w @ hit)
    xp = objective.xp
    return float(to_numpy(xp.sum(w * xp.astype(hit, w.dtype))))


def _unit_weights(objective: Objective) -> bool:
    w = objective.w
    return isinstance(w, np.ndarray) and objective.total_weight == objective.n and bool(
        np.all(w == 1.0))


def evaluate_objective(objective: Objective, theta) -> tuple[float, float]:
    """(objective value: mean loss + penalty, weighted accuracy) over all rows."""
    loss = correct = 0.0
    penalty = objective.penalty.value(objective.unpack(theta)[0])
    for start in range(0, objective.n, _EVAL_ROWS):
        rows = slice(start, min(start + _EVAL_ROWS, objective.n))
        value, _, eta = objective.batch_value_grad(theta, rows, order=0)
        b = rows.stop - rows.start
        loss += (value - penalty) * b / objective.n
        correct += _correct(objective, theta, eta, objective.y[rows], objective.w[rows])
    weight = objective.total_weight
    return loss + penalty, (correct / weight if weight > 0 else float("nan"))


# -- the loop -------------------------------------------------------------------------
class Trainer:
    """Optimizer state, parameters and history of one model's minibatch training.

    Kept by the estimator between ``partial_fit`` calls; picklable.
    """

    def __init__(self, problem: TrainingProblem, config: TrainingConfig,
                 rng: np.random.Generator, steps_per_epoch: int, start=None,
                 history: dict | None = None):
        """start: the estimator's natural parameters to continue from (a warm start, with
        fresh optimizer state); else ``config.kernel_initializer``'s. history: earlier
        epochs' records to continue."""
        self.config = config
        self.rng = rng
        self.optimizer = config.make_optimizer(steps_per_epoch)
        if start is None:
            self.u = problem.initial(config.kernel_initializer, rng)
        else:
            self.u = problem.from_natural(problem.from_estimator(start))
        self.state = self.optimizer.init(self.u)
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}
        self.epochs_done = len(self.history.get("loss", ()))
        # the host loop: "auto" (compiled where it can), "numba" or "numpy"
        self.engine = "auto"

    def run(self, problem: TrainingProblem, epochs: int, validation: Objective | None = None,
            early_stopping: bool = False) -> SolverReport:
        """Train ``epochs`` epochs over ``problem.train``; returns a report whose params
        are the trained coordinates u."""
        loop, batch = None, self.config.batch_size or problem.train.n
        if not isinstance(problem.train.X, np.ndarray) and not is_design(problem.train.X):
            from logitkit.solvers.device_loop import DeviceLoop

            loop = DeviceLoop(problem, self, batch)
        elif self._compiled(problem):
            loop = compiled_loop.CompiledEpochs(problem, self, batch)
        records, reason = self._epochs(problem, epochs, validation, early_stopping, loop)
        return SolverReport(self.u.copy(), float(records[-1]["loss"]), math.nan, len(records),
                            False, reason, records)

    def _epochs(self, problem, epochs, validation, early_stopping, loop):
        """:meth:`run`'s epochs; returns (their logs, the reason the run stopped)."""
        config = self.config
        monitor = "val_loss" if validation is not None else "loss"
        best, best_u, best_epoch, wait = math.inf, None, -1, 0
        reason = f"completed {epochs} epoch{'s' * (epochs != 1)}"
        records = []
        for epoch in range(epochs):
            logs = self._epoch(problem, epoch, epochs, validation, loop)
            self._record(logs)
            records.append(logs)
            if config.verbose == 2:
                self._print(logs, epochs - epoch - 1)
            if not early_stopping:
                continue
            current = logs[monitor]
            if best_u is None:
                best_u, best_epoch = self.u.copy(), epoch
            wait += 1
            if current < best - config.min_delta:
                best, best_u, best_epoch, wait = current, self.u.copy(), epoch, 0
                continue
            if wait >= config.patience and epoch > 0:
                reason = (f"early stopping after epoch {epoch + 1}: {monitor} did not improve "
                          f"by more than min_delta={config.min_delta:g} in "
                          f"{config.patience} epoch{'s' * (config.patience != 1)}")
                break
        if early_stopping and config.restore_best_weights and best_u is not None:
            self.u = best_u
            reason += f"; restored the weights of epoch {best_epoch + 1}"
        return records, reason

    def _record(self, logs: dict):
        """Append one epoch to the history; keys missing on either side get NaN, so every
        list stays one entry per epoch (validation may come and go between calls)."""
        for key in logs:
            if key not in self.history:
                self.history[key] = [math.nan] * self.epochs_done
        for key, values in self.history.items():
            values.append(logs.get(key, math.nan))
        self.epochs_done += 1

    def _epoch(self, problem: TrainingProblem, epoch: int, epochs: int,
               validation: Objective | None, loop=None) -> dict:
        objective = problem.train
        n = objective.n
        batch = self.config.batch_size or n
        steps = max(1, math.ceil(n / batch))
        order = self.rng.permutation(n) if self.config.shuffle else None
        bar, last = None, self.epochs_done - epoch + epochs
        if self.config.verbose == 1:
            bar = _progress_bar(steps, f"Epoch {self.epochs_done + 1}/{last}")
        # a learning rate too large sends the weights to infinity: report it below, once
        with np.errstate(over="ignore", invalid="ignore"):
            if loop is None:
                loss_sum, correct = self._host_steps(problem, order, batch, steps, bar)
            else:
                loss_sum, correct = loop.epoch(order, None if bar is None else (
                    lambda done, loss, hits, seen=None: _show_progress(
                        bar, done - bar.n, loss, hits,
                        min(done * batch, n) if seen is None else seen)))
        if not (np.all(np.isfinite(self.u)) and math.isfinite(loss_sum)):
            if bar is not None:
                bar.close()
            raise FloatingPointError(
                f"the {self.config.optimizer} parameters are no longer finite after epoch "
                f"{self.epochs_done + 1}: the learning rate ({self.config.learning_rate:g}) is "
                "too large for this data; lower it, or standardise the features")
        weight = objective.total_weight
        logs = {"loss": loss_sum / n if n else math.nan,
                "accuracy": correct / weight if weight > 0 else math.nan}
        if validation is not None:
            logs["val_loss"], logs["val_accuracy"] = evaluate_objective(
                validation, problem.to_natural(self.u))
        if bar is not None:
            _finish_bar(bar, logs, widest=f"Epoch {last}/{last}")
        return logs

    def _compiled(self, problem: TrainingProblem) -> bool:
        """Whether this epoch runs in the compiled loop: ``engine`` "auto" (the default)
        takes it where :func:`compiled_loop.supports` the problem, "numba" requires it,
        "numpy" never takes it."""
        engine = getattr(self, "engine", "auto")
        if engine == "numpy":
            return False
        ok = compiled_loop.supports(problem, self.config)
        if engine == "numba" and not ok:
            raise ValueError("engine='numba' needs numba installed (pip install "
                             "'logitkit[fast]') and a problem the compiled loop covers "
                             "(NumPy X; binomial, multinomial or ordinal logit/cloglog)")
        return ok

    def _host_steps(self, problem: TrainingProblem, order, batch: int, steps: int, bar):
        """One epoch's steps on the host in NumPy; returns (sum of batch objective x rows,
        weight of the correctly classified rows). The rows, labels and weights of
        _WINDOW_STEPS steps are gathered at once (X in float64), and the optimizer's
        per-step numbers come from one table for the epoch."""
        objective = problem.train
        n = objective.n
        every = max(1, steps // 10)
        u, state, optimizer = self.u, self.state, self.optimizer
        buffers, table = state.buffers, optimizer.table(state.count, steps)
        identity = problem.n_params - problem.start < 2
        unit = _unit_weights(objective)
        loss_sum = correct = seen = 0.0
        for first in range(0, steps, _WINDOW_STEPS):
            start, stop = first * batch, min((first + _WINDOW_STEPS) * batch, n)
            rows = order[start:stop] if order is not None else slice(start, stop)
            window = (batch_rows(objective.X[rows]), objective.y[rows],
                      objective.w[rows], objective._offset_rows(rows))
            for step in range(first, min(first + _WINDOW_STEPS, steps)):
                part = slice((step - first) * batch, (step - first + 1) * batch)
                theta = u if identity else problem.to_natural(u)
                value, grad, eta = objective.batch_value_grad(theta, part, window=window)
                if not identity:
                    grad = problem.gradient(u, grad)
                u += optimizer.apply(grad, buffers, table[step])
                b = eta.shape[0]
                loss_sum += value * b
                y, w = window[1][part], window[2][part]
                correct += _correct(objective, theta, eta, y, w, unit)
                if bar is not None:
                    seen += b if unit else float(w.sum())
                    if (step + 1) % every == 0 or step + 1 == steps:
                        _show_progress(bar, step + 1 - bar.n, loss_sum, correct, seen)
        advance(state, steps)
        self.u = u
        return loss_sum, correct

    def _print(self, logs, remaining):
        from tqdm import tqdm

        tqdm.write(f"Epoch {self.epochs_done}/{self.epochs_done + remaining} - "
                   + _format_logs(logs, " - ", ": "), file=sys.stderr)


# the epoch's bar: no rate or time left, so that the running loss and accuracy fit 80 columns
_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
_MIN_BAR = 5  # the fewest columns of bar worth keeping on an epoch's last line


def _progress_bar(steps: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=steps, desc=desc, unit="step", leave=True, file=sys.stderr,
                dynamic_ncols=True, bar_format=_BAR_FORMAT)


def _finish_bar(bar, logs: dict, widest: str) -> None:
    """Close an epoch's bar on a line showing every log (loss, accuracy, val_loss,
    val_accuracy) within the terminal's width, as tqdm would cut a longer line: with the
    bar while it has room, else the epoch and the logs alone, with fewer decimals if need
    be. The choice is made for ``widest``, the run's longest description, so that every
    epoch of a run shows the same layout."""
    from tqdm.utils import disp_len

    # the final logs first: an update that draws the full bar (timing decides) shows them
    bar.set_postfix_str(_format_logs(logs, ", ", "="), refresh=False)
    bar.update(bar.total - bar.n)
    width = bar.format_dict["ncols"]  # None: not a terminal, no limit
    if width is not None:
        ten_column_bar = bar.format_meter(**dict(bar.format_dict, ncols=None, prefix=widest))
        if disp_len(ten_column_bar) - 10 + _MIN_BAR > width:
            bar.bar_format = "{desc}{postfix}"
            for decimals in (4, 3, 2):
                text = _format_logs(logs, ", ", "=", decimals)
                if disp_len(f"{widest}, {text}") <= width:
                    break
            bar.set_postfix_str(text, refresh=False)
    bar.close()


def _show_progress(bar, steps: int, loss_sum: float, correct: float, seen: float):
    """Advance the bar by ``steps`` and show the running loss and accuracy so far."""
    bar.update(steps)
    bar.set_postfix_str(f"loss={loss_sum / seen:.4f}, accuracy={correct / seen:.4f}",
                        refresh=False)


def _format_logs(logs, sep, eq, decimals=4):
    return sep.join(f"{k}{eq}{v:.{decimals}f}" for k, v in logs.items())


# -- a complete fit -------------------------------------------------------------------
def optimality_distance(objective: Objective, params, keep_hessian: bool = True):
    """(distance, max |gradient|, mean Hessian or None) at natural ``params``.

    distance = sqrt(N g' H^-1 g) (g, H of the mean objective, N the total weight): the
    largest error left in any linear combination of the estimates, in standard errors
    (alpha = 0), estimated by one Newton step; equivalently twice the log-likelihood
    still to gain is distance^2. NaN above CHECK_MAX_PARAMS parameters. The gradient is
    exact; H comes from all rows and is returned (for standard errors) if
    ``keep_hessian``, else from Newton's row sample (:func:`~logitkit.hessian_samples.
    hessian_objective`) and is not returned."""
    from logitkit.hessian_samples import hessian_objective
    from logitkit.inference import inverse_information

    if objective.n_params > CHECK_MAX_PARAMS:
        _, grad, _ = objective.evaluate(params, 1)
        return math.nan, float(np.max(np.abs(grad), initial=0.0)), None
    curvature = objective if keep_hessian else hessian_objective(objective)
    if curvature is objective:
        _, grad, hess = objective.evaluate(params, 2)
    else:
        _, grad, _ = objective.evaluate(params, 1)
        hess = curvature.evaluate(params, 2)[2]
    decrement = max(0.0, float(grad @ inverse_information(hess)[0] @ grad))
    grad_max = float(np.max(np.abs(grad), initial=0.0))
    return (math.sqrt(objective.total_weight * decrement), grad_max,
            hess if keep_hessian else None)


def fit_result(problem: TrainingProblem, report: SolverReport, solver: str,
               check: bool = True, keep_hessian: bool = True):
    """(FitResult in the estimator's layout, distance to the optimum in standard errors).

    ``converged`` is decided by the distance (see :data:`SE_TOLERANCE`); without
    ``check`` (streaming fits) the distance is NaN and the fit does not count as converged.
    ``keep_hessian``: the result carries the full Hessian (for standard errors); else the
    distance uses a row sample's (cheaper for many rows) and the result has none.
    """
    from logitkit.fitting import FitResult, null_log_likelihood

    objective = problem.objective
    params = problem.to_estimator(problem.to_natural(report.params))
    distance, grad_max, hessian = math.nan, math.nan, None
    if check:
        distance, grad_max, hessian = optimality_distance(objective, params, keep_hessian)
    converged = bool(distance <= SE_TOLERANCE)
    reason = report.reason
    if math.isfinite(distance):
        reason += (f"; {distance:.3g} standard errors from the optimum "
                   f"({'within' if converged else 'beyond'} {SE_TOLERANCE:g})")
    loss, _, _ = objective.loss_terms(params, 0)
    W, _ = objective.unpack(params)
    result = FitResult(
        params=params,
        objective_value=loss / objective.total_weight + objective.penalty.value(W),
        log_likelihood=-loss,
        null_log_likelihood=null_log_likelihood(objective),
        n_obs=objective.total_weight,
        solver=solver,
        report=replace(report, grad_max=grad_max, converged=converged, reason=reason),
        hessian=hessian,
    )
    return result, distance
