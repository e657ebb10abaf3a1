"""Keras-style minibatch training for the estimators (solvers "sgd", "adam", "rmsprop",
"adagrad"): fit's minibatch path, partial_fit, evaluate, describe, and how the summary of
an approximate fit reads. The optimisation itself lives in :mod:`logitkit.solvers.stochastic`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from logitkit.backends import like, weighted_counts
from logitkit.fitted_rows import FitRows
from logitkit.inference import collect
from logitkit.messages import plain
from logitkit.objective import Objective
from logitkit.offsets import eta_offset
from logitkit.solvers import stochastic
from logitkit.solvers.optimizers import OPTIMIZERS


class MinibatchMixin:
    """Needs from the estimator: _design, _family, _fits_intercept, _set_coefficients,
    _check_params, _plain_weights, _encode_labels, classes_, and the training parameters (see
    TrainingConfig)."""

    _ordered_classes = False  # True for ordinal models: partial_fit keeps the given order

    # -- minibatch training (solver "sgd", "adam", "rmsprop", "adagrad") -------------
    def _training_config(self) -> stochastic.TrainingConfig:
        return stochastic.TrainingConfig.from_params(self.solver, self.get_params())

    def _objective(self, Xd, codes, weights, offset=None) -> Objective:
        """The fit's objective over these rows; ``offset`` checked (logitkit.offsets)."""
        family = self._family(len(self.classes_))
        return Objective(family, Xd, like(codes, Xd), like(weights, Xd), len(self.classes_),
                         self._fits_intercept(), alpha=float(self.alpha),
                         offset=eta_offset(offset, family.n_eta(len(self.classes_))))

    def _fit_minibatch(self, Xd, codes, weights, clusters, validation_data, offset=None):
        config = self._training_config()
        validation = None
        if validation_data is not None:
            if offset is not None:
                raise ValueError("validation_data cannot carry an offset: with an offset, "
                                 "use validation_split (the offset is split with the rows)")
            validation = self._validation_objective(validation_data)
        elif config.validation_split:
            # Keras's convention: the last fraction of the rows, before any shuffling
            split = math.ceil(Xd.shape[0] * (1 - config.validation_split))
            if not 1 <= split < Xd.shape[0]:
                raise ValueError(f"validation_split={config.validation_split} leaves no rows "
                                 f"for training or for validation out of {Xd.shape[0]}")
            rest = None if offset is None else offset[split:]
            validation = self._objective(Xd[split:], codes[split:], weights[split:], rest)
            Xd, codes, weights = Xd[:split], codes[:split], weights[:split]
            offset = None if offset is None else offset[:split]
            if clusters is not None:
                clusters = clusters[:split]
            self._fit_rows = FitRows(Xd, codes, weights, clusters, offset)
            totals = weighted_counts(codes, weights, len(self.classes_))
            if np.any(totals <= 0):
                raise ValueError(
                    f"validation_split={config.validation_split} leaves class(es) "
                    f"{plain(self.classes_[totals <= 0])} out of the training rows (it takes "
                    "the last rows, as Keras does); shuffle the rows first")
        problem = stochastic.TrainingProblem(self._objective(Xd, codes, weights, offset))
        trainer = stochastic.Trainer(problem, config, np.random.default_rng(self.random_state),
                                     config.steps_per_epoch(problem.train.n))
        with np.errstate(over="ignore", under="ignore"):
            report = trainer.run(problem, config.epochs,
                                 None if validation is None else problem.like(validation),
                                 early_stopping=config.early_stopping)
        self._trainer = trainer
        self._set_minibatch_result(problem, report, clusters, check=True)
        return self

    def _set_minibatch_result(self, problem, report, clusters, check):
        standard_errors = self.alpha == 0 and self.inference
        with np.errstate(over="ignore", under="ignore"):
            result, distance = stochastic.fit_result(problem, report, self.solver, check,
                                                     keep_hessian=standard_errors)
        self.history_ = {k: list(v) for k, v in self._trainer.history.items()}
        self.result_ = result
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.optimum_distance_ = distance
        self._set_coefficients(problem.objective, result.params)
        self.separation_ = None  # a minibatch fit is not an MLE: no separation diagnosis
        self.separation_status_ = "not checked (minibatch fit)"
        objective, params, hessian = self._information(problem.objective, result)
        self.inference_ = (collect(objective, params, clusters, hessian)
                           if standard_errors and result.converged
                           else None)
        # an epoch reads every training row once; full passes (checks, inference) count too
        self.n_passes_ = result.n_iter + problem.objective.reads.passes

    def _uses_minibatch(self) -> bool:
        return self.solver in OPTIMIZERS

    @available_if(_uses_minibatch)
    def partial_fit(self, X, y, classes=None, sample_weight=None, offset=None):
        """One pass (epoch) of minibatch training over the rows given, keeping the
        parameters and the optimizer's state from the previous calls (or from ``fit``).

        classes: every label y will ever hold, required on the first call (the class
        order for ordinal models, else sorted). offset: as in ``fit``, on every call or on
        none. No standard errors: ``summary()`` reports
        the estimates only. ``class_weight="balanced"`` is not available here.
        """
        self._check_params()
        config = self._training_config()
        first = getattr(self, "_trainer", None) is None
        fitted = hasattr(self, "result_")  # e.g. loaded from a file: continue from it
        if first and not fitted:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit "
                                 "(every label that y will hold)")
            Xd = self._design(X, reset=True)
            self.classes_ = self._partial_classes(classes)
            self.target_name_ = getattr(y, "name", None)
            self.coef_names_ = (self.encoder_.output_names if self.encoder_ is not None
                                else [f"x{j}" for j in range(Xd.shape[1])])
        else:
            Xd = self._design(X, reset=False)
            if classes is not None and set(np.asarray(classes).tolist()) != set(
                    self.classes_.tolist()):
                raise ValueError(f"classes {plain(list(classes))} differ from those of the earlier "
                                 f"fit, {plain(self.classes_)}")
        codes = self._encode_labels(y, Xd.shape[0])
        if isinstance(self.class_weight, str):
            raise ValueError(f"class_weight={self.class_weight!r} needs the whole data; "
                             "pass a dict {label: weight} to partial_fit")
        weights = self._plain_weights(sample_weight, Xd)
        if self.class_weight is not None:
            per_class = np.array([self.class_weight.get(c, 1.0) for c in self.classes_])
            weights = weights * like(per_class[codes], weights)
        if first and not fitted:
            self.has_offset_ = offset is not None
        if (offset is not None) != getattr(self, "has_offset_", False):
            raise ValueError("pass an offset on every partial_fit call or on none (this model "
                             f"was {'' if self.has_offset_ else 'not '}fitted with one)")
        offset = self._offset(Xd, offset, "partial_fit")
        problem = stochastic.TrainingProblem(self._objective(Xd, codes, weights, offset))
        if first:
            self._trainer = stochastic.Trainer(
                problem, config, np.random.default_rng(self.random_state),
                config.steps_per_epoch(problem.train.n),
                start=self.result_.params if fitted else None,
                history=getattr(self, "history_", None))
        with np.errstate(over="ignore", under="ignore"):
            report = self._trainer.run(problem, 1)
        self._set_minibatch_result(problem, report, None, check=False)
        return self

    def _partial_classes(self, classes) -> np.ndarray:
        if isinstance(getattr(classes, "dtype", None), pd.CategoricalDtype):
            return np.asarray(pd.Categorical(classes).categories, dtype=object)
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(classes) < 2 or len(set(classes.tolist())) != len(classes):
            raise ValueError("classes must list at least 2 distinct labels, got "
                             f"{plain(classes)!r}")
        return classes if self._ordered_classes else np.sort(classes)

    def _validation_objective(self, validation_data) -> Objective:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)):
            raise ValueError("validation_data must be (X_val, y_val) or "
                             "(X_val, y_val, sample_weight_val)")
        Xv = self._design(validation_data[0], reset=False)
        codes = self._encode_labels(validation_data[1], Xv.shape[0])
        sw = validation_data[2] if len(validation_data) == 3 else None
        return self._objective(Xv, codes, self._plain_weights(sw, Xv))

    def evaluate(self, X, y, sample_weight=None, offset=None) -> dict:
        """{"loss": mean log-loss + penalty (the objective), "accuracy": weighted share of
        rows whose most probable class is y}, like Keras's ``model.evaluate``."""
        check_is_fitted(self)
        Xd = self._design(X, reset=False)
        objective = self._objective(Xd, self._encode_labels(y, Xd.shape[0]),
                                    self._plain_weights(sample_weight, Xd),
                                    self._offset(Xd, offset, "evaluate"))
        loss, accuracy = stochastic.evaluate_objective(objective, self.result_.params)
        return {"loss": loss, "accuracy": accuracy}

    def describe(self):
        """A one-glance description of the model's shape, like Keras's ``model.summary()``
        (inputs, outputs, activation, trainable parameters); ``summary()`` is the
        statistical one."""
        from logitkit.describe import describe_model

        return describe_model(self)

    def _is_minibatch_fit(self) -> bool:
        return self.result_.solver in OPTIMIZERS

    def _header(self, cov_label):
        rows = super()._header(cov_label)
        if not self._is_minibatch_fit():
            return rows
        out = []
        for key, label, value in rows:
            if key == "solver":
                value = f"{value} (minibatch)"
            elif key == "n_iter":
                key, label = "n_epochs", "Epochs"
            out.append((key, label, value))
            if key == "converged":
                out.append(("optimum_distance_se", "Distance to optimum (SE)",
                            self.optimum_distance_))
        return out

    def summary(self, alpha: float = 0.05, cov_type: str | None = None, base_class=None):
        result = super().summary(alpha, cov_type, base_class)
        if not self._is_minibatch_fit() or self.inference_ is not None or self.alpha > 0:
            return result
        header = tuple((key, label, "none (approximate fit)" if key == "cov_type" else value)
                       for key, label, value in result.header)
        return replace(result, header=header, notes=(self._approximate_note(),))

    def _approximate_note(self) -> str:
        distance = self.optimum_distance_
        where = ("an unknown number of" if not np.isfinite(distance) else f"{distance:.2g}")
        return (f"Minibatch fit ({self.result_.solver}): the estimates are {where} standard "
                "errors from the maximum-likelihood estimate, so standard errors are not "
                f"reported (they are when within {stochastic.SE_TOLERANCE:g}). Refit with "
                "solver='newton' for exact inference, or train to convergence (e.g. "
                "full-batch steps with momentum: solver='sgd', batch_size=None, "
                "momentum=0.9).")

    def _natural_covariance(self, cov_type, coordinates=None):
        check_is_fitted(self)
        if self.inference_ is None and self.alpha == 0 and self._is_minibatch_fit():
            raise ValueError(self._approximate_note())
        return super()._natural_covariance(cov_type, coordinates)
