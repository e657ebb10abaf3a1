"""Seed 000: why not linear regression for classification? Balanced vs imbalanced data.

On balanced 1-D data the least-squares line crosses 0.5 at x = 19.5, where the logistic
model's boundary also is. Add a few class-1 points far to the right (imbalanced data):
their leverage flattens the line and drags its 0.5-crossing to about x = 24, so class-1
points between 19.5 and 24 are misclassified, while the logistic boundary barely moves.
Both models are fitted on the same data; the figure shows the two cases side by side.

Needs the ``[plot]`` extra (matplotlib): ``pip install 'logitkit[plot]'``.

    python examples/linear_vs_logistic.py [--small] [--out linear_vs_logistic.png]
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
from logitkit.plots import plot_sigmoid_fit, save_figure  # noqa: E402


def compare(X, y, ax, title):
    """Fit both models, draw them on ``ax``; returns (linear threshold, logistic boundary,
    linear accuracy, logistic accuracy)."""
    x = X[:, 0]
    slope, intercept = np.polyfit(x, y, 1)  # least squares: y ~ intercept + slope x
    linear_threshold = (0.5 - intercept) / slope
    model = lk.LogisticRegression().fit(X, y)
    boundary = -model.intercept_[0] / model.coef_[0, 0]
    grid = np.linspace(x.min() - 2, x.max() + 2, 400)
    plot_sigmoid_fit(model, X, y, ax=ax, grid=grid)
    ax.plot(grid, intercept + slope * grid, color="tab:green", lw=2, label="least-squares line")
    ax.axvline(linear_threshold, color="tab:green", lw=0.8, ls="--",
               label=f"line = 0.5 at x = {linear_threshold:.1f}")
    ax.set_ylim(-0.3, 1.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    linear_accuracy = float(np.mean((intercept + slope * x > 0.5) == (y == 1)))
    return linear_threshold, boundary, linear_accuracy, model.score(X, y)


def main(small: bool = False, out: str | Path = "linear_vs_logistic.png") -> Path:
    per_class = 10 if small else 20
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, imbalanced in zip(axes, (False, True), strict=True):
        X, y = datasets.make_linear_vs_logistic(imbalanced, random_state=0, n_per_class=per_class)
        name = "imbalanced" if imbalanced else "balanced"
        threshold, boundary, lin_acc, log_acc = compare(X, y, ax, f"{name} data ({len(y)} points)")
        print(f"{name:>10}: least squares predicts class 1 from x = {threshold:5.2f} "
              f"(accuracy {lin_acc:.3f}); logistic boundary x = {boundary:5.2f} "
              f"(accuracy {log_acc:.3f})")
    out = save_figure(fig, out)
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    from _cli import run  # examples/_cli.py, beside this script

    run(main, __doc__, "linear_vs_logistic.png")
