"""The compiled minibatch loop (numba) against the NumPy steps it replaces.

Both paths are selected explicitly (``Trainer.engine``; ``compiled_loop.ENABLED`` for the
estimators) and must give the same trajectory: the same rows in the same order, the same
updates, to rounding.
"""

import pickle

import numpy as np
import pytest

import logitkit as lk
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective
from logitkit.solvers import compiled_loop, stochastic

pytest.importorskip("numba")

RNG = np.random.default_rng(3)
N, D = 150, 3
X = RNG.normal(size=(N, D))
Y_BIN = (X @ [1.0, -0.5, 0.3] + 0.2 + RNG.logistic(size=N) > 0).astype(float)
Y_MULTI = np.argmax(X @ RNG.normal(size=(D, 4)) + RNG.gumbel(size=(N, 4)), axis=1).astype(float)
Y_ORD = np.digitize(X @ [1.0, -0.5, 0.3] + RNG.logistic(size=N), [-1.0, 0.5, 2.0]).astype(float)
WEIGHTS = RNG.integers(1, 4, N).astype(float)

FAMILIES = {
    "binary": (Binomial(), Y_BIN, 2, True),
    "softmax": (Multinomial(full=True), Y_MULTI, 4, True),
    "softmax_no_intercept": (Multinomial(full=True), Y_MULTI, 4, False),
    "ordinal_logit": (Ordinal("logit"), Y_ORD, 4, False),
    "ordinal_cloglog": (Ordinal("cloglog"), Y_ORD, 4, False),
}
OPTIMIZERS = {
    "sgd": dict(optimizer="sgd", learning_rate=0.3),
    "sgd_momentum": dict(optimizer="sgd", learning_rate=0.1, momentum=0.9),
    "sgd_nesterov": dict(optimizer="sgd", learning_rate=0.1, momentum=0.9, nesterov=True),
    "adam": dict(optimizer="adam", learning_rate=0.05),
    "rmsprop": dict(optimizer="rmsprop", learning_rate=0.02),
    "rmsprop_momentum": dict(optimizer="rmsprop", learning_rate=0.02, momentum=0.5),
    "adagrad": dict(optimizer="adagrad", learning_rate=0.3),
}


@pytest.fixture(autouse=True)
def compiled_loop_on(monkeypatch):
    """Whatever LOGITKIT_NUMBA says, these tests choose each path themselves."""
    monkeypatch.setattr(compiled_loop, "ENABLED", True)


def train(family_case, engine, epochs=3, weights=None, alpha=0.0, X=X, verbose=0,
          **settings):
    """A trainer after ``epochs`` epochs of the chosen engine, and its run's report."""
    family, y, K, intercept = FAMILIES[family_case]
    w = np.ones(N) if weights is None else weights
    ob = Objective(family, X, y, w, K, intercept, alpha)
    problem = stochastic.TrainingProblem(ob)
    config = stochastic.TrainingConfig(**{"batch_size": 16, "epochs": epochs,
                                          "kernel_initializer": "glorot_uniform",
                                          "verbose": verbose, **settings})
    trainer = stochastic.Trainer(problem, config, np.random.default_rng(7),
                                 config.steps_per_epoch(N))
    trainer.engine = engine
    report = trainer.run(problem, epochs)
    return trainer, report


def assert_same(a, b):
    """Same trajectory: the trained coordinates, the optimizer's state and every epoch's
    loss and accuracy, to rounding."""
    np.testing.assert_allclose(a.u, b.u, rtol=1e-12, atol=1e-14)
    for x, y in zip(a.state.buffers, b.state.buffers, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
    assert a.state.count == b.state.count
    assert a.history.keys() == b.history.keys()
    for key in a.history:
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-12)


@pytest.mark.parametrize("family_case", FAMILIES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_compiled_epochs_follow_the_numpy_steps(family_case, optimizer):
    compiled, _ = train(family_case, "numba", **OPTIMIZERS[optimizer])
    plain, _ = train(family_case, "numpy", **OPTIMIZERS[optimizer])
    assert_same(compiled, plain)
    assert not np.allclose(compiled.u, train(family_case, "numba", epochs=1,
                                             **OPTIMIZERS[optimizer])[0].u)


@pytest.mark.parametrize("family_case", ["binary", "softmax", "ordinal_logit"])
def test_weights_penalty_schedule_float32_and_no_shuffle(family_case):
    """Row weights (accuracy weighted), the penalty in loss and gradient, a decaying
    learning rate, float32 X, rows in stored order and a full-batch step."""
    settings = dict(optimizer="adam", learning_rate=0.05, schedule="exponential",
                    decay_steps=3, weights=WEIGHTS, alpha=0.05)
    for extra in (dict(), dict(X=X.astype(np.float32), shuffle=False),
                  dict(batch_size=None, schedule="cosine")):
        compiled, _ = train(family_case, "numba", **{**settings, **extra})
        plain, _ = train(family_case, "numpy", **{**settings, **extra})
        assert_same(compiled, plain)


@pytest.mark.parametrize("shuffle", [True, False])
def test_x_not_in_c_order_is_gathered_by_windows(monkeypatch, shuffle):
    """X in Fortran order (as from a DataFrame) runs window by window: the same steps."""
    monkeypatch.setattr(compiled_loop, "_WINDOW_STEPS", 3)  # 10 steps: 4 windows
    for case in ("binary", "softmax", "ordinal_logit"):
        settings = dict(optimizer="rmsprop", learning_rate=0.02, momentum=0.5, alpha=0.01,
                        X=np.asfortranarray(X), weights=WEIGHTS, shuffle=shuffle)
        compiled, _ = train(case, "numba", **settings)
        plain, _ = train(case, "numpy", **settings)
        assert_same(compiled, plain)


def test_progress_bar_runs_the_epoch_in_parts(capsys):
    """With a progress bar the epoch runs in ten parts: the same trajectory, and the bar
    shows the epoch's logs."""
    compiled, _ = train("softmax", "numba", verbose=1, optimizer="adam", learning_rate=0.05,
                        weights=WEIGHTS)
    plain, _ = train("softmax", "numpy", optimizer="adam", learning_rate=0.05,
                     weights=WEIGHTS)
    assert_same(compiled, plain)
    err = capsys.readouterr().err
    assert "Epoch 3/3" in err and f"loss={compiled.history['loss'][-1]:.4f}" in err


def test_large_learning_rate_is_reported_on_both_paths():
    for engine in ("numba", "numpy"):
        with pytest.raises(FloatingPointError, match="no longer finite"):
            train("binary", engine, X=X * 1e150, optimizer="sgd", learning_rate=1e150)


def test_engine_choice(monkeypatch):
    """auto takes the compiled loop where it covers the problem (not probit), and the
    NumPy steps without numba; asking for numba where it cannot run says why."""
    ob = Objective(Ordinal("probit"), X, Y_ORD, np.ones(N), 4, False)
    config = stochastic.TrainingConfig(optimizer="adam", learning_rate=0.01, epochs=1)
    assert not compiled_loop.supports(stochastic.TrainingProblem(ob), config)
    for case in FAMILIES:
        family, y, K, intercept = FAMILIES[case]
        problem = stochastic.TrainingProblem(Objective(family, X, y, np.ones(N), K, intercept))
        assert compiled_loop.supports(problem, config)
    # the estimators' baseline-category multinomial trains as the full softmax: covered
    base = Objective(Multinomial(), X, Y_MULTI, np.ones(N), 4, True)
    assert compiled_loop.supports(stochastic.TrainingProblem(base), config)
    with pytest.raises(ValueError, match="engine='numba' needs numba"):
        trainer = stochastic.Trainer(stochastic.TrainingProblem(ob), config,
                                     np.random.default_rng(0), 10)
        trainer.engine = "numba"
        trainer.run(stochastic.TrainingProblem(ob), 1)
    monkeypatch.setattr(compiled_loop, "_INSTALLED", False)
    assert not compiled_loop.available()
    problem = stochastic.TrainingProblem(Objective(Binomial(), X, Y_BIN, np.ones(N), 2, True))
    assert not compiled_loop.supports(problem, config)


@pytest.mark.parametrize("estimator,y", [(lk.LogisticRegression, Y_BIN),
                                         (lk.LogisticRegression, Y_MULTI),
                                         (lk.OrdinalLogisticRegression, Y_ORD)])
def test_estimators_fit_the_same_on_both_paths(monkeypatch, estimator, y):
    """An estimator's fit, partial_fit and pickled model are the same whichever path ran;
    the compiled one really runs (the NumPy steps are made to fail)."""
    def fit(enabled):
        monkeypatch.setattr(compiled_loop, "ENABLED", enabled)
        model = estimator(solver="adam", learning_rate=0.05, epochs=4, batch_size=20,
                          random_state=1, validation_split=0.2)
        model.fit(X, y, sample_weight=WEIGHTS)
        model.partial_fit(X[:60], y[:60], sample_weight=WEIGHTS[:60])
        return pickle.loads(pickle.dumps(model))

    plain = fit(False)
    with monkeypatch.context() as patch:
        def refuse(*args):
            raise AssertionError("the NumPy steps ran")

        patch.setattr(stochastic.Trainer, "_host_steps", refuse)
        compiled = fit(True)
    np.testing.assert_allclose(compiled.coef_, plain.coef_, rtol=1e-12, atol=1e-14)
    for key in plain.history_:
        np.testing.assert_allclose(compiled.history_[key], plain.history_[key], rtol=1e-12)
