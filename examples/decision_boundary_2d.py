"""Seed 002, "2D Logistic Regression", with logitkit.

The seed trains Keras's ``Dense(1, activation="sigmoid")`` with plain SGD (learning rate
0.1) for 50 epochs in batches of 32 on two normal clouds around (3, 2) and (7, 6),
prints w1, w2 and b, and shades the decision regions over a mesh with the points on top.

Needs the ``[plot]`` extra (matplotlib): ``pip install 'logitkit[plot]'``.

    python examples/decision_boundary_2d.py [--small] [--out decision_boundary_2d.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import matplotlib
except ImportError:  # not a dependency of logitkit itself
    sys.exit("This example needs matplotlib, the [plot] extra: pip install 'logitkit[plot]'")

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit import datasets  # noqa: E402
from logitkit.plots import plot_decision_boundary, save_figure  # noqa: E402


def main(small: bool = False, out: str | Path = "decision_boundary_2d.png") -> Path:
    X, y = datasets.make_blobs_2d(100 if small else 1000, random_state=0)
    epochs = 5 if small else 50
    model = lk.LogisticRegression(solver="sgd", learning_rate=0.1, epochs=epochs,
                                  batch_size=32, random_state=0)
    model.fit(X, y)
    kernel, bias = model.get_weights()
    print(f"Trained parameters: w1 = {kernel[0][0]:.4f}, w2 = {kernel[1][0]:.4f}, "
          f"b = {bias[0]:.4f}")
    print(f"Training accuracy: {model.history_['accuracy'][-1]:.4f}")
    fig, ax = plt.subplots(figsize=(8, 6))
    plot_decision_boundary(model, X, y, ax=ax, resolution=100 if small else 200)
    ax.set_xlabel("X1")
    ax.set_ylabel("X2")
    ax.set_title(f"Decision boundary of the logistic model (SGD, {epochs} epochs, "
                 f"{len(y)} points)")
    ax.grid(True, linestyle="--", alpha=0.6)
    out = save_figure(fig, out)
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    from _cli import run  # examples/_cli.py, beside this script

    run(main, __doc__, "decision_boundary_2d.png")
