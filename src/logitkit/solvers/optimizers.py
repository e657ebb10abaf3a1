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

Parameters are flat float64 NumPy vectors. For speed, ``update`` writes into the state's
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
    """``init(params) -> state``; ``update(grads, state, params) -> (updates, state)``."""

    def init(self, params: np.ndarray):
        raise NotImplementedError

    def update(self, grads: np.ndarray, state, params: np.ndarray | None = None):
        raise NotImplementedError


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


class chain(GradientTransformation):
    """Apply ``transforms`` in order, each to the previous one's output."""

    def __init__(self, *transforms: GradientTransformation):
        self.transforms = transforms

    def init(self, params):
        return ChainState([t.init(params) for t in self.transforms])

    def update(self, grads, state, params=None):
        for t, s in zip(self.transforms, state.states, strict=True):
            grads, _ = t.update(grads, s, params)
        return grads, state


class scale_by_learning_rate(GradientTransformation):
    """updates = -lr(step) * grads; ``learning_rate`` a number or a schedule(step)."""

    def __init__(self, learning_rate):
        self.schedule = learning_rate if callable(learning_rate) else Constant(learning_rate)

    def init(self, params):
        return TransformState()

    def update(self, grads, state, params=None):
        lr = self.schedule(state.count)
        state.count += 1
        return grads * -lr, state


class trace(GradientTransformation):
    """Momentum on (already scaled) steps u: v = decay * v + u; returns v, or
    decay * v + u with ``nesterov`` (Keras's SGD and RMSprop momentum)."""

    def __init__(self, decay: float, nesterov: bool = False):
        self.decay, self.nesterov = decay, nesterov

    def init(self, params):
        return TransformState(_zeros(params, 1))

    def update(self, grads, state, params=None):
        (v,) = state.buffers
        v *= self.decay
        v += grads
        state.count += 1
        return (v * self.decay + grads if self.nesterov else v.copy()), state


class scale_by_adam(GradientTransformation):
    """m * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps): Keras's form, eps uncorrected."""

    def __init__(self, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7):
        self.b1, self.b2, self.eps = b1, b2, eps

    def init(self, params):
        return TransformState(_zeros(params, 2))

    def update(self, grads, state, params=None):
        m, v = state.buffers
        state.count += 1
        t = state.count
        m += (grads - m) * (1.0 - self.b1)
        v += (grads * grads - v) * (1.0 - self.b2)
        correction = math.sqrt(1.0 - self.b2**t) / (1.0 - self.b1**t)
        out = np.sqrt(v)
        out += self.eps
        np.divide(m, out, out=out)
        out *= correction
        return out, state


class scale_by_rms(GradientTransformation):
    """g / sqrt(v + eps) with v = decay v + (1 - decay) g^2 (centred: v - mean(g)^2 + eps)."""

    def __init__(self, decay: float = 0.9, eps: float = 1e-7, centered: bool = False):
        self.decay, self.eps, self.centered = decay, eps, centered

    def init(self, params):
        return TransformState(_zeros(params, 2 if self.centered else 1))

    def update(self, grads, state, params=None):
        v = state.buffers[0]
        v *= self.decay
        v += (1.0 - self.decay) * (grads * grads)
        state.count += 1
        if self.centered:
            mean = state.buffers[1]
            mean *= self.decay
            mean += (1.0 - self.decay) * grads
            return grads / np.sqrt(v - mean * mean + self.eps), state
        return grads / np.sqrt(v + self.eps), state


class scale_by_sum_of_squares(GradientTransformation):
    """g / sqrt(a + eps) with a += g^2, a starting at ``initial_accumulator_value``."""

    def __init__(self, initial_accumulator_value: float = 0.1, eps: float = 1e-7):
        self.initial, self.eps = initial_accumulator_value, eps

    def init(self, params):
        return TransformState((np.full(np.shape(params), self.initial, dtype=float),))

    def update(self, grads, state, params=None):
        (a,) = state.buffers
        a += grads * grads
        state.count += 1
        return grads / np.sqrt(a + self.eps), state


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
