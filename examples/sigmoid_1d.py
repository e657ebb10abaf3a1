"""Seed 002, "Logistic Regression 1D", with logitkit.

The seed trains Keras's ``Dense(1, activation="sigmoid")`` with Adam (learning rate 0.01)
for 30 epochs in batches of 32 on two normal clouds, class 0 ~ N(-4, 2) and class 1 ~
N(4, 2), prints the trained weight and bias, and plots the fitted sigmoid over the data.
Here the same training is one estimator; the figure goes to a PNG.

Needs the ``[plot]`` extra (matplotlib): ``pip install 'logitkit[plot]'``.

    python examples/sigmoid_1d.py [--small] [--out sigmoid_1d.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import matplotlib
except ImportError:  # not a dependency of logitkit itself
    sys.exit("This example needs matplotlib, the [plot] extra: pip install 'logitkit[plot]'")

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit import datasets  # noqa: E402
from logitkit.plots import plot_sigmoid_fit, save_figure  # noqa: E402


def main(small: bool = False, out: str | Path = "sigmoid_1d.png") -> Path:
    X, y = datasets.make_sigmoid_1d(100 if small else 1000, random_state=0)
    epochs = 3 if small else 30
    model = lk.LogisticRegression(solver="adam", learning_rate=0.01, epochs=epochs,
                                  batch_size=32, random_state=0)
    model.fit(X, y)
    # P(y = 1 | x) = sigmoid(w x + b); Keras's get_weights() gives them as kernel and bias
    w, b = model.coef_[0, 0], model.intercept_[0]
    print(f"Trained parameters: weight w = {w:.4f}, bias b = {b:.4f}")
    print(f"Decision boundary: x = -b / w = {-b / w:.3f}")
    print(f"Training accuracy: {model.history_['accuracy'][-1]:.4f}")
    ax = plot_sigmoid_fit(model, X, y, grid=np.linspace(-10, 10, 100))
    ax.set_title(f"Logistic regression in 1-D: Adam, {epochs} epochs, batch 32, "
                 f"{len(y)} points")
    out = save_figure(ax.figure, out)
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    from _cli import run  # examples/_cli.py, beside this script

    run(main, __doc__, "sigmoid_1d.png")
