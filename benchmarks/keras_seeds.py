"""The three Keras programs of seed 002, run side by side with Keras and with logitkit.

    python -m venv /tmp/kerasenv
    /tmp/kerasenv/bin/pip install -r benchmarks/requirements-keras.txt   # TensorFlow CPU
    /tmp/kerasenv/bin/pip install -e .
    /tmp/kerasenv/bin/python benchmarks/keras_seeds.py            # the comparison table
    /tmp/kerasenv/bin/python benchmarks/keras_seeds.py --reference  # Keras trajectories
                                                                     # for tests/test_optimizers

Each program is the seed's (same data generator, same layer, optimizer, learning rate,
epochs and batch size); both libraries get the same arrays. A program's time covers
what the seed does after making the data and before plotting: build and compile the
model (Keras), fit, and the seed's evaluate/predict calls, each run once untimed first
(Keras's one-time start-up is not counted) and then --repeats times (median reported),
a fresh model every time as a script would build; Keras's ``fit`` call is also timed
alone, and the whole logitkit program compared with it. Accuracy is on a test set drawn
from the same distribution with another seed. A parity run trains both from zero weights
without shuffling (so both see the batches in the same order) and reports the largest
difference between the final weights: the same update rules give the same trajectory,
up to Keras's float32 arithmetic. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit import datasets  # noqa: E402


def _keras():
    import keras

    return keras


# -- the programs -----------------------------------------------------------------------
# Each program: training data (X, y) as the seed makes it; ``predict``: what the seed
# predicts on (the fitted curve's grid, the boundary's mesh, the softmax test set);
# ``test``: the seed's test set that ``evaluate`` sees (softmax only); (Xa, ya): a large
# test set from the same distribution for the accuracy columns (untimed).
def seed_1d(random_state):
    X, y = datasets.make_sigmoid_1d(1000, random_state=random_state)
    Xa, ya = datasets.make_sigmoid_1d(5000, random_state=random_state + 100)
    grid = np.linspace(-10, 10, 100).reshape(-1, 1)
    f32 = np.float32
    return dict(name="1-D sigmoid, Adam (seed 002)", X=X.astype(f32), y=y.astype(f32),
                Xa=Xa.astype(f32), ya=ya, predict=grid.astype(f32), test=None,
                optimizer="adam", lr=0.01, epochs=30, batch=32, metrics=True)


def seed_2d(random_state):
    X, y = datasets.make_blobs_2d(1000, random_state=random_state)
    Xa, ya = datasets.make_blobs_2d(5000, random_state=random_state + 100)
    g = np.linspace(-2, 10, 200)
    G1, G2 = np.meshgrid(g, g)
    mesh = np.c_[G1.ravel(), G2.ravel()]
    return dict(name="2-D boundary, SGD (seed 002)", X=X, y=y.astype(float), Xa=Xa, ya=ya,
                predict=mesh, test=None, optimizer="sgd", lr=0.1, epochs=50, batch=32,
                metrics=False)


def seed_softmax(random_state):
    X, y = datasets.make_softmax_3class(100, random_state=random_state)
    Xt, yt = datasets.make_softmax_3class(10, random_state=random_state + 100, shuffle=False)
    Xa, ya = datasets.make_softmax_3class(2000, random_state=random_state + 200)
    f32 = np.float32
    return dict(name="3-class softmax, Adam (seed 002)", X=X.astype(f32), y=y,
                Xa=Xa.astype(f32), ya=ya, predict=Xt.astype(f32), test=(Xt.astype(f32), yt),
                optimizer="adam", lr=0.01, epochs=50, batch=100, metrics=True, classes=3)


PROGRAMS = (seed_1d, seed_2d, seed_softmax)


def glorot(p, seed):
    """A Glorot-uniform initial kernel (Keras's Dense default), shared by both libraries."""
    d, K = p["X"].shape[1], p.get("classes", 2)
    m = K if K > 2 else 1
    limit = np.sqrt(6.0 / (d + m))
    return np.random.default_rng(seed).uniform(-limit, limit, size=(d, m))


def run_keras(p, shuffle=True, kernel=None):
    """The seed's Keras program; returns (model, weights [kernel, bias]). ``kernel``: the
    initial kernel (None: zeros)."""
    keras = _keras()
    K = p.get("classes", 2)
    units, activation = (K, "softmax") if K > 2 else (1, "sigmoid")
    init = "zeros" if kernel is None else keras.initializers.Constant(kernel)
    model = keras.Sequential([keras.Input((p["X"].shape[1],)),
                              keras.layers.Dense(units, activation=activation,
                                                 kernel_initializer=init)])
    optimizer = (keras.optimizers.Adam(learning_rate=p["lr"]) if p["optimizer"] == "adam"
                 else keras.optimizers.SGD(learning_rate=p["lr"]))
    loss = (keras.losses.CategoricalCrossentropy() if K > 2
            else keras.losses.BinaryCrossentropy())
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=["accuracy"] if p["metrics"] else None)
    y = np.eye(K, dtype=np.float32)[p["y"]] if K > 2 else p["y"]
    start = time.perf_counter()
    model.fit(p["X"], y, epochs=p["epochs"], batch_size=p["batch"], verbose=0, shuffle=shuffle)
    model.fit_seconds = time.perf_counter() - start
    if p["test"] is not None:
        Xt, yt = p["test"]
        model.evaluate(Xt, np.eye(K, dtype=np.float32)[yt], verbose=0)
    model.predict(p["predict"], verbose=0)
    return model, model.layers[0].get_weights()


def keras_accuracy(model, p):
    proba = model.predict(p["Xa"], verbose=0)
    predicted = proba.argmax(axis=1) if proba.shape[1] > 1 else (proba[:, 0] > 0.5)
    return float(np.mean(predicted == p["ya"]))


def run_logitkit(p, shuffle=True, kernel=None, random_state=0):
    """The same program with logitkit; returns (model, weights [kernel, bias])."""
    model = lk.LogisticRegression(solver=p["optimizer"], learning_rate=p["lr"],
                                  epochs=p["epochs"], batch_size=p["batch"], shuffle=shuffle,
                                  kernel_initializer="zeros" if kernel is None
                                  else (lambda shape: kernel),
                                  random_state=random_state)
    model.fit(p["X"], p["y"])
    if p["test"] is not None:
        model.evaluate(*p["test"])
    model.predict_proba(p["predict"])
    if not shuffle and p.get("classes", 2) > 2:
        # the trained (uncentred) full-softmax weights, as Keras holds them
        W = model._trainer.u.reshape(p["classes"], -1)
        return model, [W[:, :-1].T, W[:, -1]]
    return model, model.get_weights()


def timed(fns, repeats):
    """Median seconds and results of ``repeats`` calls fn(i) of each of ``fns``, after an
    untimed warm-up; the functions take turns, so both see the same machine load."""
    for fn in fns:
        fn(repeats)
    times = [[] for _ in fns]
    results = [[] for _ in fns]
    for i in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            results[k].append(fn(i))
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], results


def compare(repeats: int, random_state: int) -> list[dict]:
    rows = []
    for make in PROGRAMS:
        p = make(random_state)
        # the seed's set-up, Glorot-uniform initial weights: a new draw every run, the same
        # draw for both libraries (then only the shuffling differs)
        seed = 1000 * random_state
        (t_keras, t_lk), (keras_runs, lk_runs) = timed([
            lambda i, p=p, s=seed: run_keras(p, kernel=glorot(p, s + i)),
            lambda i, p=p, s=seed: run_logitkit(p, kernel=glorot(p, s + i), random_state=i),
        ], repeats)
        t_fit = statistics.median(model.fit_seconds for model, _ in keras_runs)
        acc_keras = [keras_accuracy(model, p) for model, _ in keras_runs]
        acc_lk = [float(np.mean(model.predict(p["Xa"]) == p["ya"])) for model, _ in lk_runs]
        # zero initial weights (logitkit's default), shuffled
        zero_keras = keras_accuracy(run_keras(p)[0], p)
        zero_lk = float(np.mean(run_logitkit(p)[0].predict(p["Xa"]) == p["ya"]))
        _, w_keras = run_keras(p, shuffle=False)
        _, w_lk = run_logitkit(p, shuffle=False)
        parity = max(float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))
                     for a, b in zip(w_keras, w_lk, strict=True))
        scale = max(float(np.max(np.abs(np.asarray(a, float)))) for a in w_keras)
        rows.append(dict(program=p["name"], steps=p["epochs"] * -(-len(p["y"]) // p["batch"]),
                         test_rows=len(p["ya"]),
                         acc_keras=np.mean(acc_keras), acc_lk=np.mean(acc_lk),
                         sd_keras=np.std(acc_keras), sd_lk=np.std(acc_lk),
                         zero_keras=zero_keras, zero_lk=zero_lk, t_keras=t_keras, t_lk=t_lk,
                         t_fit=t_fit,
                         parity=parity, scale=scale))
    return rows


def table(rows, repeats) -> str:
    import keras
    import tensorflow as tf

    lines = [
        f"Keras {keras.__version__} (TensorFlow {tf.__version__}, CPU) vs logitkit "
        f"{lk.__version__}; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"median of {repeats} runs",
        "",
        "| program | steps | time Keras | time logitkit | speed-up | Keras `fit` alone | "
        "speed-up over `fit` alone | accuracy, Glorot init "
        f"(mean ± sd of {repeats} draws): Keras / logitkit | accuracy, zero init: Keras / "
        "logitkit | parity: max weight difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['program']} | {r['steps']} | {r['t_keras']:.2f} s | {1000 * r['t_lk']:.0f} ms"
            f" | {r['t_keras'] / r['t_lk']:.0f}x | {r['t_fit']:.2f} s | "
            f"{r['t_fit'] / r['t_lk']:.0f}x | {100 * r['acc_keras']:.1f} ± "
            f"{100 * r['sd_keras']:.1f}% / {100 * r['acc_lk']:.1f} ± {100 * r['sd_lk']:.1f}% | "
            f"{100 * r['zero_keras']:.2f}% / {100 * r['zero_lk']:.2f}% | {r['parity']:.1e} "
            f"(weights up to {r['scale']:.2g}) |")
    lines += ["", f"Accuracy on {', '.join(str(r['test_rows']) for r in rows)} test rows "
              "drawn from the seeds' distributions."]
    return "\n".join(lines)


# -- reference trajectories for tests/test_optimizers.py ----------------------------------
REFERENCE_X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [2.0, 1.0], [-1.2, -0.4],
                        [0.1, 2.2]], dtype=np.float32)
REFERENCE_Y = np.array([0, 1, 0, 1, 0, 1])
REFERENCE_Y3 = np.array([0, 1, 2, 1, 0, 2])


def reference():
    """Keras's weights and per-epoch losses after 3 epochs (batch 4, no shuffling, zero
    initial weights, learning rate 0.1) for each optimizer setting."""
    keras = _keras()
    settings = {
        "sgd": lambda: keras.optimizers.SGD(0.1),
        "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
        "sgd_nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        "adam": lambda: keras.optimizers.Adam(0.1),
        "rmsprop": lambda: keras.optimizers.RMSprop(0.1),
        "rmsprop_momentum": lambda: keras.optimizers.RMSprop(0.1, momentum=0.5),
        "adagrad": lambda: keras.optimizers.Adagrad(0.1),
    }
    for name, make in settings.items():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
            1, activation="sigmoid", kernel_initializer="zeros")])
        model.compile(optimizer=make(), loss="binary_crossentropy")
        history = model.fit(REFERENCE_X, REFERENCE_Y.astype(np.float32), epochs=3,
                            batch_size=4, shuffle=False, verbose=0)
        kernel, bias = model.get_weights()
        print(f'"{name}": ({np.concatenate([kernel[:, 0], bias]).round(7).tolist()}, '
              f'{np.round(history.history["loss"], 7).tolist()}),')
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        3, activation="softmax", kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(REFERENCE_X, REFERENCE_Y3, epochs=3, batch_size=4, shuffle=False,
                        verbose=0)
    kernel, bias = model.get_weights()
    print(f'"softmax_adam": ({kernel.round(7).tolist()}, {bias.round(7).tolist()}, '
          f'{np.round(history.history["loss"], 7).tolist()}),')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--reference", action="store_true",
                        help="print Keras reference trajectories and exit")
    args = parser.parse_args(argv)
    if args.reference:
        reference()
        return
    rows = compare(args.repeats, args.random_state)
    print(table(rows, args.repeats))


if __name__ == "__main__":
    main()
