"""First-order optimizers as small composable gradient transformations (the optax shape).

A transformation is a pair of functions::

    state = transform.init(params)
    updates, state = transform.update(grads, state, params)
    params = params + updates

and a named optimizer is a :func:`chain` of small ones. The named optimizers follow
Keras 3's update rules exactly (where epsilon sits, how Adam corrects its bias, the order
of learning rate and momentum), so a Keras script ported to logitkit follows the same
trajectory up to floating point:

=========  ===========================================================================
sgd        v = momentum * v - lr * g;  w += v  (nesterov: w += momentum * v - lr * g)
adam       m += (1 - b1) (g - m);  v += (1 - b2) (g^2 - v);
           w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)   ("epsilon hat")
rmsprop    v = rho v + (1 - rho) g^2;  w -= lr * g / sqrt(v + eps)  (eps inside the root;
           centred: v - mean(g)^2 + eps; momentum: s = momentum * s + step, w -= s)
adagrad    a += g^2 (a starts at 0.1);  w -= lr * g / sqrt(a + eps)
=========  ===========================================================================

Defaults are Keras's: learning rate 0.01 (sgd) or 0.001, beta_1 0.9, beta_2 0.999,
rho 0.9, epsilon 1e-7. The learning rate may be a schedule: a function of the step
count (0 at the first update, as Keras evaluates its schedules).

Parameters are flat float64 NumPy vectors (``apply`` also takes torch tensors, for the
device loop of :mod:`logitkit.solvers.device_loop`). For speed, ``update`` writes into the state's
buffers in place and returns that same state: the caller owns the state and must not
keep references to old ones (``copy.deepcopy`` it to keep a snapshot). Transformations
and schedules are small classes rather than closures, so a model that keeps its
optimizer state for ``partial_fit`` can be pickled and cloned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DEFAULT_LEARNING_RATES = {"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001, "adagrad": 0.001}
OPTIMIZERS = tuple(DEFAULT_LEARNING_RATES)
SCHEDULES = ("constant", "exponential", "step", "cosine")


class GradientTransformation:
    """``init(params) -> state``; ``update(grads, state, params) -> (updates, state)``.

    An update is split in two so that a device loop can run it without the host:
    ``scalars(count)`` gives the step's numbers (a learning rate, a bias correction:
    host floats, ``n_scalars`` of them) and ``apply(grads, buffers, scalars)`` the array
    arithmetic, in place on the buffers, for NumPy arrays and torch tensors alike.
    """

    n_scalars = 0
    n_buffers = 0

    def init(self, params: np.ndarray):
        raise NotImplementedError

    def scalars(self, count: int) -> tuple:
        return ()

    def table(self, count: int, steps: int) -> np.ndarray:
        """(steps, n_scalars) float64: ``scalars`` of the steps count .. count + steps - 1."""
        return np.array([self.scalars(count + s) for s in range(steps)],
                        dtype=np.float64).reshape(steps, self.n_scalars)

    def apply(self, grads, buffers, scalars):
        raise NotImplementedError

    def update(self, grads: np.ndarray, state, params: np.ndarray | None = None):
        updates = self.apply(grads, state.buffers, self.scalars(state.count))
        state.count += 1
        return updates, state


def _sqrt(a):
    return np.sqrt(a) if isinstance(a, np.ndarray) else a.sqrt()


def apply_updates(params: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """params + updates (a new array)."""
    return params + updates


# -- learning-rate schedules ----------------------------------------------------------
@dataclass(frozen=True)
class Constant:
    """lr at every step."""

    learning_rate: float

    def __call__(self, step: int) -> float:
        return self.learning_rate


@dataclass(frozen=True)
class ExponentialDecay:
    """lr * decay_rate ** (step / decay_steps), the exponent floored if ``staircase``
    (Keras ``ExponentialDecay``)."""

    learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.learning_rate * self.decay_rate**p


@dataclass(frozen=True)
class CosineDecay:
    """lr * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)
    (Keras ``CosineDecay`` without warm-up)."""

    learning_rate: float
    decay_steps: int
    alpha: float = 0.0

    def __call__(self, step: int) -> float:
        fraction = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return self.learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)


def make_schedule(learning_rate: float, schedule=None, *, decay_rate: float = 0.96,
                  decay_steps: int | None = None, steps_per_epoch: int = 1,
                  total_steps: int = 1):
    """A schedule by name: None or "constant"; "exponential" (smooth) and "step"
    (staircase) multiply the rate by ``decay_rate`` every ``decay_steps`` steps (default:
    once per epoch); "cosine" decays to 0 over ``decay_steps`` steps (default: the whole
    fit). A callable ``schedule(step) -> lr`` is used as it is (``learning_rate`` unused)."""
    if callable(schedule):
        return schedule
    if schedule in (None, "constant"):
        return Constant(learning_rate)
    if schedule in ("exponential", "step"):
        return ExponentialDecay(learning_rate, decay_steps or max(1, steps_per_epoch),
                                decay_rate, staircase=schedule == "step")
    if schedule == "cosine":
        return CosineDecay(learning_rate, decay_steps or max(1, total_steps))
    raise ValueError(f"schedule must be one of {SCHEDULES}, None or a callable, got {schedule!r}")


# -- building blocks ------------------------------------------------------------------
@dataclass
class TransformState:
    """Per-parameter buffers (updated in place) and the number of updates so far."""

    buffers: tuple = ()
    count: int = 0


def _zeros(params, n):
    return tuple(np.zeros(np.shape(params), dtype=float) for _ in range(n))


@dataclass
class ChainState:
    states: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.states[0].count if self.states else 0

    @property
    def buffers(self) -> list:
        """Every transform's buffers, in order (one flat list)."""
        return [b for s in self.states for b in s.buffers]


def advance(state, steps: int) -> None:
    """Count ``steps`` updates made through ``apply`` (which leaves the count alone)."""
    for sub in getattr(state, "states", (state,)):
        sub.count += steps


class chain(GradientTransformation):
    """Apply ``transforms`` in order, each to the previous one's output."""

    def __init__(self, *transforms: GradientTransformation):
        self.transforms = transforms
        self.n_scalars = sum(t.n_scalars for t in transforms)
        self.n_buffers = sum(t.n_buffers for t in transforms)

    def init(self, params):
        return ChainState([t.init(params) for t in self.transforms])

    def scalars(self, count):
        return tuple(x for t in self.transforms for x in t.scalars(count))

    def table(self, count, steps):
        return np.hstack([t.table(count, steps) for t in self.transforms])

    def apply(self, grads, buffers, scalars):
        b = s = 0
        for t in self.transforms:
            grads = t.apply(grads, buffers[b:b + t.n_buffers], scalars[s:s + t.n_scalars])
            b, s = b + t.n_buffers, s + t.n_scalars
        return grads

    def update(self, grads, state, params=None):
        for t, st in zip(self.transforms, state.states, strict=True):
            grads, _ = t.update(grads, st, params)
        return grads, state


class scale_by_learning_rate(GradientTransformation):
    """updates = -lr(step) * grads; ``learning_rate`` a number or a schedule(step)."""

    n_scalars = 1

    def __init__(self, learning_rate):
        self.schedule = learning_rate if callable(learning_rate) else Constant(learning_rate)

    def init(self, params):
        return TransformState()

    def scalars(self, count):
        return (-self.schedule(count),)

    def table(self, count, steps):
        if isinstance(self.schedule, Constant):
            return np.full((steps, 1), -self.schedule.learning_rate)
        return super().table(count, steps)

    def apply(self, grads, buffers, scalars):
        return grads * scalars[0]


class trace(GradientTransformation):
    """Momentum on (already scaled) steps u: v = decay * v + u; returns v, or
    decay * v + u with ``nesterov`` (Keras's SGD and RMSprop momentum)."""

    n_buffers = 1

    def __init__(self, decay: float, nesterov: bool = False):
        self.decay, self.nesterov = decay, nesterov

    def init(self, params):
        return TransformState(_zeros(params, 1))

    def apply(self, grads, buffers, scalars):
        (v,) = buffers
        v *= self.decay
        v += grads
        return v * self.decay + grads if self.nesterov else v * 1.0


class scale_by_adam(GradientTransformation):
    """m * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps): Keras's form, eps uncorrected."""

    n_scalars = 1
    n_buffers = 2

    def __init__(self, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7):
        self.b1, self.b2, self.eps = b1, b2, eps

    def init(self, params):
        return TransformState(_zeros(params, 2))

    def scalars(self, count):
        t = count + 1
        return (math.sqrt(1.0 - self.b2**t) / (1.0 - self.b1**t),)

    def table(self, count, steps):
        t = count + 1.0 + np.arange(steps)
        return (np.sqrt(1.0 - self.b2**t) / (1.0 - self.b1**t))[:, None]

    def apply(self, grads, buffers, scalars):
        m, v = buffers
        if not isinstance(m, np.ndarray):  # torch: fused in-place updates, fewer kernels
            m.lerp_(grads, 1.0 - self.b1)
            v.mul_(self.b2).addcmul_(grads, grads, value=1.0 - self.b2)
            return (m / v.sqrt().add_(self.eps)).mul_(scalars[0])
        m += (grads - m) * (1.0 - self.b1)
        v += (grads * grads - v) * (1.0 - self.b2)
        out = np.sqrt(v)
        out += self.eps
        np.divide(m, out, out=out)
        out *= scalars[0]
        return out


class scale_by_rms(GradientTransformation):
    """g / sqrt(v + eps) with v = decay v + (1 - decay) g^2 (centred: v - mean(g)^2 + eps)."""

    def __init__(self, decay: float = 0.9, eps: float = 1e-7, centered: bool = False):
        self.decay, self.eps, self.centered = decay, eps, centered
        self.n_buffers = 2 if centered else 1

    def init(self, params):
        return TransformState(_zeros(params, 2 if self.centered else 1))

    def apply(self, grads, buffers, scalars):
        v = buffers[0]
        v *= self.decay
        v += (1.0 - self.decay) * (grads * grads)
        if self.centered:
            mean = buffers[1]
            mean *= self.decay
            mean += (1.0 - self.decay) * grads
            return grads / _sqrt(v - mean * mean + self.eps)
        return grads / _sqrt(v + self.eps)


class scale_by_sum_of_squares(GradientTransformation):
    """g / sqrt(a + eps) with a += g^2, a starting at ``initial_accumulator_value``."""

    n_buffers = 1

    def __init__(self, initial_accumulator_value: float = 0.1, eps: float = 1e-7):
        self.initial, self.eps = initial_accumulator_value, eps

    def init(self, params):
        return TransformState((np.full(np.shape(params), self.initial, dtype=float),))

    def apply(self, grads, buffers, scalars):
        (a,) = buffers
        a += grads * grads
        return grads / _sqrt(a + self.eps)


# -- the named optimizers -------------------------------------------------------------
def sgd(learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False):
    """Keras ``SGD``: plain, with momentum, or Nesterov."""
    parts = [scale_by_learning_rate(learning_rate)]
    if momentum:
        parts.append(trace(momentum, nesterov))
    return chain(*parts)


def adam(learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
         epsilon: float = 1e-7):
    """Keras ``Adam`` (Kingma and Ba with "epsilon hat")."""
    return chain(scale_by_adam(beta_1, beta_2, epsilon), scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
            epsilon: float = 1e-7, centered: bool = False):
    """Keras ``RMSprop``; momentum is applied to the scaled step, as Keras does."""
    parts = [scale_by_rms(rho, epsilon, centered), scale_by_learning_rate(learning_rate)]
    if momentum:
        parts.append(trace(momentum))
    return chain(*parts)


def adagrad(learning_rate=0.001, initial_accumulator_value: float = 0.1,
            epsilon: float = 1e-7):
    """Keras ``Adagrad``."""
    return chain(scale_by_sum_of_squares(initial_accumulator_value, epsilon),
                 scale_by_learning_rate(learning_rate))


def make_optimizer(name: str, learning_rate, *, momentum: float = 0.0, nesterov: bool = False,
                   beta_1: float = 0.9, beta_2: float = 0.999, rho: float = 0.9,
                   epsilon: float = 1e-7) -> GradientTransformation:
    """The named optimizer; ``learning_rate`` a number or a schedule."""
    if name == "sgd":
        return sgd(learning_rate, momentum, nesterov)
    if name == "adam":
        return adam(learning_rate, beta_1, beta_2, epsilon)
    if name == "rmsprop":
        return rmsprop(learning_rate, rho, momentum, epsilon)
    if name == "adagrad":
        return adagrad(learning_rate, epsilon=epsilon)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
