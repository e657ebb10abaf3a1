"""Seed 001: the 20-row table fitted by plain gradient descent, one step at a time.

The seed builds a 20-row table (Feature1, Feature2, Label), starts from w = 0 and b = 0
(every sigmoid output is 0.5, the cross-entropy is log 2) and moves w and b against the
gradient of the mean cross-entropy, step after step. With logitkit each step is one
``partial_fit`` of the "sgd" solver over all the rows (``batch_size=None``: plain,
full-batch gradient descent); ``history_["loss"]`` is the cost before each step.

The table is perfectly separated (Label is 1 exactly when Feature1 > 4.8), so the cost
keeps falling toward 0 and the weights keep growing: gradient descent only stops because
we stop it, and the exact solver says why (the maximum-likelihood estimate does not
exist).

Needs the ``[plot]`` extra (matplotlib): ``pip install 'logitkit[plot]'``.

    python examples/gradient_descent_table.py [--small] [--out gradient_descent_table.png]
"""

from __future__ import annotations

import sys
import warnings
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


def main(small: bool = False, out: str | Path = "gradient_descent_table.png") -> Path:
    table = datasets.load_seed_table()
    X = table[["Feature1", "Feature2"]].to_numpy()
    y = table["Label"].to_numpy()
    n, m = X.shape
    print(f"Number of observations (n): {n}")
    print(f"Number of features (m): {m}")
    print("With w = 0 and b = 0 every sigmoid is 0.5 and the cost is log 2 =",
          f"{np.log(2):.4f}")

    steps = 50 if small else 1000
    model = lk.LogisticRegression(solver="sgd", learning_rate=0.05, batch_size=None,
                                  shuffle=False)
    for step in range(1, steps + 1):
        model.partial_fit(X, y, classes=[0, 1])  # one gradient step over all 20 rows
        if step in (1, 10) or step % (steps // 5) == 0:
            (w1, w2), b = model.coef_[0], model.intercept_[0]
            print(f"step {step:5d}: cost {model.history_['loss'][-1]:.4f}  "
                  f"w = ({w1:.4f}, {w2:.4f})  b = {b:.4f}  "
                  f"accuracy {model.history_['accuracy'][-1]:.2f}")
    print(f"Training accuracy: {model.score(X, y):.2f}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lk.LogisticRegression().fit(table[["Feature1", "Feature2"]], y)
    for warning in caught:
        print(f"The exact solver: {warning.message}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    plot_history(model, metrics=("loss",), ax=left)
    left.set_xlabel("gradient step")
    left.set_ylabel("cross-entropy (cost)")
    left.set_title(f"Plain gradient descent, learning rate 0.05, {steps} steps")
    plot_decision_boundary(model, X, y, ax=right, resolution=100 if small else 200)
    right.set_xlabel("Feature1")
    right.set_ylabel("Feature2")
    right.set_title(f"The {n}-row seed table and the boundary after {steps} steps")
    out = save_figure(fig, out)
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    from _cli import run  # examples/_cli.py, beside this script

    run(main, __doc__, "gradient_descent_table.png")
