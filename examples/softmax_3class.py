"""Seed 002, "Softmax Regression", with logitkit.

The seed trains Keras's ``Dense(3, activation="softmax")`` with Adam (learning rate 0.01)
for 50 epochs in batches of 100 on three clusters around (1, 1), (5, 4) and (8, 0), with
a progress bar (verbose=1); evaluates it on a 30-point test set; prints the first five
predicted probability rows; and scatters the test points by predicted class. Here the
same, plus the regions each class wins and the training curves.

Needs the ``[plot]`` extra (matplotlib): ``pip install 'logitkit[plot]'``.

    python examples/softmax_3class.py [--small] [--out softmax_3class.png]
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
import numpy as np  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit import datasets  # noqa: E402
from logitkit.plots import plot_decision_boundary, plot_history, save_figure  # noqa: E402


def main(small: bool = False, out: str | Path = "softmax_3class.png") -> Path:
    xs, labels = datasets.make_softmax_3class(30 if small else 100, random_state=0)
    test_xs, test_labels = datasets.make_softmax_3class(10, random_state=1, shuffle=False)
    epochs = 5 if small else 50
    model = lk.LogisticRegression(solver="adam", learning_rate=0.01, epochs=epochs,
                                  batch_size=100, random_state=0, verbose=0 if small else 1)
    model.fit(xs, labels, validation_data=(test_xs, test_labels))
    result = model.evaluate(test_xs, test_labels)
    print(f"\nTest Accuracy: {result['accuracy']:.4f} (loss {result['loss']:.4f})")
    predictions = model.predict_proba(test_xs)
    with np.printoptions(precision=4, suppress=True):
        print("\nFirst 5 predictions:\n", predictions[:5])
    print()
    print(model.describe())

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    plot_decision_boundary(model, test_xs, y=None, ax=left, resolution=100 if small else 300)
    left.set_xlabel("Feature 1")
    left.set_ylabel("Feature 2")
    left.set_title(f"Model predictions on the {len(test_labels)} test points")
    plot_history(model, ax=right)
    right.set_title(f"Adam, {epochs} epochs on {len(labels)} points: training (solid), "
                    "test (dashed)")
    out = save_figure(fig, out)
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    from _cli import run  # examples/_cli.py, beside this script

    run(main, __doc__, "softmax_3class.png")
