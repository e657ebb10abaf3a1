"""verbose=1: each epoch's progress bar ends on a line that shows loss, accuracy, val_loss
and val_accuracy within an 80-column terminal."""

import io
import re
import sys

import numpy as np
import pytest
import tqdm.std

import logitkit as lk

rng = np.random.default_rng(0)
X = rng.normal(size=(400, 3))
Y = (X[:, 0] + rng.logistic(size=400) > 0).astype(int)
NAMES = ("loss", "accuracy", "val_loss", "val_accuracy")


def _render(monkeypatch, columns, **params):
    """(fitted model, the lines tqdm drew: every carriage-return segment, and the epochs'
    last lines) with stderr a StringIO seen as a terminal ``columns`` wide."""
    monkeypatch.setattr(tqdm.std, "_screen_shape_wrapper", lambda: lambda fp: (columns, 24))
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    model = lk.LogisticRegression(solver="adam", verbose=1, random_state=0, **params).fit(X, Y)
    text = buffer.getvalue()
    segments = [part for line in text.split("\n") for part in line.split("\r")]
    finals = [line.split("\r")[-1].rstrip() for line in text.split("\n") if line.strip()]
    return model, segments, finals


@pytest.mark.parametrize("epochs, decimals_shown", [(3, 4), (120, 3)])
def test_every_log_fits_in_80_columns(monkeypatch, epochs, decimals_shown):
    model, segments, finals = _render(monkeypatch, 80, epochs=epochs, validation_split=0.25)
    assert max(len(s) for s in segments) <= 80
    assert len(finals) == epochs
    for epoch, line in enumerate(finals):
        assert line.startswith(f"Epoch {epoch + 1}/{epochs}")
        shown = dict(re.findall(r"(\w+)=([\d.]+)", line))
        assert list(shown) == list(NAMES), line
        decimals = len(shown["loss"].split(".")[1])
        assert decimals == decimals_shown  # one layout for the whole run
        for name in NAMES:  # the values of history_, at the decimals shown
            assert shown[name] == f"{model.history_[name][epoch]:.{decimals}f}"


def test_without_validation_the_bar_stays(monkeypatch):
    model, segments, finals = _render(monkeypatch, 80, epochs=2)
    assert max(len(s) for s in segments) <= 80
    assert re.fullmatch(r"Epoch 2/2: 100%\|\S+\| 13/13 \[\d\d:\d\d, loss=[\d.]+, "
                        r"accuracy=[\d.]+\]", finals[-1])
    assert f"loss={model.history_['loss'][-1]:.4f}" in finals[-1]


def test_a_wide_terminal_keeps_the_bar_and_four_decimals(monkeypatch):
    model, segments, finals = _render(monkeypatch, 200, epochs=2, validation_split=0.25)
    assert "100%|" in finals[-1] and "10/10 [" in finals[-1]
    assert f"val_accuracy={model.history_['val_accuracy'][-1]:.4f}]" in finals[-1]
