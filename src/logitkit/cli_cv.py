"""The ``logitkit cv`` command: choose the penalty (alpha, l1_ratio) by cross-validation,
print the CV table and write the refitted model.

The command is registered lazily by :mod:`logitkit.cli` (its group imports this module
when ``cv`` is asked for), so this module may import the CLI's helpers.
"""

from __future__ import annotations

import json
import warnings

import click
import numpy as np
import pandas as pd

from logitkit import readers
from logitkit.cli import (
    CliError,
    _check_kind,
    _data_options,
    _guarded,
    _model_options,
    _name,
    _note,
    _plain,
    _read,
    _split,
    _status,
    _with,
    _write_model,
)

__all__ = ["cv"]


def _ratios(text: str) -> list[float]:
    try:
        ratios = [float(part) for part in _split(text)]
    except ValueError:
        ratios = []
    if not ratios or not all(0 <= r <= 1 for r in ratios):
        raise CliError(f"--l1-ratios takes comma-separated numbers in [0, 1] (0 ridge, 1 "
                       f"lasso), e.g. 0.5,1; got {text!r}")
    return ratios


def _fit_cv(model, X, y, sample_weight) -> None:
    """Fit; notes for the warnings (the fold fits' included, once each); exit 1 when the
    refit failed or did not converge, 2 on input the fit refuses."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y, sample_weight=sample_weight)
        except (np.linalg.LinAlgError, ArithmeticError) as e:
            raise CliError(f"the fit failed: {type(e).__name__}: {e}", exit_code=1) from e
        except (ValueError, NotImplementedError, TypeError) as e:
            raise CliError(str(e)) from e
    for message in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
        _note(message)
    refit = model.best_estimator_
    if not refit.converged_:
        raise CliError(f"the refit at alpha={model.alpha_:g}, l1_ratio={model.l1_ratio_:g} "
                       f"did not converge in {refit.n_iter_} iterations: raise --max-iter. "
                       "No model was written.", exit_code=1)


def cv_table(model) -> pd.DataFrame:
    """The printed table: l1_ratio, alpha, mean score, its standard error, non-zero
    coefficients; "*" marks the choice, "min" the best mean when rule 1se chose another."""
    results = model.cv_results_
    table = results[["l1_ratio", "alpha", "mean_score", "se_score", "n_nonzero"]].copy()
    mark = [""] * len(table)
    mark[int(np.nanargmax(results["mean_score"].to_numpy()))] = "min"
    mark[model.best_index_] = "*"
    table["chosen"] = mark
    return table


def _text(model, scoring: str) -> str:
    table = cv_table(model)
    shown = table.to_string(index=False, formatters={
        "l1_ratio": "{:g}".format, "alpha": "{:.4g}".format, "mean_score": "{:.5f}".format,
        "se_score": "{:.5f}".format})
    return (f"{model.n_splits_}-fold cross-validation, score: {scoring} (greater is "
            f"better)\n{shown}\nchosen (rule {model.rule}): alpha={model.alpha_:.6g}, "
            f"l1_ratio={model.l1_ratio_:g}, mean score {model.best_score_:.5f}")


def _json(model, scoring: str) -> str:
    rows = [{k: _plain(v) for k, v in row.items()}
            for row in model.cv_results_.to_dict(orient="records")]
    return json.dumps({"scoring": scoring, "rule": model.rule, "folds": model.n_splits_,
                       "alpha": model.alpha_, "l1_ratio": model.l1_ratio_,
                       "best_score": model.best_score_, "best_index": int(model.best_index_),
                       "results": rows}, indent=2)


@click.command()
@_with(_model_options)
@click.option("--id", "id_column", help='Row-identifier column, never a feature (default: a '
              'column named "id").')
@click.option("--l1-ratios", default="1", show_default=True,
              help="Comma-separated l1_ratio values to compare (0 ridge, 1 lasso), e.g. "
                   "0.5,1.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
              help="Number of stratified folds.")
@click.option("--n-alphas", type=click.IntRange(min=1), default=100, show_default=True,
              help="Alphas per l1_ratio, on a log grid down from the smallest alpha that "
                   "zeroes every coefficient.")
@click.option("--alpha-min-ratio", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Smallest alpha of the grid over the largest (default: 1e-4 with more "
                   "rows than columns, else 1e-2).")
@click.option("--rule", type=click.Choice(["min", "1se"]), default="min", show_default=True,
              help="min: the best mean score; 1se: the largest alpha within one standard "
                   "error of it (glmnet's lambda.1se).")
@click.option("--scoring", default="neg_log_loss", show_default=True,
              help="A scikit-learn scorer name (greater is better), e.g. roc_auc, accuracy.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed of the folds.")
@click.option("--max-iter", type=click.IntRange(min=1), default=100, show_default=True,
              help="Iteration limit of each fit.")
@click.option("--output", "-o", help="Model file to write: the refit on all rows at the "
              "chosen penalty (- for stdout; the table then goes to stderr).")
@click.option("--results", help="Also write the full CV table (every fold's score) to this "
              "file: CSV, TSV (.tsv) or Parquet (.parquet).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Format of the printed table.")
@_with(_data_options)
@_guarded
def cv(data, target, kind, features, categorical, order, link, weights, id_column,
       l1_ratios, folds, n_alphas, alpha_min_ratio, rule, scoring, seed, max_iter, output,
       results, fmt, sep, dropna):
    """Choose the penalty by cross-validation and refit.

    Fits a regularization path per l1_ratio on shared folds of DATA (a CSV, TSV or
    Parquet file, or - for stdin), prints the mean held-out score of every (l1_ratio,
    alpha), picks one by --rule, and writes the model refitted on all rows (--output).
    """
    from logitkit.cv import LogisticRegressionCV, OrdinalLogisticRegressionCV

    ratios = _ratios(l1_ratios)
    order = _split(order)
    if order is not None and kind not in (None, "ordinal"):
        raise CliError(f"--order applies to ordinal models, not --kind {kind}")
    kind = "ordinal" if order is not None else kind
    if link is not None and kind == "multinomial":
        raise CliError("--link applies to binary and ordinal models; multinomial models "
                       "are logits (softmax)")
    frame = _read(data, sep)
    id_column = readers.find_id_column(frame, id_column)
    train = readers.training_data(frame, target, _split(features), _split(categorical) or (),
                                  order, weights, id_column, dropna, _name(data))
    if train.n_dropped:
        _note(f"dropped {train.n_dropped} of {len(frame)} rows with missing or infinite "
              "values")
    _check_kind(kind, pd.unique(train.y.dropna()), train.y.dtype, target)
    options = dict(l1_ratios=ratios, n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                   cv=folds, scoring=scoring, rule=rule, random_state=seed,
                   max_iter=max_iter)
    model = (OrdinalLogisticRegressionCV if kind == "ordinal" else LogisticRegressionCV)(
        link=link or "logit", **options)
    with _status(f"cross-validating ({folds} folds x {len(ratios)} path(s))"):
        _fit_cv(model, train.X, train.y, train.sample_weight)
    if results is not None:
        readers.write_table(model.cv_results_, results)
    if output is not None:
        _write_model(model.best_estimator_, output, target, train.X.shape[1],
                     f"{len(train.y)} rows", "iterations",
                     f", alpha={model.alpha_:.6g}, l1_ratio={model.l1_ratio_:g}")
    # (with the model on stdout, the table goes to stderr)
    click.echo(_text(model, scoring) if fmt == "text" else _json(model, scoring),
               err=output == "-")
