"""Figures of fitted models (matplotlib, the ``plot`` extra).

Each function draws on ``ax`` (a new figure's axes when None) and returns the Axes:

* :func:`plot_sigmoid_fit` -- one feature: the data and the fitted probability curve;
* :func:`plot_decision_boundary` -- two features: the regions each class wins (binary:
  the P = 0.5 line; multiclass: one colour per class) with the points on top;
* :func:`plot_history` -- a minibatch fit's per-epoch loss and accuracy (``history_``);
* :func:`plot_path` -- a regularisation path's coefficients against log10(alpha);
* :func:`plot_cv` -- a CV estimator's mean held-out score +- 1 standard error against
  log10(alpha), one curve per l1_ratio, the chosen alpha marked;

and :func:`save_figure` writes a figure to a file and closes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_cv", "plot_decision_boundary", "plot_history", "plot_path",
           "plot_sigmoid_fit", "save_figure"]

_MARKERS = ("o", "x", "s", "^", "v", "D", "P", "*")


def _axes(ax):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("logitkit.plots needs matplotlib: pip install 'logitkit[plot]'") from exc
    return plt.figure(figsize=(7, 5)).add_subplot()


def _class_colours(n):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return [cmap(k % 10) for k in range(n)]


def _column(X, j=0) -> np.ndarray:
    values = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
    values = values.reshape(len(values), -1)
    return values[:, j].astype(float)


def plot_sigmoid_fit(model, X, y, ax=None, grid=None, positive=None):
    """Scatter (x, y == positive) and the fitted P(y == positive | x) of a 1-feature model.

    model: a fitted binary LogisticRegression with one feature. X: (n, 1) or (n,).
    grid: x values for the curve (default: 200 points spanning the data with a margin).
    positive: the class whose probability is drawn (default ``classes_[-1]``).
    """
    ax = _axes(ax)
    classes = list(model.classes_)
    positive = classes[-1] if positive is None else positive
    k = classes.index(positive)
    x = _column(X)
    if grid is None:
        lo, hi = float(x.min()), float(x.max())
        pad = 0.1 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, 200)
    grid = np.asarray(grid, dtype=float)
    proba = model.predict_proba(grid.reshape(-1, 1))[:, k]
    outcome = (np.asarray(y) == positive).astype(float)
    ax.scatter(x, outcome, alpha=0.3, s=12, label="data")
    ax.plot(grid, proba, color="tab:red", lw=2, label=f"P(y = {positive} | x)")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    slope = float(np.ravel(model.coef_)[0])
    if slope != 0:
        boundary = -float(np.ravel(model.intercept_)[0]) / slope
        if grid.min() <= boundary <= grid.max():
            ax.axvline(boundary, color="grey", lw=0.8, ls="--",
                       label=f"boundary x = {boundary:.3g}")
    ax.set_xlabel("x")
    ax.set_ylabel("probability")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="best")
    return ax


def plot_decision_boundary(model, X, y=None, ax=None, resolution=200, margin=0.1,
                           show_points=True, labels=None):
    """The classes' regions over the plane of a 2-feature model, with the points.

    Binary models shade P(classes_[1]) < 0.5 and >= 0.5 and draw the 0.5 line;
    multiclass models shade the region where each class is the most probable. Points
    are coloured and marked by ``y`` (the observed classes), or by the model's
    predictions when ``y`` is None (the seed's "predicted-class scatter").
    labels: legend names per class (default: the class labels).
    """
    import matplotlib.colors as mcolors

    ax = _axes(ax)
    x1, x2 = _column(X, 0), _column(X, 1)
    pad1 = margin * (np.ptp(x1) or 1.0)
    pad2 = margin * (np.ptp(x2) or 1.0)
    g1 = np.linspace(x1.min() - pad1, x1.max() + pad1, resolution)
    g2 = np.linspace(x2.min() - pad2, x2.max() + pad2, resolution)
    G1, G2 = np.meshgrid(g1, g2)
    grid = np.column_stack([G1.ravel(), G2.ravel()])
    proba = model.predict_proba(grid)
    classes = list(model.classes_)
    K = len(classes)
    colours = _class_colours(K)
    if K == 2:
        P = proba[:, 1].reshape(G1.shape)
        cmap = mcolors.ListedColormap([colours[0], colours[1]])
        ax.contourf(G1, G2, P, levels=[0.0, 0.5, 1.0], cmap=cmap, alpha=0.25)
        ax.contour(G1, G2, P, levels=[0.5], colors="k", linewidths=1.2)
    else:
        winner = proba.argmax(axis=1).reshape(G1.shape)
        cmap = mcolors.ListedColormap(colours)
        ax.contourf(G1, G2, winner, levels=np.arange(K + 1) - 0.5, cmap=cmap, alpha=0.25)
    if show_points:
        shown = model.predict(np.column_stack([x1, x2])) if y is None else np.asarray(y)
        names = labels or [str(c) for c in classes]
        for k, c in enumerate(classes):
            mask = shown == c
            ax.scatter(x1[mask], x2[mask], s=18, color=colours[k],
                       marker=_MARKERS[k % len(_MARKERS)], label=f"class {names[k]}")
        ax.legend(loc="best", title="predicted" if y is None else None)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_xlim(g1[0], g1[-1])
    ax.set_ylim(g2[0], g2[-1])
    return ax


def plot_history(history, metrics=("loss", "accuracy"), ax=None):
    """Per-epoch curves of a minibatch fit: training solid, validation (``val_``) dashed.

    history: a fitted model (its ``history_``) or a dict of per-epoch lists. Metrics of
    different scales share the axes; pass ``metrics=("loss",)`` for one of them.
    """
    if hasattr(history, "history_"):
        history = history.history_
    if not isinstance(history, dict) or "loss" not in history:
        raise ValueError("history must be a minibatch-fitted model or a dict with a 'loss' list")
    ax = _axes(ax)
    colours = _class_colours(len(metrics))
    for colour, name in zip(colours, metrics, strict=True):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in history:
                values = history[key]
                ax.plot(np.arange(1, len(values) + 1), values, style, color=colour, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(" / ".join(metrics))
    ax.legend(loc="best")
    ax.grid(True, ls="--", alpha=0.5)
    return ax


def plot_path(path, ax=None):
    """Each coefficient of a :class:`~logitkit.paths.RegularizationPath` against
    log10(alpha) (alpha decreasing to the right, as glmnet draws it; one line per
    feature and class), with the number of non-zero features along the top."""
    ax = _axes(ax)
    x = np.log10(path.alphas_)
    coefs = path.coefs_.reshape(len(x), -1)
    for k in range(coefs.shape[1]):
        ax.plot(x, coefs[:, k], linewidth=1)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlim(x.max(), x.min())
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel("coefficient")
    ax.set_title(f"Regularisation path (l1_ratio={path.l1_ratio:g})")
    top = ax.secondary_xaxis("top")
    ticks = np.unique(np.linspace(0, len(x) - 1, min(len(x), 6)).round().astype(int))
    top.set_xticks(x[ticks], [str(n) for n in path.n_nonzero_[ticks]])
    top.set_xlabel("non-zero features")
    return ax


def plot_cv(cv, ax=None):
    """Mean held-out score +- 1 standard error (error bars) against log10(alpha) (alpha
    decreasing to the right, as glmnet and :func:`plot_path` draw it), one curve per
    l1_ratio; a dashed line and a star at the chosen (alpha_, l1_ratio_), and for
    rule="1se" a dotted line at the best mean score's alpha.

    cv: a fitted LogisticRegressionCV or OrdinalLogisticRegressionCV.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(cv, "cv_results_")
    ax = _axes(ax)
    results = cv.cv_results_
    ratios = list(dict.fromkeys(results["l1_ratio"]))
    handles = []
    for colour, ratio in zip(_class_colours(len(ratios)), ratios, strict=True):
        rows = results[results["l1_ratio"] == ratio]
        handles.append(ax.errorbar(np.log10(rows["alpha"]), rows["mean_score"],
                                   yerr=rows["se_score"],
                                   color=colour, marker="o", ms=3, capsize=2, lw=1,
                                   label=f"l1_ratio = {ratio:g}"))
    handles.append(ax.axvline(np.log10(cv.alpha_), color="k", ls="--", lw=0.8,
                              label=f"chosen ({cv.rule}): alpha = {cv.alpha_:.3g}"))
    ax.plot([np.log10(cv.alpha_)], [results["mean_score"].iloc[cv.best_index_]], "k*",
            ms=12)
    if cv.rule == "1se":
        best = results.iloc[int(np.nanargmax(results["mean_score"].to_numpy()))]
        handles.append(ax.axvline(np.log10(best["alpha"]), color="grey", ls=":", lw=0.8,
                                  label=f"best mean: alpha = {best['alpha']:.3g}"))
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.set_xlabel("log10(alpha)")
    scoring = cv.scoring if isinstance(cv.scoring, str) else (
        "neg_log_loss" if cv.scoring is None else "score")
    ax.set_ylabel(f"mean held-out {scoring} (+- 1 se)")
    ax.legend(handles=handles, loc="best")
    ax.grid(True, ls="--", alpha=0.5)
    return ax


def save_figure(fig, path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix), close it, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
