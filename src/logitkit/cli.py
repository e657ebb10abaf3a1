"""Command-line interface: ``logitkit <command>`` (fit, cv, summary, predict, evaluate,
demo, datasets).

Exit codes: 0 success, 1 a failed fit (a numerical error or no convergence), 2 bad input
or usage. Errors are one line on stderr (``--debug`` shows the traceback); notes and
progress go to stderr, results to stdout or ``--output``. ``-`` names stdin or stdout.
Output files are written atomically, so a failed or interrupted run never leaves one.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import sys
import threading
import time
import warnings
from contextlib import contextmanager, nullcontext

import click
import numpy as np
import pandas as pd

from logitkit import datasets, io, readers
from logitkit.cli_demo import demo
from logitkit.exceptions import ConvergenceWarning
from logitkit.families.ordinal import LINKS
from logitkit.inference import COV_TYPES
from logitkit.solvers.optimizers import OPTIMIZERS

__all__ = ["main"]

MINIBATCH_SOLVERS = OPTIMIZERS  # sgd, adam, rmsprop, adagrad
SOLVERS = ("auto", "newton", "newton-cg", "lbfgs", "prox-newton", *MINIBATCH_SOLVERS)


class CliError(click.ClickException):
    """``error: <one line>`` on stderr; exit code 2 (bad input) or 1 (failed fit)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(" ".join(str(message).split()))
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


@contextmanager
def _one_line_usage_errors():
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        raise CliError(e.format_message() + hint) from None


# commands in modules of their own that use this one's helpers: imported when asked for
_LAZY_COMMANDS = {"cv": "logitkit.cli_cv", "evaluate": "logitkit.cli_evaluate"}


class _Group(click.Group):
    """A click group whose usage errors are one line, like every other error."""

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx, name):
        if name in _LAZY_COMMANDS:
            return getattr(importlib.import_module(_LAZY_COMMANDS[name]), name)
        return super().get_command(ctx, name)

    def make_context(self, *args, **kwargs):
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line_usage_errors():
            return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="logitkit")
def main() -> None:
    """logitkit: logistic regression (binary, multinomial, ordinal)."""


main.add_command(demo)


def _describe(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return f"no such file or directory: {error.filename}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"cannot use {error.filename}: {error.strerror}"
    return str(error)


def _guarded(command):
    """Add --debug; turn exceptions into one-line errors (bad input: exit 2, else 1)."""

    @click.option("--debug", is_flag=True, help="Show the traceback of an error.")
    @functools.wraps(command)
    def wrapper(*args, debug: bool, **kwargs):
        try:
            return command(*args, **kwargs)
        except CliError as e:
            if debug and e.__cause__ is not None:
                raise e.__cause__ from None
            raise
        except (click.ClickException, click.Abort, click.exceptions.Exit):
            raise
        except (ValueError, OSError) as e:
            if debug:
                raise
            raise CliError(_describe(e)) from None
        except Exception as e:
            if debug:
                raise
            raise CliError(f"unexpected {type(e).__name__}: {e} (rerun with --debug for "
                           "the traceback)", exit_code=1) from None

    return wrapper


@contextmanager
def _status(message: str, stream=None, delay: float = 0.5):
    """A spinner with the elapsed time on ``stream`` (stderr) while the block runs, only
    when it is a terminal; the line is erased at the end."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        yield
        return
    done = threading.Event()

    def spin():
        start = time.monotonic()
        if done.wait(delay):
            return
        for frame in itertools.cycle("|/-\\"):
            stream.write(f"\r{frame} {message} {time.monotonic() - start:.1f} s")
            stream.flush()
            if done.wait(0.1):
                break
        stream.write("\r\x1b[K")
        stream.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _read(path: str, sep: str | None):
    source = sys.stdin.buffer if path == "-" else path
    return readers.read_table(source, sep=sep, name=_name(path))


def _load_model(path: str):
    if path == "-":
        return io.model_from_bytes(sys.stdin.buffer.read(), _name(path))
    return io.load(path)


def _note(text: str) -> None:
    click.echo(f"note: {' '.join(text.split())}", err=True)


_data_options = [
    click.option("--sep", help="Field separator of a text file (default: sniffed; \\t for "
                 ".tsv)."),
    click.option("--dropna", is_flag=True, help="Drop rows with missing or infinite values "
                 "(default: refuse them)."),
]


# the model's columns, for every command that fits one (fit, cv)
_TARGET = click.option("--target", required=True, help="The column to predict.")
_model_options = [
    click.argument("data"),
    _TARGET,
    click.option("--kind", type=click.Choice(["binary", "multinomial", "ordinal"]),
                 help="Model kind (default: ordinal with --order, else binary for 2 "
                      "classes, multinomial for more)."),
    click.option("--features", help="Comma-separated feature columns (default: all "
                 "others)."),
    click.option("--categorical", help="Comma-separated columns to one-hot encode (text "
                 "and true/false columns always are)."),
    click.option("--order", help='Ordered levels of an ordinal target, e.g. '
                 '"low,mid,high".'),
    click.option("--link", type=click.Choice(list(LINKS)), help="Link of a binary or "
                 "ordinal model (default: logit; docs/links_offsets.md)."),
    click.option("--weights", help="Column of frequency weights (in every fit, and in "
                 "held-out scores)."),
]


def _with(options):
    return lambda fn: functools.reduce(lambda f, option: option(f), reversed(options), fn)


# ------------------------------------------------------------------------------ fit

@main.command()
@_with([option if option is not _TARGET else click.option(
    "--target", help="The column to predict (or give --formula).") for option in _model_options])
@click.option("--formula", help='The model as a formula in place of --target and --features, '
              'e.g. "y ~ x1 * x2 + C(group, contr.treatment(\'b\')) + np.log(x3)" '
              "(docs/formulas.md); predict applies it to new data.")
@click.option("--clusters", help="Column of cluster labels, never a feature: keeps what "
              "`--cov-type cluster` needs.")
@click.option("--cov-type", type=click.Choice(COV_TYPES), default="nonrobust", show_default=True,
              help="The model's covariance type, kept in the model file: what summary and "
              "predict --interval use unless told otherwise (docs/inference.md).")
@click.option("--id", "id_column", help='Row-identifier column, never a feature (default: a '
              'column named "id").')
@click.option("--offset", "offset_column", metavar="COLUMN", help="Column of offsets, a "
              "known term of the linear predictor (e.g. a log exposure), never a feature; "
              "predict then needs --offset too.")
@click.option("--alpha", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Penalty strength; 0 is the maximum-likelihood fit.")
@click.option("--l1-ratio", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="L1 share of the penalty: 0 ridge, 1 lasso, between: elastic net "
                   "(docs/penalties.md; `logitkit cv` chooses it).")
@click.option("--solver", type=click.Choice(SOLVERS), default="auto", show_default=True,
              help="Exact: auto, newton, newton-cg, lbfgs, prox-newton (L1 parts); "
                   f"minibatch: {', '.join(MINIBATCH_SOLVERS)}.")
@click.option("--max-iter", type=click.IntRange(min=1), default=100, show_default=True,
              help="Iteration limit of the exact solvers.")
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs of the minibatch solvers.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Minibatch size.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True),
              help="Step size of the minibatch solvers.")
@click.option("--seed", type=int, help="Random seed of the minibatch solvers.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Binary models: predict the second class when its probability >= this "
                   "(default 0.5); kept in the model file.")
@click.option("--output", "-o", required=True, help="Model file to write (- for stdout).")
@click.option("--dask", "dask_spec", metavar="local[:N]|ADDRESS",
              help="Fit on a Dask cluster: local[:N] starts N worker processes here "
                   "(default: one per core), an ADDRESS such as tcp://host:8786 connects to "
                   "a running scheduler. DATA is then read in partitions, never all in "
                   "memory: Parquet files (a file, directory or glob such as "
                   "'trips/*.parquet') or CSV files (a glob). A bar counts the passes over "
                   "the data. See docs/dask.md.")
@_with(_data_options)
@_guarded
def fit(data, target, kind, features, categorical, order, link, weights, formula, clusters,
        cov_type, id_column, offset_column, alpha, l1_ratio, solver, max_iter, epochs, batch_size,
        learning_rate, seed, threshold, output, dask_spec, sep, dropna):
    """Fit a model to a data file and save it.

    DATA is a CSV, TSV or Parquet file, or - for stdin; with --dask, Parquet or CSV files
    (a directory or a glob).
    """
    minibatch = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
                 "random_state": seed}
    minibatch = {k: v for k, v in minibatch.items() if v is not None}
    if minibatch and solver not in MINIBATCH_SOLVERS:
        raise CliError("--epochs, --batch-size, --learning-rate and --seed apply to --solver "
                       f"{', '.join(MINIBATCH_SOLVERS)}")
    order = _split(order)
    if order is not None and kind not in (None, "ordinal"):
        raise CliError(f"--order applies to ordinal models, not --kind {kind}")
    kind = "ordinal" if order is not None else kind
    if link is not None and kind == "multinomial":
        raise CliError("--link applies to binary and ordinal models; multinomial models "
                       "are logits (softmax)")
    if cov_type in ("cluster", "stata-cluster") and clusters is None:
        raise CliError(f"--cov-type {cov_type} needs the cluster labels: --clusters COLUMN")
    options = {"cov_type": cov_type, **({"link": link} if link is not None else {})}
    if threshold is not None:
        options["threshold"] = threshold
    if target is None and formula is None:
        raise click.UsageError("Missing option '--target' (or --formula \"y ~ x1 + x2\").")
    if target is not None and formula is not None:
        raise click.UsageError("--target and --formula exclude each other: the formula "
                               "names the target on the left of '~'.")
    if formula is not None:
        from logitkit.cli_formula import fit_formula

        if features is not None or categorical is not None or dask_spec is not None:
            raise CliError("--features, --categorical and --dask do not apply with --formula: "
                           "the formula names the columns (C(x) for categorical ones)")
        model, n_rows = fit_formula(_read(data, sep), _name(data), formula, kind, order,
                                    weights, clusters, offset_column, dropna, dict(
                                        alpha=alpha, l1_ratio=l1_ratio, solver=solver,
                                        max_iter=max_iter, **options, **minibatch))
        _write_model(model, output, model.formula_.outcome, len(model.coef_names_),
                     f"{n_rows} rows", "epochs" if solver in MINIBATCH_SOLVERS
                     else "iterations")
        return
    if dask_spec is not None:
        if threshold is not None and kind in ("multinomial", "ordinal"):
            raise CliError(f"--threshold applies to binary models, not --kind {kind}")
        if dropna:
            raise CliError("--dropna does not apply with --dask: drop or fill the rows with "
                           "missing values in the data files")
        if minibatch or solver in MINIBATCH_SOLVERS:
            raise CliError(f"--solver {solver} is a minibatch solver, which does not run on "
                           "Dask: use auto, newton, newton-cg or lbfgs")
        if offset_column is not None:
            raise CliError("--offset does not apply with --dask (offsets are fitted in "
                           "memory only)")
        model, n_rows, n_features = _fit_on_dask(
            dask_spec, data, sep, target, kind,
            dict(features=_split(features), categorical=_split(categorical) or (),
                 order=order, weights=weights, id_column=id_column, clusters=clusters),
            dict(alpha=alpha, l1_ratio=l1_ratio, solver=solver, max_iter=max_iter,
                 **options))
        _write_model(model, output, target, n_features, n_rows, "iterations",
                     f", {model.n_passes_:g} passes over the data")
        return
    frame = _read(data, sep)
    id_column = readers.find_id_column(frame, id_column)
    train = readers.training_data(frame, target, _split(features), _split(categorical) or (),
                                  order, weights, id_column, dropna, _name(data), clusters,
                                  offset_column)
    if train.n_dropped:
        _note(f"dropped {train.n_dropped} of {len(frame)} rows with missing or infinite "
              "values")
    _check_kind(kind, pd.unique(train.y.dropna()), train.y.dtype, target)
    if threshold is not None:
        n_classes = len(pd.unique(train.y.dropna()))
        if kind in ("multinomial", "ordinal") or n_classes > 2:
            raise CliError(f"--threshold applies to binary models; {target!r} has "
                           f"{n_classes} classes" + (f" and --kind is {kind}" if kind else ""))
    progress = _status(f"fitting ({solver} solver)")
    if solver in MINIBATCH_SOLVERS:  # the estimator draws a tqdm bar per epoch on stderr
        minibatch["verbose"] = int(sys.stderr.isatty())
        progress = nullcontext()
    model = _estimator(kind, alpha=alpha, l1_ratio=l1_ratio, solver=solver,
                       max_iter=max_iter, **options, **minibatch)
    with progress:
        _fit(model, train.X, train.y, train.sample_weight, train.clusters, train.offset)
    steps = "epochs" if solver in MINIBATCH_SOLVERS else "iterations"
    _write_model(model, output, target, train.X.shape[1], f"{len(train.y)} rows", steps)


def _write_model(model, output: str, target: str, n_features: int, rows: str, steps: str,
                 more: str = "") -> None:
    if output == "-":
        sys.stdout.buffer.write(io.model_to_bytes(model))
    else:
        io.save_model(model, output)
    click.echo(f"wrote {'<stdout>' if output == '-' else output}: {_kind_name(model)} model "
               f"of {target} on {n_features} feature(s), {rows} "
               f"({model.result_.solver}, {model.n_iter_} {steps}{more})", err=True)


def _fit_on_dask(spec, data, sep, target, kind, columns: dict, params: dict):
    """(model, rows, features) of ``fit --dask``: the data read lazily on a Dask cluster,
    typed as the in-memory command types them (logitkit.dask.command)."""
    try:
        from logitkit.dask import command
    except ImportError:
        raise CliError("--dask needs Dask: pip install 'logitkit[dask]'") from None
    frame = command.read_frame(data, sep)  # (lazily: the schema only)
    columns["id_column"] = readers.find_id_column(frame, columns["id_column"])
    X, y, w, c = command.training_frames(frame, target, name=data, ordinal=kind == "ordinal",
                                         **columns)
    model = _estimator(kind, **params)
    with command.connect(spec) as client:
        with command.pass_bar(client, sys.stderr.isatty()):
            _fit(model, X, y, w, c)
    _check_kind(kind, model.classes_, model.classes_.dtype, target)
    n_obs = f"{model.result_.n_obs:g}"  # (the rows, or the total weight)
    return model, f"{n_obs} rows" if w is None else f"total weight {n_obs}", \
        model.n_features_in_


def _check_kind(kind, classes, dtype, target: str) -> None:
    levels = sorted(map(str, classes))
    if kind == "binary" and len(classes) > 2:
        raise CliError(f"--kind binary needs a target with 2 classes; {target!r} has "
                       f"{len(classes)}: {levels[:10]}")
    if kind == "multinomial" and len(classes) == 2:
        raise CliError(f"--kind multinomial needs a target with 3 or more classes; {target!r} "
                       f"has 2: {levels}. With two classes the multinomial logit is the "
                       "binary logit: use --kind binary (or leave --kind out)")
    if kind == "ordinal" and not isinstance(dtype, pd.CategoricalDtype) and (
            not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        shown = ",".join(levels[:10]) + (",..." if len(levels) > 10 else "")
        raise CliError(f"the ordinal target {target!r} holds text; give its {len(levels)} "
                       f'levels from lowest to highest with --order "{shown}" (here sorted '
                       "alphabetically: put them in their real order)")


def _estimator(kind, **params):
    from logitkit import LogisticRegression, OrdinalLogisticRegression

    cls = OrdinalLogisticRegression if kind == "ordinal" else LogisticRegression
    try:
        return cls(**params)
    except TypeError as e:
        raise CliError(f"this logitkit's {cls.__name__} does not support these options "
                       f"({e})") from None


def _fit(model, X, y, sample_weight, clusters, offset=None) -> None:
    """Fit; exit 1 on a numerical failure or no convergence, 2 on input the fit refuses."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y, sample_weight=sample_weight, clusters=clusters,
                      **({} if offset is None else {"offset": offset}))
        except (np.linalg.LinAlgError, ArithmeticError) as e:
            raise CliError(f"the fit failed: {type(e).__name__}: {e}", exit_code=1) from e
        except (ValueError, NotImplementedError, TypeError) as e:
            raise CliError(str(e)) from e
        except Exception as e:  # a bug or numerical failure deep in the solver
            raise CliError(f"the fit failed: {type(e).__name__}: {e}", exit_code=1) from e
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            raise CliError(f"the fit failed: {w.message} No model was written.", exit_code=1)
    for message in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
        _note(message)


def _kind_name(model) -> str:
    if hasattr(model, "thresholds_"):
        return f"ordinal {model.link}"
    return (f"binary {getattr(model, 'link', 'logit')}" if len(model.classes_) == 2
            else "multinomial logit")


# -------------------------------------------------------------------------- summary

_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                              default="text", show_default=True, help="Output format.")


def _plain(value):
    """A JSON-ready Python value: NumPy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@main.command()
@click.argument("model")
@click.option("--cov-type", type=click.Choice(COV_TYPES), help="Covariance of the "
              "estimates (default: the model's, fit --cov-type): the inverse information, "
              "sandwich (HC0-HC3 as R's sandwich, stata-robust as Stata's vce(robust)), or "
              "cluster-robust (cluster as statsmodels, stata-cluster as Stata's "
              "vce(cluster); a fit with --clusters). Formulas: docs/inference.md.")
@_format_option
@_guarded
def summary(model, cov_type, fmt):
    """Print the statistical summary of a saved MODEL (- for stdin)."""
    fitted = _load_model(model)
    if (cov_type in ("cluster", "stata-cluster")
            and getattr(fitted.inference_, "cluster_meat", 0) is None):
        raise CliError(f"--cov-type {cov_type} needs a model fitted with --clusters COLUMN")
    result = fitted.summary(cov_type=cov_type)
    if fmt == "text":
        click.echo(str(result))
        return
    table = result.table
    if isinstance(table.index, pd.MultiIndex):  # multinomial: (class, term)
        table = table.rename_axis(["class", "term"])
    table = table.reset_index()
    document = {
        "title": result.title,
        "header": {key: _plain(value) for key, value in result.header_values().items()},
        "coefficients": [{k: _plain(v) for k, v in row.items()}
                         for row in table.to_dict(orient="records")],
        "notes": list(result.notes),
    }
    click.echo(json.dumps(document, indent=2))


# -------------------------------------------------------------------------- predict

@main.command()
@click.argument("model")
@click.argument("data")
@click.option("--output", "-o", default="-", show_default=True,
              help="Predictions file: CSV, TSV (.tsv) or Parquet (.parquet); - for "
                   "stdout.")
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Binary models: predict the second class when its probability >= this "
                   "(default: the model's threshold, set by fit --threshold, else 0.5).")
@click.option("--id", "id_column", help='Row-identifier column (default: a column named "id", '
              "else row numbers).")
@click.option("--interval", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              metavar="LEVEL",
              help="Add each class's probability with its delta-method standard error and "
                   "LEVEL (e.g. 0.95) interval, built on the link scale with the model's "
                   "covariance (fit --cov-type; docs/inference.md): columns proba_<class>, "
                   "se_<class>, lower_<class>, upper_<class>.")
@click.option("--offset", "offset_column", metavar="COLUMN", help="Column of offsets, for a "
              "model fitted with fit --offset (required then).")
@_with(_data_options)
@_guarded
def predict(model, data, output, proba, threshold, id_column, interval, offset_column, sep,
            dropna):
    """Predict the class of each row of a data file.

    Writes the row identifiers, the predicted class, (--proba) one probability column
    per class and (--interval) their standard errors and intervals.
    """
    if model == "-" and data == "-":
        raise CliError("MODEL and DATA cannot both be read from stdin")
    estimator = _load_model(model)
    if threshold is not None and (len(estimator.classes_) != 2
                                  or "threshold" not in estimator.get_params()):
        raise CliError(f"--threshold applies to binary logit models; this one is a "
                       f"{_kind_name(estimator)} model with {len(estimator.classes_)} classes")
    frame = _read(data, sep)
    ids = readers.row_ids(frame, readers.find_id_column(frame, id_column))
    if (offset_column is None) == getattr(estimator, "has_offset_", False):
        raise CliError("this model was fitted with an offset: give its column with --offset "
                       "COLUMN" if offset_column is None else
                       "--offset applies to models fitted with fit --offset; this one was not")
    extra = () if offset_column is None else (offset_column,)
    X, columns, kept = readers.prediction_features(frame, estimator, dropna, _name(data),
                                                   extra)
    offset = None if offset_column is None else readers.numeric_column(columns, offset_column)
    if threshold is not None:
        estimator.set_params(threshold=threshold)
    probabilities = estimator.predict_proba(X, offset=offset)
    labels = estimator.predict(X, offset=offset)
    out = pd.DataFrame({ids.name: ids[kept].to_numpy(), "prediction": labels})
    if proba or interval is not None:
        for k, label in enumerate(estimator.classes_):
            out[f"proba_{label}"] = probabilities[:, k]
    if interval is not None:
        try:
            bands = estimator.predict_interval(X, level=interval, offset=offset)
        except ValueError as error:
            raise CliError(f"--interval: {error}") from None
        for label in estimator.classes_:
            for column, name in (("std_err", "se"), ("lower", "lower"), ("upper", "upper")):
                out[f"{name}_{label}"] = bands[(label, column)].to_numpy()
    if not kept.all():
        _note(f"dropped {int((~kept).sum())} of {len(frame)} rows with missing or infinite "
              "values")
    _write_table(out, output)


def _write_table(frame: pd.DataFrame, output: str) -> None:
    if output == "-":
        click.echo(frame.to_csv(index=False, lineterminator="\n"), nl=False)
    else:
        readers.write_table(frame, output)


# ------------------------------------------------------------------------- datasets

@main.command(name="datasets")
@click.argument("name", required=False, metavar="[NAME]",
                type=click.Choice(list(datasets.NAMES), case_sensitive=False))
@click.option("--output", "-o", default="-", show_default=True,
              help="File to write: CSV, TSV (.tsv) or Parquet (.parquet); - for stdout.")
@_guarded
def datasets_command(name, output):
    """Write a data set that ships with logitkit, or list them.

    NAME is spector, ucla, anes96 or seed; without NAME the data sets are listed.
    """
    if name is None:
        if output != "-":
            raise CliError("--output needs a data set NAME; run 'logitkit datasets' for the "
                           "list")
        for key, loader in datasets.NAMES.items():
            rows, columns = loader().shape
            title = loader.__doc__.strip().splitlines()[0].replace("``", "")
            click.echo(f"{key:<8} {rows:>4} rows x {columns:>2} columns  {title}")
        return
    frame = datasets.NAMES[name]()
    _write_table(frame, output)
    where = "<stdout>" if output == "-" else output
    click.echo(f"wrote {where}: the {name} data set, {len(frame)} rows x "
               f"{frame.shape[1]} columns", err=True)

if __name__ == "__main__":  # pragma: no cover
    main()
