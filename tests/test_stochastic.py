"""Minibatch training: the batch objective, the loop, and the estimators' Keras workflow."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import logitkit as lk
from logitkit.families import Binomial, Multinomial, Ordinal
from logitkit.objective import Objective

RNG = np.random.default_rng(0)
N, D = 400, 3
X = RNG.normal(size=(N, D))
Y_BIN = (X @ [1.0, -0.5, 0.3] + 0.2 + RNG.logistic(size=N) > 0).astype(int)
Y_MULTI = np.argmax(X @ RNG.normal(size=(D, 3)) + RNG.gumbel(size=(N, 3)), axis=1)
Y_ORD = np.digitize(X @ [1.0, -0.5, 0.3] + RNG.logistic(size=N), [-1.0, 0.5, 2.0])
Y_SKEW = (X @ [1.0, -0.5, 0.3] - 1.5 + RNG.logistic(size=N) > 0).astype(int)  # ~25% ones
WEIGHTS = RNG.integers(1, 4, N).astype(float)

CASES = {
    "binary": (lk.LogisticRegression, Y_BIN),
    "multinomial": (lk.LogisticRegression, Y_MULTI),
    "ordinal": (lk.OrdinalLogisticRegression, Y_ORD),
}
LEARNING_RATES = {"sgd": 0.5, "adam": 0.05, "rmsprop": 0.02, "adagrad": 0.5}


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


# -- the batch objective ---------------------------------------------------------------
@pytest.mark.parametrize("family,K,intercept", [(Binomial(), 2, True), (Multinomial(), 3, True),
                                                (Multinomial(full=True), 3, True),
                                                (Multinomial(full=True), 3, False),
                                                (Ordinal("probit"), 4, False)])
def test_batch_objective_is_the_objective(family, K, intercept):
    y = np.minimum(Y_ORD, K - 1).astype(float)
    ob = Objective(family, X.astype(np.float32), y, WEIGHTS, K, intercept, alpha=0.3)
    theta = RNG.normal(size=ob.n_params) * 0.3
    if ob.q:
        theta[-ob.q:] = np.sort(theta[-ob.q:])
    value, grad, _ = ob.evaluate(theta, 1)
    v_all, g_all, eta = ob.batch_value_grad(theta, slice(None))
    assert eta.shape == (N, ob.m) and eta.dtype == np.float64
    np.testing.assert_allclose(v_all, value, rtol=1e-6)
    np.testing.assert_allclose(g_all, grad, rtol=1e-5, atol=1e-7)
    # unbiased: the mean over a partition into equal batches is the full objective
    order = RNG.permutation(N)
    parts = [ob.batch_value_grad(theta, order[i:i + 40]) for i in range(0, N, 40)]
    np.testing.assert_allclose(np.mean([p[0] for p in parts]), value, rtol=1e-6)
    np.testing.assert_allclose(np.mean([p[1] for p in parts], axis=0), grad, rtol=1e-5,
                               atol=1e-7)


def test_full_softmax_gradient_by_finite_differences():
    ob = Objective(Multinomial(full=True), X, Y_MULTI.astype(float), WEIGHTS, 3, True, 0.1)
    theta = RNG.normal(size=ob.n_params)
    _, grad, hess = ob.evaluate(theta, 2)
    h = 1e-6
    for j in range(ob.n_params):
        e = np.zeros(ob.n_params)
        e[j] = h
        fd = (ob.evaluate(theta + e, 1)[0] - ob.evaluate(theta - e, 1)[0]) / (2 * h)
        assert fd == pytest.approx(grad[j], rel=1e-5, abs=1e-8)
        fd_g = (ob.evaluate(theta + e, 1)[1] - ob.evaluate(theta - e, 1)[1]) / (2 * h)
        np.testing.assert_allclose(fd_g, hess[j], rtol=1e-4, atol=1e-7)
    # the full softmax is the baseline-category model: same probabilities
    W = theta.reshape(3, D + 1)
    full = Multinomial(full=True).predict_proba(X[:5] @ W[:, :D].T + W[:, D], np.zeros(0))
    base = Multinomial().predict_proba(X[:5] @ (W[1:, :D] - W[0, :D]).T + (W[1:, D] - W[0, D]),
                                       np.zeros(0))
    np.testing.assert_allclose(full, base, rtol=1e-12)


# -- reaching the exact optimum ------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("solver", sorted(LEARNING_RATES))
def test_minibatch_reaches_the_exact_optimum(kind, solver):
    Est, y = CASES[kind]
    extra = {"alpha": 0.05} if solver in ("sgd", "adagrad") else {}
    mb = Est(solver=solver, learning_rate=LEARNING_RATES[solver], epochs=40, batch_size=32,
             schedule="cosine", random_state=0, **extra).fit(X, y, sample_weight=WEIGHTS)
    exact = Est(**extra).fit(X, y, sample_weight=WEIGHTS)
    gap = mb.result_.objective_value - exact.result_.objective_value
    assert 0 <= gap <= 1e-3 * exact.result_.objective_value
    assert np.isfinite(mb.optimum_distance_) and mb.optimum_distance_ < 1.0
    np.testing.assert_allclose(mb.predict_proba(X[:20]), exact.predict_proba(X[:20]), atol=0.02)


def test_class_weight_is_the_objective_the_exact_solver_minimises():
    mb = lk.LogisticRegression(solver="adam", learning_rate=0.05, epochs=40, schedule="cosine",
                               class_weight="balanced", random_state=0).fit(X, Y_SKEW)
    exact = lk.LogisticRegression(class_weight="balanced").fit(X, Y_SKEW)
    unweighted = lk.LogisticRegression().fit(X, Y_SKEW)
    np.testing.assert_allclose(mb.coef_, exact.coef_, atol=0.05)
    assert np.abs(exact.intercept_ - unweighted.intercept_).max() > 0.5  # weights matter


def test_full_batch_gradient_descent_converges_and_gets_standard_errors():
    mb = lk.LogisticRegression(solver="adam", learning_rate=0.1, epochs=300,
                               batch_size=None).fit(X, Y_BIN)
    exact = lk.LogisticRegression().fit(X, Y_BIN)
    assert mb.converged_ and mb.optimum_distance_ <= 0.01
    assert mb.inference_ is not None
    np.testing.assert_allclose(mb.summary().table["std_err"], exact.summary().table["std_err"],
                               rtol=1e-4)
    text = str(mb.summary())
    assert "adam (minibatch)" in text and "Epochs" in text


def test_distance_without_standard_errors_takes_curvature_from_a_row_sample():
    """When no standard errors are wanted, the distance to the optimum uses Newton's row
    sample for H (one exact gradient pass, no full Hessian): close to the full one."""
    from logitkit.hessian_samples import hessian_objective
    from logitkit.solvers.stochastic import optimality_distance

    rng = np.random.default_rng(1)
    Xb = rng.normal(size=(70_000, 30))
    y = np.argmax(Xb @ rng.normal(size=(30, 3)) / 5 + rng.gumbel(size=(70_000, 3)), axis=1)
    ob = Objective(Multinomial(), Xb, y, np.ones(len(y)), 3, True)
    assert hessian_objective(ob).n <= ob.n / 2  # the sample is a real one here
    params = 0.01 * rng.normal(size=ob.n_params)
    full, grad_max, hess = optimality_distance(ob, params)
    sampled, same_grad_max, none = optimality_distance(ob, params, keep_hessian=False)
    assert hess.shape == (ob.n_params, ob.n_params) and none is None
    assert same_grad_max == pytest.approx(grad_max, rel=1e-12) and full > 10
    assert sampled == pytest.approx(full, rel=0.05)


def test_approximate_fit_withholds_standard_errors():
    mb = lk.LogisticRegression(solver="adam", learning_rate=0.05, epochs=5,
                               random_state=0).fit(X, Y_BIN)
    assert not mb.converged_ and mb.optimum_distance_ > 0.01
    assert mb.inference_ is None and mb.separation_ is None
    summary = mb.summary()
    assert summary.table["std_err"].isna().all()
    assert summary.header_values()["cov_type"] == "none (approximate fit)"
    assert "standard errors from the maximum-likelihood estimate" in summary.notes[0]
    with pytest.raises(ValueError, match="Minibatch fit"):
        mb.covariance()
    # penalised minibatch fits keep the penalised-fit wording
    pen = lk.LogisticRegression(solver="adam", epochs=2, alpha=0.1, random_state=0).fit(X, Y_BIN)
    assert "penalised" in str(pen.summary())


# -- the loop: history, validation, early stopping, determinism ---------------------------
def test_history_keys_and_lengths():
    m = lk.LogisticRegression(solver="sgd", epochs=7, random_state=0).fit(X, Y_MULTI)
    assert set(m.history_) == {"loss", "accuracy"}
    assert all(len(v) == 7 for v in m.history_.values()) and m.n_iter_ == 7
    m.fit(X, Y_MULTI, validation_data=(X[:50], Y_MULTI[:50]))
    assert set(m.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 7 for v in m.history_.values())
    # val_loss is the objective on the validation rows (mean loss + penalty)
    assert m.history_["val_loss"][-1] == pytest.approx(m.evaluate(X[:50], Y_MULTI[:50])["loss"])
    assert m.history_["val_accuracy"][-1] == pytest.approx(m.score(X[:50], Y_MULTI[:50]))
    split = lk.LogisticRegression(solver="adam", epochs=3, validation_split=0.25,
                                  random_state=0).fit(X, Y_BIN)
    assert len(split.history_["val_loss"]) == 3
    assert split.result_.n_obs == 300  # trained on the first 75% of the rows, as Keras


def test_epoch_loss_is_the_mean_of_the_batch_losses():
    # without shuffling and with one step per epoch, the epoch loss is the objective at
    # the epoch's starting weights (Keras records each batch's loss before its update)
    m = lk.LogisticRegression(solver="sgd", learning_rate=0.1, epochs=2, batch_size=None,
                              shuffle=False).fit(X, Y_BIN)
    first = lk.LogisticRegression(solver="sgd", learning_rate=0.1, epochs=1, batch_size=None,
                                  shuffle=False).fit(X, Y_BIN)
    assert m.history_["loss"][0] == pytest.approx(np.log(2))  # zero weights
    assert m.history_["loss"][1] == pytest.approx(first.evaluate(X, Y_BIN)["loss"])


def test_early_stopping_stops_and_restores_the_best_weights():
    # a learning rate this large makes the loss bounce: early stopping must catch it
    m = lk.LogisticRegression(solver="sgd", learning_rate=50.0, epochs=200, early_stopping=True,
                              patience=3, random_state=0).fit(X, Y_BIN, validation_data=(X, Y_BIN))
    n = len(m.history_["val_loss"])
    assert n < 200 and m.n_iter_ == n
    best = int(np.argmin(m.history_["val_loss"]))
    assert n - 1 - best >= 3  # stopped after `patience` epochs without improvement
    assert "early stopping" in m.result_.report.reason
    assert m.evaluate(X, Y_BIN)["loss"] == pytest.approx(min(m.history_["val_loss"]))
    # monitors the training loss without validation data; min_delta makes it stop sooner
    loose = lk.LogisticRegression(solver="adam", epochs=300, early_stopping=True, patience=2,
                                  min_delta=1e-2, random_state=0).fit(X, Y_BIN)
    assert loose.n_iter_ < 300


def test_same_seed_same_result_and_seeds_differ():
    def fit(seed):
        return lk.LogisticRegression(solver="adam", epochs=3, kernel_initializer="glorot_uniform",
                                     random_state=seed).fit(X, Y_MULTI)

    a, b, c = fit(3), fit(3), fit(4)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.history_ == b.history_
    assert not np.allclose(a.coef_, c.coef_)


def test_partial_fit_streams_and_keeps_optimizer_state():
    model = lk.LogisticRegression(solver="adam", learning_rate=0.05, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X[:100], Y_MULTI[:100])
    for start in range(0, N, 100):
        model.partial_fit(X[start:start + 100], Y_MULTI[start:start + 100], classes=[0, 1, 2])
    assert len(model.history_["loss"]) == 4
    assert model._trainer.state.states[0].count == 4 * 4  # 4 calls x 4 batches of 32
    # one partial_fit over all the rows is fit with one epoch
    one = lk.LogisticRegression(solver="adam", epochs=1, random_state=1).fit(X, Y_MULTI)
    streamed = lk.LogisticRegression(solver="adam", random_state=1).partial_fit(
        X, Y_MULTI, classes=np.array([2, 1, 0]))
    np.testing.assert_allclose(streamed.coef_, one.coef_)
    np.testing.assert_array_equal(streamed.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="not among classes_"):
        streamed.partial_fit(X[:10], np.full(10, 7))
    assert not hasattr(lk.LogisticRegression(), "partial_fit")  # exact solvers: no streaming
    assert streamed.summary().table["std_err"].isna().all()


def test_partial_fit_continues_a_loaded_or_exact_fit(tmp_path):
    exact = lk.LogisticRegression().fit(X, Y_MULTI)
    exact.set_params(solver="sgd", learning_rate=1e-9)
    exact.partial_fit(X, Y_MULTI)  # warm start: a tiny step keeps the exact optimum
    np.testing.assert_allclose(exact.coef_, lk.LogisticRegression().fit(X, Y_MULTI).coef_,
                               atol=1e-6)
    trained = lk.LogisticRegression(solver="adam", epochs=2, random_state=0).fit(X, Y_MULTI)
    path = tmp_path / "model.lk"
    trained.save(path)
    loaded = lk.load(path)
    loaded.set_params(learning_rate=1e-12)
    loaded.partial_fit(X, Y_MULTI)
    np.testing.assert_allclose(loaded.coef_, trained.coef_, atol=1e-8)
    assert len(loaded.history_["loss"]) == 3
    with pytest.raises(ValueError, match="differ"):
        loaded.partial_fit(X, Y_MULTI, classes=[0, 1])
    # validation in some calls and not in others: the history stays one entry per epoch
    mixed = lk.LogisticRegression(solver="adam", epochs=2).fit(X, Y_BIN,
                                                               validation_data=(X, Y_BIN))
    mixed.partial_fit(X, Y_BIN)
    assert {len(v) for v in mixed.history_.values()} == {3}
    assert np.isnan(mixed.history_["val_loss"][2]) and not np.isnan(mixed.history_["loss"][2])


def test_ordinal_partial_fit_keeps_the_given_class_order():
    labels = np.array(["low", "mid", "high", "top"])[Y_ORD]
    model = lk.OrdinalLogisticRegression(solver="adam", learning_rate=0.05, random_state=0)
    for _ in range(5):
        model.partial_fit(X, labels, classes=["low", "mid", "high", "top"])
    assert list(model.classes_) == ["low", "mid", "high", "top"]
    assert np.all(np.diff(model.thresholds_) > 0) and model.coef_[0] > 0


def test_evaluate_get_weights_and_pickling():
    m = lk.LogisticRegression(solver="rmsprop", epochs=5, random_state=0).fit(X, Y_BIN)
    result = m.evaluate(X, Y_BIN)
    assert set(result) == {"loss", "accuracy"}
    assert result["accuracy"] == pytest.approx(m.score(X, Y_BIN))
    assert result["loss"] == pytest.approx(m.result_.objective_value)
    kernel, bias = m.get_weights()
    assert kernel.shape == (D, 1) and bias.shape == (1,)
    np.testing.assert_allclose(X @ kernel[:, 0] + bias[0], m.decision_function(X))
    restored = pickle.loads(pickle.dumps(m))
    restored.partial_fit(X, Y_BIN)  # the optimizer state survives pickling
    assert len(restored.history_["loss"]) == 6
    assert not hasattr(clone(m), "history_")
    multi = lk.LogisticRegression(solver="adam", epochs=2).fit(X, Y_MULTI)
    assert [w.shape for w in multi.get_weights()] == [(D, 3), (3,)]
    ordinal = lk.OrdinalLogisticRegression().fit(X, Y_ORD)
    assert [w.shape for w in ordinal.get_weights()] == [(D, 1), (3,)]


def test_dataframe_input_and_string_labels():
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1],
                          "c": pd.Categorical(np.where(X[:, 2] > 0, "hi", "lo"))})
    labels = np.where(Y_BIN == 1, "yes", "no")
    m = lk.LogisticRegression(solver="adam", epochs=3, random_state=0).fit(
        frame, labels, validation_data=(frame.iloc[:40], labels[:40]))
    assert m.coef_.shape == (1, 3) and list(m.classes_) == ["no", "yes"]
    assert 0 <= m.evaluate(frame, labels)["accuracy"] <= 1


def test_verbose_progress_bar_and_silence(capsys):
    lk.LogisticRegression(solver="adam", epochs=2, verbose=0).fit(X, Y_BIN)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    lk.LogisticRegression(solver="adam", epochs=2, verbose=1).fit(
        X, Y_BIN, validation_data=(X, Y_BIN))
    err = capsys.readouterr().err
    assert "Epoch 2/2" in err and "13/13" in err and "loss=" in err and "val_accuracy=" in err
    lk.LogisticRegression(solver="adam", epochs=2, verbose=2).fit(X, Y_BIN)
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Epoch 1/2 - loss: " in err


def test_describe_for_exact_and_minibatch_fits():
    exact = lk.LogisticRegression().fit(X, Y_MULTI).describe()
    mb = lk.LogisticRegression(solver="sgd", epochs=2).fit(X, Y_MULTI).describe()
    for d in (exact, mb):
        assert (d.inputs, d.outputs, d.activation) == (D, 3, "softmax")
        assert d.trainable == 3 * (D + 1) and d.identifiable == 2 * (D + 1)
    assert "minibatch" in mb.solver and "exact" in exact.solver
    text = str(mb)
    assert "Dense, softmax" in text and "Trainable params: 12" in text
    binary = lk.LogisticRegression(solver="adam", epochs=1).fit(X, Y_BIN).describe()
    assert binary.trainable == D + 1 and "(None, 1)" in str(binary)
    ordinal = lk.OrdinalLogisticRegression().fit(X, Y_ORD).describe()
    assert ordinal.trainable == D + 3 and "logit" in ordinal.activation


@pytest.mark.parametrize("params,match", [
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(epochs=0), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(momentum=1.5), "momentum"),
    (dict(schedule="linear"), "schedule"),
    (dict(validation_split=1.0), "validation_split"),
    (dict(kernel_initializer="he_normal"), "kernel_initializer"),
    (dict(verbose=3), "verbose"),
])
def test_invalid_settings_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        lk.LogisticRegression(solver="adam", **params).fit(X, Y_BIN)


def test_exact_solvers_refuse_validation_settings_and_diverging_rates_are_reported():
    with pytest.raises(ValueError, match="minibatch"):
        lk.LogisticRegression().fit(X, Y_BIN, validation_data=(X, Y_BIN))
    with pytest.raises(ValueError, match="minibatch"):
        lk.LogisticRegression(validation_split=0.2).fit(X, Y_BIN)
    with pytest.raises(ValueError, match="leaves class"):
        lk.LogisticRegression(solver="adam", validation_split=0.5).fit(
            X, np.sort(Y_BIN))
    with pytest.raises(FloatingPointError, match="learning rate"):
        lk.LogisticRegression(solver="sgd", learning_rate=1e300, epochs=3).fit(X * 1e10, Y_BIN)


def test_schedules_and_initialisers_run():
    for schedule in ("constant", "exponential", "step", "cosine", lambda step: 0.01):
        m = lk.LogisticRegression(solver="sgd", epochs=2, schedule=schedule,
                                  kernel_initializer="glorot_uniform", random_state=0)
        assert np.isfinite(m.fit(X, Y_BIN).coef_).all()
    # a callable initializer gives the starting kernel, as a Keras initializer does
    kernel = np.arange(9.0).reshape(3, 3) / 10
    m = lk.LogisticRegression(solver="sgd", learning_rate=1e-12, epochs=1,
                              kernel_initializer=lambda shape: kernel[: shape[0], : shape[1]])
    m.fit(X, Y_MULTI)
    np.testing.assert_allclose(m.get_weights()[0], kernel - kernel.mean(axis=1, keepdims=True),
                               atol=1e-9)
    with pytest.raises(ValueError, match="shape"):
        lk.LogisticRegression(solver="sgd", kernel_initializer=lambda shape: np.zeros(2)).fit(
            X, Y_BIN)


@pytest.mark.parametrize("family,K", [(Binomial(), 2), (Multinomial(), 3), (Ordinal(), 3)])
def test_the_loop_runs_on_torch_tensors_as_on_numpy(family, K):
    torch = pytest.importorskip("torch")
    from logitkit.solvers.stochastic import Trainer, TrainingConfig, TrainingProblem

    y = np.minimum(Y_ORD, K - 1).astype(float)
    results = []
    for convert in (np.asarray, torch.from_numpy):
        ob = Objective(family, convert(X), convert(y), convert(WEIGHTS), K,
                       family.name != "ordinal", alpha=0.01)
        problem = TrainingProblem(ob)
        trainer = Trainer(problem, TrainingConfig.from_params("adam", {"epochs": 2}),
                          np.random.default_rng(0), 13)
        report = trainer.run(problem, 2, validation=problem.like(ob))
        results.append((trainer.u, report.history[-1]))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-12)
    assert results[0][1] == pytest.approx(results[1][1])
