"""The estimators on Dask input: the objective of a fit (:func:`dask_objective`) and lazy
predictions (:func:`lazy_prediction`). The fitted estimator is the ordinary in-memory one."""

from __future__ import annotations

from contextlib import nullcontext

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd

from logitkit import fitting
from logitkit.aliasing import screen_step
from logitkit.backends.threads import limit_blas
from logitkit.dask.arrays import prepare
from logitkit.dask.frames import frame_arrays
from logitkit.dask.null_start import null_start_steps
from logitkit.dask.objective import DaskObjective
from logitkit.dask.placement import active_client
from logitkit.fitting import WARM_START_ROWS, WARM_START_STEP
from logitkit.messages import plain
from logitkit.parametrization import moment_step
from logitkit.solvers.optimizers import OPTIMIZERS


def dask_objective(estimator, X, y, sample_weight, clusters, validation_data, persist):
    """(:class:`DaskObjective`, cluster codes or None) for ``estimator.fit`` on a dask
    array X; sets the fitted attributes that describe the input (``classes_``,
    ``n_features_in_``, ``coef_names_``, ...)."""
    if estimator.solver in OPTIMIZERS:
        raise ValueError(
            f"solver={estimator.solver!r} is a minibatch solver, which logitkit does not run "
            f"on Dask collections; the minibatch solvers are {OPTIMIZERS}. Use one of the "
            '"auto", "newton", "newton-cg", "lbfgs" solvers (exact, one pass over the '
            "partitions per evaluation), or fit NumPy/pandas data in memory")
    if validation_data is not None:
        raise ValueError("validation_data applies to the minibatch solvers "
                         f"{OPTIMIZERS}, which do not run on Dask collections")
    if estimator.device is not None:
        raise ValueError(f"device={estimator.device!r} applies to in-memory fits; a Dask "
                         "fit runs where the Dask workers are (leave device=None)")
    frames = None
    if isinstance(X, dd.DataFrame | dd.Series):  # encoded by one pass: dask arrays
        frames = frame_arrays(X, y, sample_weight, clusters)
        X, y, sample_weight, clusters = (frames.X, frames.y, frames.sample_weight,
                                         frames.clusters)
    if not isinstance(X, da.Array):
        raise TypeError(f"fit on Dask input takes a dask array X, got {type(X).__name__}; "
                        "convert a dask DataFrame with logitkit.dask.frames or "
                        "DataFrame.to_dask_array(lengths=True)")
    n, d = X.shape if X.ndim == 2 else (X.shape[0], 0)
    # an intercept or cut points (an ordinal family has them for any 2 classes)
    constant = estimator._fits_intercept() or estimator._family(2).n_aux(2) > 0
    steps = [moment_step(n)] + ([screen_step(n, d + int(constant))]
                                if estimator.alpha == 0 else [])
    ordinal = estimator._family(2).n_aux(2) > 0
    binary = not ordinal and _binary_warm_start(estimator, n, d)
    warm = _warm_start_steps(n) if ordinal else []
    if binary:  # (fitting._warm_start: one sample, of at most 32 MiB)
        p = d + int(estimator._fits_intercept())
        warm = [fitting.sample_step(n, d, fitting.warm_start_rows(p))]
    # the warm starts' samples: their class totals and column scales' rows
    steps += [k * moment_step(-(-n // k)) for k in warm]
    categories = getattr(getattr(y, "dtype", None), "categories", None)
    if frames is not None:
        categories = frames.class_order
    # the innermost warm start's sample comes back with the scan, to be fitted here, and
    # so does a binary fit's probe (fitting._far_from_null)
    probe = [fitting.probe_step(n, d)] if binary else []
    local = [k for k in warm[-1:] + probe
             if -(-n // k) * d * X.dtype.itemsize <= LOCAL_SAMPLE_BYTES]
    sums, grams = null_start_steps(estimator, n, d, len(X.chunks[0]))
    data = prepare(X, y, sample_weight, clusters, class_weight=estimator.class_weight,
                   classes=None if categories is None else np.asarray(categories, object),
                   persist=persist, sample_steps=steps, total_steps=warm,
                   null_steps=([k for k in sums if k not in local],
                               [k for k in grams if k not in local]),
                   local_steps=local, copy_steps=[k for k in warm if k not in local])
    classes, totals = data.classes, data.class_totals
    if np.count_nonzero(totals > 0) < 2:
        kept = [plain(c) for c in classes[totals > 0]]
        raise ValueError(
            f"only the class(es) {kept} have positive total weight (sample_weight times "
            "class_weight); a classifier needs at least 2 of them")
    estimator.n_features_in_, estimator.encoder_ = d, None
    estimator.empty_classes_ = estimator._empty_classes(classes, totals)
    family = estimator._family(len(classes))
    estimator.classes_ = classes
    estimator.target_name_ = None
    estimator.coef_names_ = [f"x{j}" for j in range(d)]
    if frames is not None:  # the in-memory fit's encoder and names
        encoder = estimator.encoder_ = frames.encoder
        estimator.n_features_in_ = len(encoder.columns)
        estimator.feature_names_in_ = np.asarray([c.name for c in encoder.columns], object)
        estimator.target_name_ = frames.target_name
        estimator.coef_names_ = encoder.output_names
    objective = DaskObjective(family, data, len(classes), estimator._fits_intercept(),
                              alpha=float(estimator.alpha))
    # the scan, and the level pass's share of X's columns
    objective.reads.rows += round(objective.n * (1 + (frames.x_share if frames else 0)))
    return objective, data.clusters


# the ordinal warm start's innermost sample (fewer than WARM_START_STEP *
# WARM_START_ROWS rows unless the model has many parameters) comes back to the client
# with the scan and is fitted there when its X takes at most this many bytes: its fit's
# passes (5 graphs of 8 small tasks, 25-35 ms each on a 2-worker LocalCluster) cost more
# than its copy
LOCAL_SAMPLE_BYTES = 32 * 2**20


def client_threads():
    """A context in which this process (the client) computes with one BLAS thread while a
    distributed client exists: a Dask fit's client computes only row samples and p x p
    algebra, while the workers' passes (on a LocalCluster, on the same cores) may still
    run. A 2551 x 51 Gram matrix took 0.4 ms with 1 or 2 BLAS threads on idle cores,
    and 50-80 ms with 2 threads against 0.4-1.2 ms with one while 2 other processes kept
    both cores busy. Without a distributed client (Dask's local schedulers: passes in
    this process) the threads are kept."""
    return nullcontext() if active_client() is None else limit_blas(1)


def _binary_warm_start(estimator, n: int, d: int) -> bool:
    """Whether a binary Newton fit of n x d may start from a sample's fit (when its probe
    says so: :func:`logitkit.fitting._warm_start`): the sample, at most 32 MiB of
    float64 X of at most 100 columns, comes back with the scan and is fitted here."""
    p = d + int(estimator._fits_intercept())
    return (p <= fitting.WARM_START_BINARY_PARAMS
            and fitting.choose_solver(estimator.solver, p) == "newton"
            and n >= WARM_START_STEP * fitting.warm_start_rows(p))


def _warm_start_steps(n: int) -> list[int]:
    """The row steps k of the samples (every k-th row of n) that ordinal Newton fits may
    start from (:func:`logitkit.fitting._warm_start`: every WARM_START_STEP-th row of at
    least WARM_START_STEP * WARM_START_ROWS, a large sample's own sample likewise)."""
    steps, k = [], 1
    while -(-n // k) >= WARM_START_STEP * WARM_START_ROWS:
        k *= WARM_START_STEP
        steps.append(k)
    return steps


def _predict_block(block, estimator, method, width):
    if block.shape[0] == 0:  # (the estimators refuse input without rows)
        return np.empty((0, width) if width else 0,
                        dtype=estimator.classes_.dtype if method == "predict" else float)
    return getattr(estimator, method)(block)


def lazy_prediction(estimator, method: str, X):
    """``estimator.method`` of every partition of X (a dask array or DataFrame): a lazy
    dask array, one task per partition; (n, K) for probabilities, (n,) for predicted
    labels and binary decision functions, (n, K) for multinomial ones."""
    K = len(estimator.classes_)
    one_column = method == "predict" or (method == "decision_function" and K == 2
                                         and hasattr(estimator, "threshold"))
    if method == "decision_function" and not hasattr(estimator, "threshold"):
        raise AttributeError("decision_function applies to LogisticRegression")
    dtype = estimator.classes_.dtype if method == "predict" else np.float64
    if not isinstance(X, da.Array):  # a dask DataFrame: pandas partitions, lazily
        if one_column:  # (labels as objects: pandas would make strings an extension type)
            meta = pd.Series(np.empty(0, dtype=object if dtype.kind in "USO" else dtype))
        else:
            meta = pd.DataFrame(np.empty((0, K)), columns=range(K))
        frame = X.map_partitions(_frame_block, estimator, method, meta=meta)
        return frame.to_dask_array()
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimension(s)")
    X = X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X
    if one_column:
        return X.map_blocks(_predict_block, estimator, method, 0, dtype=dtype, drop_axis=1,
                            chunks=(X.chunks[0],))
    return X.map_blocks(_predict_block, estimator, method, K, dtype=dtype,
                        chunks=(X.chunks[0], (K,)))


def _frame_block(frame, estimator, method):
    K = len(estimator.classes_)
    values = (_predict_block(frame, estimator, method, 0 if method == "predict" else K)
              if len(frame) == 0 else getattr(estimator, method)(frame))
    if values.ndim == 1:
        return pd.Series(values.astype(object) if values.dtype.kind in "US" else values,
                         index=frame.index)
    return pd.DataFrame(values, index=frame.index, columns=range(values.shape[1]))
