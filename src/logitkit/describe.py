"""A Keras ``model.summary()``-style description of a fitted model's shape.

``model.describe()`` says at one glance what the model is as a network: its input width,
its output (probabilities over the classes), the activation, and its trainable
parameters, counted the way Keras counts them for the equivalent layer, next to the
number that the data can identify. It works for exact and minibatch fits alike; the
statistical table is ``model.summary()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.utils.validation import check_is_fitted

_RULE = 70


@dataclass(frozen=True)
class ModelDescription:
    """model: class name; kind: what it fits; layers: ((name, output shape, params), ...);
    inputs, outputs: widths; activation; trainable: parameters as Keras counts them;
    identifiable: those the likelihood pins down; solver: how it was fitted."""

    model: str
    kind: str
    layers: tuple
    inputs: int
    outputs: int
    activation: str
    trainable: int
    identifiable: int
    solver: str
    input_names: tuple = ()

    def __str__(self) -> str:
        lines = [f'Model: "{self.model}" ({self.kind})', "_" * _RULE,
                 f" {'Layer (type)':<34}{'Output Shape':<20}{'Param #':>14}", "=" * _RULE]
        for i, (name, shape, params) in enumerate(self.layers):
            if i:
                lines.append("")
            lines.append(f" {name:<34}{shape:<20}{params:>14,}")
        lines += ["=" * _RULE,
                  f"Total params: {self.trainable:,}",
                  f"Trainable params: {self.trainable:,}",
                  "Non-trainable params: 0"]
        if self.identifiable != self.trainable:
            lines.append(f"Identifiable params: {self.identifiable:,} (a softmax is unchanged "
                         "by a common shift)")
        names = ", ".join(self.input_names[:8]) + (", ..." if len(self.input_names) > 8 else "")
        lines += ["_" * _RULE, f"Inputs: {names}", f"Fitted by: {self.solver}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


def describe_model(model) -> ModelDescription:
    """The :class:`ModelDescription` of a fitted LogisticRegression or OrdinalLogisticRegression."""
    check_is_fitted(model)
    d = len(model.coef_names_)
    K = len(model.classes_)
    solver = model.result_.solver
    solver = f"{solver} (minibatch, {model.n_iter_} epochs)" if _minibatch(solver) else (
        f"{solver} (exact, {model.n_iter_} iterations)")
    name = type(model).__name__
    inputs = f"(None, {d})"
    if hasattr(model, "thresholds_"):
        layers = (("input (InputLayer)", inputs, 0),
                  ("dense (Dense, linear, no bias)", "(None, 1)", d),
                  (f"cut points ({model.link} CDF)", f"(None, {K})", K - 1))
        return ModelDescription(name, f"ordinal {model.link}, {K} ordered classes", layers, d,
                                K, f"cumulative {model.link}", d + K - 1, d + K - 1, solver,
                                tuple(model.coef_names_))
    bias = int(bool(model.fit_intercept))
    if K == 2:
        params = d + bias
        link = getattr(model, "link", "logit")
        activation = "sigmoid" if link == "logit" else f"{link} CDF"
        kind = {"logit": "binary logistic regression", "probit": "binary probit regression",
                "cloglog": "binary complementary log-log regression"}[link]
        layers = (("input (InputLayer)", inputs, 0),
                  (f"dense (Dense, {activation})", "(None, 1)", params))
        return ModelDescription(name, kind, layers, d, 1, activation, params, params, solver,
                                tuple(model.coef_names_))
    params = K * (d + bias)
    layers = (("input (InputLayer)", inputs, 0),
              ("dense (Dense, softmax)", f"(None, {K})", params))
    return ModelDescription(name, f"softmax regression, {K} classes", layers, d, K, "softmax",
                            params, (K - 1) * (d + bias), solver, tuple(model.coef_names_))


def _minibatch(solver: str) -> bool:
    from logitkit.solvers.optimizers import OPTIMIZERS

    return solver in OPTIMIZERS
