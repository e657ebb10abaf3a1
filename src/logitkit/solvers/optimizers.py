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
keep references to old ones (copy the state to keep a snapshot).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

DEFAULT_LEARNING_RATES = {"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001, "adagrad": 0.001}
OPTIMIZERS = tuple(DEFAULT_LEARNING_RATES)
SCHEDULES = ("constant", "exponential", "step", "cosine")


class GradientTransformation(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params) -> (updates, state)``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]]


def apply_updates(params: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """params + updates (a new array)."""
    return params + updates


# -- learning-rate schedules ----------------------------------------------------------
Schedule = Callable[[int], float]


def constant_schedule(learning_rate: float) -> Schedule:
    def schedule(step: int) -> float:
        return learning_rate

    return schedule


def exponential_decay(learning_rate: float, decay_steps: int, decay_rate: float,
                      staircase: bool = False) -> Schedule:
    """lr * decay_rate ** (step / decay_steps), the exponent floored if ``staircase``
    (Keras ``ExponentialDecay``)."""

    def schedule(step: int) -> float:
        p = step / decay_steps
        if staircase:
            p = math.floor(p)
        return learning_rate * decay_rate**p

    return schedule


def cosine_decay(learning_rate: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """lr * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)
    (Keras ``CosineDecay`` without warm-up)."""

    def schedule(step: int) -> float:
        fraction = min(step, decay_steps) / decay_steps
        return learning_rate * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha)

    return schedule


def make_schedule(learning_rate: float, schedule=None, *, decay_rate: float = 0.96,
                  decay_steps: int | None = None, steps_per_epoch: int = 1,
                  total_steps: int = 1) -> Schedule:
    """A schedule by name: None or "constant"; "exponential" (smooth) and "step"
    (staircase) multiply the rate by ``decay_rate`` every ``decay_steps`` steps (default:
    once per epoch); "cosine" decays to 0 over ``decay_steps`` steps (default: the whole
    fit). A callable ``schedule(step) -> lr`` is used as it is."""
    if callable(schedule):
        return schedule
    if schedule in (None, "constant"):
        return constant_schedule(learning_rate)
    if schedule in ("exponential", "step"):
        steps = decay_steps or steps_per_epoch
        return exponential_decay(learning_rate, steps, decay_rate, staircase=schedule == "step")
    if schedule == "cosine":
        return cosine_decay(learning_rate, decay_steps or max(1, total_steps))
    raise ValueError(f"schedule must be one of {SCHEDULES}, None or a callable, got {schedule!r}")


# -- building blocks ------------------------------------------------------------------
@dataclass
class _Count:
    count: int = 0


@dataclass
class _Buffers:
    """Per-parameter buffers (in place) and the step count."""

    buffers: tuple
    count: int = 0


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` in order, each to the previous one's output."""

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(grads, state, params=None):
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def scale_by_learning_rate(learning_rate) -> GradientTransformation:
    """updates = -lr(step) * grads; ``learning_rate`` a number or a schedule."""
    schedule = learning_rate if callable(learning_rate) else constant_schedule(learning_rate)

    def init(params):
        return _Count()

    def update(grads, state, params=None):
        lr = schedule(state.count)
        state.count += 1
        return grads * -lr, state

    return GradientTransformation(init, update)


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum on (already scaled) steps u: v = decay * v + u; returns v, or
    decay * v + u with ``nesterov`` (Keras's SGD and RMSprop momentum)."""

    def init(params):
        return _Buffers((np.zeros_like(params, dtype=float),))

    def update(grads, state, params=None):
        (v,) = state.buffers
        v *= decay
        v += grads
        state.count += 1
        return (v * decay + grads if nesterov else v.copy()), state

    return GradientTransformation(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7) -> GradientTransformation:
    """m * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps), Keras's form (eps not corrected)."""

    def init(params):
        return _Buffers((np.zeros_like(params, dtype=float), np.zeros_like(params, dtype=float)))

    def update(grads, state, params=None):
        m, v = state.buffers
        state.count += 1
        t = state.count
        m += (grads - m) * (1 - b1)
        v += (grads * grads - v) * (1 - b2)
        correction = math.sqrt(1 - b2**t) / (1 - b1**t)
        return m * correction / (np.sqrt(v) + eps), state

    return GradientTransformation(init, update)


def scale_by_rms(decay: float = 0.9, eps: float = 1e-7,
                 centered: bool = False) -> GradientTransformation:
    """g / sqrt(v + eps) with v = decay v + (1 - decay) g^2 (centred: v - mean(g)^2 + eps)."""

    def init(params):
        n_buffers = 2 if centered else 1
        return _Buffers(tuple(np.zeros_like(params, dtype=float) for _ in range(n_buffers)))

    def update(grads, state, params=None):
        v = state.buffers[0]
        v *= decay
        v += (1 - decay) * (grads * grads)
        state.count += 1
        if centered:
            mean = state.buffers[1]
            mean *= decay
            mean += (1 - decay) * grads
            return grads / np.sqrt(v - mean * mean + eps), state
        return grads / np.sqrt(v + eps), state

    return GradientTransformation(init, update)


def scale_by_sum_of_squares(initial_accumulator_value: float = 0.1,
                            eps: float = 1e-7) -> GradientTransformation:
    """g / sqrt(a + eps) with a += g^2 (Adagrad)."""

    def init(params):
        return _Buffers((np.full_like(params, initial_accumulator_value, dtype=float),))

    def update(grads, state, params=None):
        (a,) = state.buffers
        a += grads * grads
        state.count += 1
        return grads / np.sqrt(a + eps), state

    return GradientTransformation(init, update)


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
