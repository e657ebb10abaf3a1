"""``logitkit evaluate``: a saved model's scores on labelled data (log loss, accuracy,
AUC, confusion matrix). Loaded by :mod:`logitkit.cli` when the command is asked for."""

from __future__ import annotations

import json

import click
import numpy as np
import pandas as pd

from logitkit import readers
from logitkit.cli import (
    CliError,
    _data_options,
    _format_option,
    _guarded,
    _load_model,
    _name,
    _plain,
    _read,
    _with,
)


@click.command()
@click.argument("model")
@click.argument("data")
@click.option("--target", help="Target column (default: the one the model was fitted on).")
@click.option("--offset", "offset_column", metavar="COLUMN", help="Column of offsets, for a "
              "model fitted with fit --offset (required then).")
@_format_option
@_with(_data_options)
@_guarded
def evaluate(model, data, target, offset_column, fmt, sep, dropna):
    """Score a saved model on labelled data.

    Log loss, accuracy, AUC (one-vs-rest macro average beyond two classes) and the
    confusion matrix of MODEL on DATA.
    """
    if model == "-" and data == "-":
        raise CliError("MODEL and DATA cannot both be read from stdin")
    estimator = _load_model(model)
    target = target or estimator.target_name_
    if target is None:
        raise CliError("the model does not record its target column; name it with --target")
    if (offset_column is None) == getattr(estimator, "has_offset_", False):
        raise CliError("this model was fitted with an offset: give its column with --offset "
                       "COLUMN" if offset_column is None else
                       "--offset applies to models fitted with fit --offset; this one was not")
    frame = _read(data, sep)
    extra = [target] + ([] if offset_column is None else [offset_column])
    X, rest, _ = readers.prediction_features(frame, estimator, dropna, _name(data),
                                             extra=extra)
    codes = readers.evaluation_target(rest[target], estimator.classes_, target)
    offset = None if offset_column is None else readers.numeric_column(rest, offset_column)
    scores = metrics(estimator, X, codes, offset)
    if fmt == "json":
        click.echo(json.dumps(scores, indent=2))
        return
    auc = scores["auc"]
    labels = [str(c) for c in scores["classes"]]
    matrix = pd.DataFrame(scores["confusion_matrix"], index=labels, columns=labels)
    absent = list(matrix.index[matrix.sum(axis=1).to_numpy() == 0])
    if auc is not None:
        auc_text = f"{auc:.4f}" + (" (one-vs-rest, macro average)" if len(labels) > 2 else "")
    elif len(absent) == len(labels) - 1:
        auc_text = "undefined (the data hold one class)"
    else:
        auc_text = f"undefined (no rows of the class(es) {absent})"
    click.echo("\n".join([
        f"rows:      {scores['n']}",
        f"log loss:  {scores['log_loss']:.4f}",
        f"accuracy:  {scores['accuracy']:.4f} ({int(np.trace(matrix))}/{scores['n']})",
        f"AUC:       {auc_text}",
        "confusion matrix (rows: true class, columns: predicted class):",
        matrix.to_string(),
    ]))


def metrics(model, X, codes: np.ndarray, offset=None) -> dict:
    """Scores of ``model`` on X against ``codes`` (n,), indices into ``classes_``: n,
    log_loss, accuracy, auc (binary, or one-vs-rest macro average; None when undefined:
    a class of the model has no rows), classes, confusion_matrix (rows: true, columns:
    predicted, in ``classes_`` order). Accuracy and the matrix use ``model.predict``
    (a binary model's threshold); ``offset``: the rows' offsets, for a model fitted with
    one."""
    from sklearn.metrics import confusion_matrix, log_loss, roc_auc_score

    proba = model.predict_proba(X, offset=offset)
    predicted = pd.Index(model.classes_).get_indexer(model.predict(X, offset=offset))
    labels = np.arange(len(model.classes_))
    auc = None
    if np.all(np.bincount(codes, minlength=len(labels)) > 0):  # else AUC is undefined
        auc = (roc_auc_score(codes == 1, proba[:, 1]) if len(labels) == 2 else
               roc_auc_score(codes, proba, multi_class="ovr", labels=labels))
    return {
        "n": len(codes),
        "log_loss": float(log_loss(codes, proba, labels=labels)),
        "accuracy": float(np.mean(predicted == codes)),
        "auc": _plain(auc),
        "classes": [_plain(c) for c in model.classes_],
        "confusion_matrix": confusion_matrix(codes, predicted, labels=labels).tolist(),
    }
