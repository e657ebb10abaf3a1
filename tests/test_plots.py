"""logitkit.plots, headless: each function draws what it says and returns its Axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit import datasets  # noqa: E402
from logitkit.plots import plot_decision_boundary, plot_history, plot_sigmoid_fit  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_sigmoid_fit():
    X, y = datasets.make_sigmoid_1d(50, random_state=0)
    model = lk.LogisticRegression().fit(X, y)
    ax = plot_sigmoid_fit(model, X, y, grid=np.linspace(-10, 10, 50))
    assert isinstance(ax, Axes)
    curve = ax.get_lines()[0]
    np.testing.assert_allclose(curve.get_ydata(),
                               model.predict_proba(np.linspace(-10, 10, 50)[:, None])[:, 1])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("boundary x =") for label in labels)
    _, given = plt.subplots()
    assert plot_sigmoid_fit(model, X[:, 0], y, ax=given) is given


def test_plot_decision_boundary_binary_and_multiclass():
    X, y = datasets.make_blobs_2d(50, random_state=0)
    binary = lk.LogisticRegression(solver="sgd", epochs=3, random_state=0).fit(X, y)
    ax = plot_decision_boundary(binary, X, y, resolution=30)
    assert isinstance(ax, Axes) and len(ax.collections) >= 3  # regions, line, 2 scatters
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    X3, y3 = datasets.make_softmax_3class(20, random_state=0)
    multi = lk.LogisticRegression(alpha=0.1).fit(X3, y3)
    ax = plot_decision_boundary(multi, X3, y=None, resolution=30, labels=["a", "b", "c"])
    assert ax.get_legend().get_title().get_text() == "predicted"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["class a", "class b", "class c"]
    # points drawn by predicted class: as many as the model predicts of each
    sizes = [len(c.get_offsets()) for c in ax.collections[-3:]]
    assert sizes == list(np.bincount(multi.predict(X3), minlength=3))


def test_plot_history():
    X, y = datasets.make_softmax_3class(20, random_state=0)
    model = lk.LogisticRegression(solver="adam", epochs=4, random_state=0).fit(
        X, y, validation_data=(X, y))
    ax = plot_history(model)
    assert isinstance(ax, Axes)
    assert [line.get_label() for line in ax.get_lines()] == [
        "loss", "val_loss", "accuracy", "val_accuracy"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), model.history_["loss"])
    ax = plot_history({"loss": [3, 2, 1]}, metrics=("loss",))
    assert len(ax.get_lines()) == 1
    with pytest.raises(ValueError, match="history"):
        plot_history(lk.LogisticRegression(alpha=0.1).fit(X, y))


def test_save_figure_writes_and_closes(tmp_path):
    import matplotlib.pyplot as plt

    from logitkit.plots import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    out = save_figure(fig, tmp_path / "line.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
