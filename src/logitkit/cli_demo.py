"""The ``logitkit demo`` command: fit the seed tutorials' data sets and explain the results."""

from __future__ import annotations

import textwrap
import warnings

import click
import numpy as np
import pandas as pd

from logitkit import datasets

__all__ = ["demo"]


# ---------------------------------------------------------------- helpers for `demo`


def _fit(X, y, **params):
    """Fit ``logitkit.LogisticRegression(**params)``, printing any warnings as short notes.

    Returns the model and the set of warning categories seen.
    """
    from logitkit import LogisticRegression

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression(**params).fit(X, y)
    notes = [f"{w.category.__name__}: {' '.join(str(w.message).split())}" for w in caught]
    for note in dict.fromkeys(notes):  # de-duplicated, in order
        click.echo(textwrap.fill(note, 92, initial_indent="  note: ", subsequent_indent=" " * 8))
    return model, {w.category for w in caught}


def _equation(b0: float, coefs, names) -> str:
    """``b0 + b1*x1 + b2*x2 = 0`` with tidy signs."""
    terms = f"{b0:.3f}"
    for b, name in zip(coefs, names, strict=True):
        terms += f" {'-' if b < 0 else '+'} {abs(b):.3f}*{name}"
    return terms + " = 0"


def _solved(b0: float, b1: float, b2: float, x1: str, x2: str) -> str:
    """The 2-D boundary ``b0 + b1*x1 + b2*x2 = 0`` solved for ``x2``."""
    a, c = -b0 / b2, -b1 / b2
    return f"{x2} = {a:.3f} {'-' if c < 0 else '+'} {abs(c):.3f}*{x1}"


def _acc(model, X, y) -> str:
    """Accuracy as ``"98.5% (197/200)"``."""
    acc = model.score(X, y)
    return f"{acc:.1%} ({round(acc * len(y))}/{len(y)})"


def _separating_rules(df, features, target: str) -> list[str]:
    """Single-feature thresholds that split the two classes perfectly."""
    rules = []
    for f in features:
        lo, hi = df.loc[df[target] == 0, f], df.loc[df[target] == 1, f]
        if lo.max() < hi.min():
            rules.append(f"{f} > {(lo.max() + hi.min()) / 2:g}")
        elif hi.max() < lo.min():
            rules.append(f"{f} < {(hi.max() + lo.min()) / 2:g}")
    return rules


# ---------------------------------------------------------------- the demo sections


def _demo_seed_table() -> None:
    click.echo("1. Seed 001: the 20-row Feature1/Feature2/Label table")
    df = datasets.load_seed_table()
    X, y = df[["Feature1", "Feature2"]], df["Label"]
    counts = y.value_counts().sort_index()
    click.echo(f"  {len(df)} rows: {counts[0]} with Label 0, {counts[1]} with Label 1.")
    rules = _separating_rules(df, X.columns, "Label")
    if rules:
        click.echo(f"  The classes are perfectly separated: Label is 1 exactly when {rules[0]}")
        for rule in rules[1:]:
            click.echo(f"  (and, just as well, exactly when {rule}).")
        click.echo("  So the maximum-likelihood estimate does not exist: the likelihood keeps")
        click.echo("  rising as the coefficients grow without bound. An unpenalized fit says:")
    _fit(X, y, alpha=0.0)
    click.echo("  A small ridge penalty gives a finite, well-defined answer (alpha=0.01):")
    m, _ = _fit(X, y, alpha=0.01)
    (b1, b2), b0 = m.coef_[0], m.intercept_[0]
    click.echo(f"  coefficients: Feature1 {b1:.3f}, Feature2 {b2:.3f}; intercept {b0:.3f}")
    click.echo(f"  training accuracy: {_acc(m, X, y)}")
    click.echo(f"  decision boundary: {_equation(b0, (b1, b2), ('Feature1', 'Feature2'))}")
    click.echo(f"                 or: {_solved(b0, b1, b2, 'Feature1', 'Feature2')}")


def _demo_sigmoid() -> None:
    click.echo("2. Seed 002, 1-D logistic regression: N(-4, 2) vs N(4, 2), 1000 points each")
    X, y = datasets.make_sigmoid_1d(random_state=0)
    m, _ = _fit(X, y)
    w, b = m.coef_[0, 0], m.intercept_[0]
    click.echo(f"  coefficient w = {w:.3f}, intercept b = {b:.3f} (population values: 2 and 0)")
    click.echo(f"  training accuracy: {_acc(m, X, y)}")
    click.echo(f"  decision boundary: x = -b/w = {-b / w:.3f} (population value: 0)")


def _demo_blobs() -> None:
    click.echo("3. Seed 002, 2-D logistic regression: clusters at (3, 2) and (7, 6), sd 1")
    X, y = datasets.make_blobs_2d(random_state=0)
    m, _ = _fit(X, y)
    (b1, b2), b0 = m.coef_[0], m.intercept_[0]
    click.echo(f"  coefficients: x1 {b1:.3f}, x2 {b2:.3f}; intercept {b0:.3f}")
    click.echo(f"  training accuracy: {_acc(m, X, y)}")
    click.echo(f"  decision boundary: {_equation(b0, (b1, b2), ('x1', 'x2'))}")
    click.echo(f"                 or: {_solved(b0, b1, b2, 'x1', 'x2')}")
    click.echo("  (the population boundary is x1 + x2 = 9; few points lie near it, so the")
    click.echo("  fitted slope is only loosely pinned down)")


def _demo_softmax() -> None:
    from logitkit import PerfectSeparationWarning

    click.echo("4. Seed 002, softmax regression: clusters at (1, 1), (5, 4), (8, 0), 100 each")
    X, y = datasets.make_softmax_3class(random_state=0)
    X_test, y_test = datasets.make_softmax_3class(n_per_class=10, random_state=1, shuffle=False)
    X, X_test = pd.DataFrame(X, columns=["x1", "x2"]), pd.DataFrame(X_test, columns=["x1", "x2"])
    m, seen = _fit(X, y)
    if PerfectSeparationWarning in seen:
        click.echo(
            f"  unpenalized fit: training accuracy {_acc(m, X, y)},"
            f" test accuracy {_acc(m, X_test, y_test)}"
        )
        click.echo("  The MLE does not exist, so those coefficients only mark where the solver")
        click.echo("  stopped. With a small ridge penalty (alpha=0.01) they are meaningful:")
        m, _ = _fit(X, y, alpha=0.01)
    click.echo(f"  training accuracy: {_acc(m, X, y)}")
    click.echo(f"  test accuracy (10 new points per class): {_acc(m, X_test, y_test)}")
    click.echo("  per-class coefficients (they sum to zero across classes):")
    for k, coef, b in zip(m.classes_, m.coef_, m.intercept_, strict=True):
        click.echo(f"    class {k}: x1 {coef[0]:+.3f}, x2 {coef[1]:+.3f}, intercept {b:+.3f}")


def _demo_linear_vs_logistic() -> None:
    click.echo("5. Seed 000, why not least squares? Its y = 0.5 crossing vs the logistic boundary")
    for imbalanced in (False, True):
        X, y = datasets.make_linear_vs_logistic(imbalanced=imbalanced, random_state=0)
        slope, icept = np.polyfit(X[:, 0], y, 1)
        cross = (0.5 - icept) / slope
        m, _ = _fit(X, y)
        boundary = -m.intercept_[0] / m.coef_[0, 0]
        ls_errors = int(np.sum((X[:, 0] > cross) != y))
        lr_errors = int(np.sum(m.predict(X) != y))
        click.echo(
            f"  {'imbalanced' if imbalanced else 'balanced':10} ({len(y)} points):"
            f" least squares x = {cross:.2f} ({ls_errors} errors),"
            f" logistic x = {boundary:.2f} ({lr_errors} errors)"
        )
    click.echo("  The far-away, easy class-1 points drag the least-squares line; they barely")
    click.echo("  move the logistic boundary, whose errors stay those of the balanced data.")


@click.command()
def demo() -> None:
    """Fit the seed tutorials' data sets and explain what comes out."""
    sections = [
        _demo_seed_table,
        _demo_sigmoid,
        _demo_blobs,
        _demo_softmax,
        _demo_linear_vs_logistic,
    ]
    for i, section in enumerate(sections):
        if i:
            click.echo()
        section()
