"""The optimizers: first steps against hand computation, and trajectories against Keras."""

import copy
import math
import pickle

import numpy as np
import pytest

import logitkit as lk
from logitkit.solvers import optimizers as opt

G1 = np.array([0.5, -2.0, 1e-6])
G2 = np.array([-0.25, 1.0, 0.0])


def steps(transform, grads, params=None):
    params = np.zeros(3) if params is None else params
    state = transform.init(params)
    out = []
    for g in grads:
        updates, state = transform.update(g.copy(), state, params)
        params = opt.apply_updates(params, updates)
        out.append(params.copy())
    return out


# -- first steps, computed by hand from the published update rules ----------------------
def test_sgd_plain():
    w1, w2 = steps(opt.sgd(0.1), [G1, G2])
    np.testing.assert_allclose(w1, [-0.05, 0.2, -1e-7])
    np.testing.assert_allclose(w2, [-0.05 + 0.025, 0.2 - 0.1, -1e-7])


def test_sgd_momentum_and_nesterov():
    # Keras: v = 0.9 v - lr g; w += v (nesterov: w += 0.9 v - lr g)
    w1, w2 = steps(opt.sgd(0.1, momentum=0.9), [G1, G2])
    v1 = -0.1 * G1
    v2 = 0.9 * v1 - 0.1 * G2
    np.testing.assert_allclose(w1, v1)
    np.testing.assert_allclose(w2, v1 + v2)
    w1, w2 = steps(opt.sgd(0.1, momentum=0.9, nesterov=True), [G1, G2])
    np.testing.assert_allclose(w1, 0.9 * v1 - 0.1 * G1)
    np.testing.assert_allclose(w2, (0.9 * v1 - 0.1 * G1) + (0.9 * v2 - 0.1 * G2))
    # the numbers themselves, for the first coordinate: -0.095, then -0.095 + (-0.01975)
    assert w1[0] == pytest.approx(-0.095)


def test_adam_first_steps_and_epsilon_hat():
    eps = 1e-7
    w1, w2 = steps(opt.adam(0.1), [G1, G2])
    # t = 1: m = 0.1 g, v = 0.001 g^2, alpha = 0.1 sqrt(0.001) / 0.1; step = alpha m/(sqrt v + eps)
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    alpha1 = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(w1, -alpha1 * m1 / (np.sqrt(v1) + eps), rtol=1e-12)
    # |g| >> eps: the first step is lr * sign(g)
    np.testing.assert_allclose(w1[:2], [-0.1, 0.1], rtol=1e-5)
    # epsilon sits outside the root and is not bias-corrected (Keras's "epsilon hat"):
    # for g = 1e-6, sqrt(v) = 3.16e-8, so the step is 0.1 * 1e-6 * 0.1 ... / (3.16e-8 + 1e-7)
    assert w1[2] == pytest.approx(-0.1 * math.sqrt(0.001) * 1e-6 / (math.sqrt(0.001) * 1e-6 + eps))
    assert w1[2] == pytest.approx(-0.024025307, rel=1e-6)
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
    alpha2 = 0.1 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(w2, w1 - alpha2 * m2 / (np.sqrt(v2) + eps), rtol=1e-12)


def test_rmsprop_epsilon_inside_the_root_and_momentum():
    eps = 1e-7
    (w1,) = steps(opt.rmsprop(0.1), [G1])
    np.testing.assert_allclose(w1, -0.1 * G1 / np.sqrt(0.1 * G1**2 + eps), rtol=1e-12)
    assert w1[0] == pytest.approx(-0.05 / math.sqrt(0.0250001), rel=1e-12)  # -0.3162271...
    w1, w2 = steps(opt.rmsprop(0.1, momentum=0.5), [G1, G2])
    s1 = 0.1 * G1 / np.sqrt(0.1 * G1**2 + eps)
    v2 = 0.9 * 0.1 * G1**2 + 0.1 * G2**2
    s2 = 0.5 * s1 + 0.1 * G2 / np.sqrt(v2 + eps)
    np.testing.assert_allclose(w1, -s1, rtol=1e-12)
    np.testing.assert_allclose(w2, -s1 - s2, rtol=1e-12)


def test_rmsprop_centered():
    eps = 1e-7
    (w1,) = steps(opt.rmsprop(0.1, centered=True), [G1])
    v, mean = 0.1 * G1**2, 0.1 * G1
    np.testing.assert_allclose(w1, -0.1 * G1 / np.sqrt(v - mean**2 + eps), rtol=1e-12)


def test_adagrad():
    eps = 1e-7
    w1, w2 = steps(opt.adagrad(0.1), [G1, G2])
    a1 = 0.1 + G1**2
    a2 = a1 + G2**2
    np.testing.assert_allclose(w1, -0.1 * G1 / np.sqrt(a1 + eps), rtol=1e-12)
    np.testing.assert_allclose(w2, w1 - 0.1 * G2 / np.sqrt(a2 + eps), rtol=1e-12)


def test_schedules_follow_keras():
    exp = opt.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert exp(0) == 0.1 and exp(10) == pytest.approx(0.05) and exp(5) == pytest.approx(
        0.1 * 0.5**0.5)
    stair = opt.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stair(9) == 0.1 and stair(10) == pytest.approx(0.05)
    cos = opt.CosineDecay(0.1, decay_steps=100)
    assert cos(0) == pytest.approx(0.1) and cos(50) == pytest.approx(0.05)
    assert cos(100) == pytest.approx(0.0) and cos(500) == pytest.approx(0.0)
    assert opt.CosineDecay(0.1, 100, alpha=0.1)(100) == pytest.approx(0.01)
    # the schedule is read at the step count before the update (0 first), as Keras does
    (w1, w2) = steps(opt.sgd(opt.ExponentialDecay(1.0, 1, 0.5)), [G1, G1])
    np.testing.assert_allclose(w2 - w1, -0.5 * G1)
    assert opt.make_schedule(0.1, "step", steps_per_epoch=7)(7) == pytest.approx(0.096)
    assert opt.make_schedule(0.1, "cosine", total_steps=20)(20) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="schedule"):
        opt.make_schedule(0.1, "linear")


def test_state_pickles_and_chains_compose():
    transform = opt.chain(opt.scale_by_adam(), opt.scale_by_learning_rate(0.1), opt.trace(0.5))
    state = transform.init(np.zeros(3))
    _, state = transform.update(G1.copy(), state)
    copied = pickle.loads(pickle.dumps((transform, state)))
    a, _ = transform.update(G2.copy(), copy.deepcopy(state))
    b, _ = copied[0].update(G2.copy(), copied[1])
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="optimizer"):
        opt.make_optimizer("lion", 0.1)


# -- whole trajectories against Keras ----------------------------------------------------
# Keras 3.15.1 (TensorFlow 2.21 CPU): Dense(1, sigmoid) from zero weights, learning rate
# 0.1, batch 4, no shuffling, 3 epochs on the 6 rows below; final [kernel, bias] and the
# per-epoch loss. Regenerate with `python benchmarks/keras_seeds.py --reference`.
X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [2.0, 1.0], [-1.2, -0.4], [0.1, 2.2]])
Y = np.array([0, 1, 0, 1, 0, 1])
Y3 = np.array([0, 1, 2, 1, 0, 2])
KERAS = {
    "sgd": ([0.2154124, 0.2244708, -0.0075924], [0.6842008, 0.6279213, 0.5809019]),
    "sgd_momentum": ([0.6329661, 0.5987148, -0.0313403], [0.6842008, 0.5886266, 0.4579046]),
    "sgd_nesterov": ([0.7245857, 0.691065, -0.0550306], [0.6763652, 0.5457943, 0.417502]),
    "adam": ([0.5757588, 0.5339406, -0.2796121], [0.6622802, 0.5373197, 0.4380387]),
    "rmsprop": ([0.8716279, 1.0191821, -0.5058857], [0.6064374, 0.3741313, 0.2968796]),
    "rmsprop_momentum": ([1.4175339, 1.5853292, -1.0940001], [0.6064374, 0.3020464, 0.183076]),
    "adagrad": ([0.2861122, 0.2790741, -0.0332238], [0.6737533, 0.5907905, 0.5414954]),
}
SETTINGS = {
    "sgd": dict(solver="sgd"),
    "sgd_momentum": dict(solver="sgd", momentum=0.9),
    "sgd_nesterov": dict(solver="sgd", momentum=0.9, nesterov=True),
    "adam": dict(solver="adam"),
    "rmsprop": dict(solver="rmsprop"),
    "rmsprop_momentum": dict(solver="rmsprop", momentum=0.5),
    "adagrad": dict(solver="adagrad"),
}


@pytest.mark.parametrize("name", sorted(KERAS))
def test_trajectory_matches_keras(name):
    weights, losses = KERAS[name]
    model = lk.LogisticRegression(learning_rate=0.1, epochs=3, batch_size=4, shuffle=False,
                                  **SETTINGS[name]).fit(X, Y)
    kernel, bias = model.get_weights()
    # Keras computes in float32; Adam's bias correction carries its rounding furthest
    np.testing.assert_allclose(np.concatenate([kernel[:, 0], bias]), weights, rtol=2e-5,
                               atol=1e-6)
    np.testing.assert_allclose(model.history_["loss"], losses, rtol=1e-5)


def test_softmax_trajectory_matches_keras_full_softmax():
    # Keras Dense(3, softmax), Adam(0.1): the same settings on three classes
    kernel = [[-0.507675, 0.5194142, -0.2705309], [-0.5873891, -0.0086021, 0.4874366]]
    bias = [0.1405717, -0.0908223, 0.0153166]
    losses = [1.0814908, 0.7998893, 0.6216792]
    model = lk.LogisticRegression(solver="adam", learning_rate=0.1, epochs=3, batch_size=4,
                                  shuffle=False).fit(X, Y3)
    trained = model._trainer.u.reshape(3, 3)  # the full softmax, as Keras holds it
    np.testing.assert_allclose(trained[:, :2].T, kernel, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(trained[:, 2], bias, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(model.history_["loss"], losses, rtol=1e-5)
    # the reported weights are the same model, centred over the classes
    k, b = model.get_weights()
    np.testing.assert_allclose(k, np.asarray(kernel) - np.mean(kernel, axis=1, keepdims=True),
                               atol=1e-5)
    np.testing.assert_allclose(b, np.asarray(bias) - np.mean(bias), atol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("schedule", [None, "cosine", lambda step: 0.01 / (1 + step)])
def test_an_epoch_table_holds_each_step_scalars(name, schedule):
    """The device loop's per-epoch table equals the step-by-step scalars."""
    lr = opt.make_schedule(0.01, schedule, total_steps=50)
    optimizer = opt.make_optimizer(name, lr, momentum=0.9)
    table = optimizer.table(7, 20)
    assert table.shape == (20, optimizer.n_scalars)
    np.testing.assert_allclose(table, [optimizer.scalars(7 + s) for s in range(20)],
                               rtol=1e-14)
