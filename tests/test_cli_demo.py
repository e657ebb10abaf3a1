import re

import pytest
from click.testing import CliRunner

from logitkit.cli import main


@pytest.fixture(scope="module")
def demo_output():
    result = CliRunner().invoke(main, ["demo"])
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return result.output


def test_main_is_a_group_with_demo():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output


def test_demo_explains_separation(demo_output):
    assert "perfectly separated" in demo_output
    assert "Label is 1 exactly when Feature1 > 4.8" in demo_output
    assert "does not exist" in demo_output
    # Warnings are shown as indented "note:" paragraphs, not raw warnings output.
    section = demo_output.split("\n\n")[0]
    note = section[section.index("  note: PerfectSeparationWarning:") :].split("\n  A small")[0]
    assert "separated by Feature" in note  # the certificate may name Feature1 and/or Feature2


def test_demo_ridge_fit_of_seed_table(demo_output):
    assert "alpha=0.01" in demo_output
    assert re.search(r"Feature1 -?\d+\.\d+, Feature2 -?\d+\.\d+; intercept -?\d+\.\d+", demo_output)
    assert "training accuracy: 100.0% (20/20)" in demo_output
    assert re.search(r"-?\d+\.\d+ [+-] \d+\.\d+\*Feature1 [+-] \d+\.\d+\*Feature2 = 0", demo_output)
    assert re.search(r"Feature2 = -?\d+\.\d+ [+-] \d+\.\d+\*Feature1", demo_output)


def _accuracies(output, label):
    return [float(a) for a in re.findall(rf"{label}: (\d+\.\d)%", output)]


def test_demo_reports_accuracy_for_each_data_set(demo_output):
    train = _accuracies(demo_output, "training accuracy")
    assert len(train) == 4  # seed table, 1-D sigmoid, 2-D blobs, softmax
    assert train[0] == 100.0
    assert all(a > 90 for a in train)
    test = _accuracies(demo_output, r"test accuracy \(10 new points per class\)")
    assert len(test) == 1 and test[0] >= 90


def test_demo_sigmoid_boundary_near_zero(demo_output):
    m = re.search(r"x = -b/w = (-?\d+\.\d+)", demo_output)
    assert m and abs(float(m.group(1))) < 0.5
    m = re.search(r"coefficient w = (-?\d+\.\d+)", demo_output)
    assert m and 1.0 < float(m.group(1)) < 3.0


def test_demo_blobs_and_softmax_sections(demo_output):
    assert re.search(r"-?\d+\.\d+ [+-] \d+\.\d+\*x1 [+-] \d+\.\d+\*x2 = 0", demo_output)
    for k in range(3):
        assert re.search(rf"class {k}: x1 [+-]\d+\.\d+, x2 [+-]\d+\.\d+", demo_output)


def test_demo_linear_vs_logistic(demo_output):
    rows = re.findall(r"least squares x = (\d+\.\d+).*logistic x = (\d+\.\d+)", demo_output)
    assert len(rows) == 2
    (ls_bal, lr_bal), (ls_imb, lr_imb) = [(float(a), float(b)) for a, b in rows]
    assert ls_bal == pytest.approx(19.5) and lr_bal == pytest.approx(19.5, abs=0.05)
    assert 23 < ls_imb < 25 and abs(lr_imb - 19.5) < 1


def test_demo_prints_no_raw_warnings_or_tracebacks(demo_output):
    assert "Traceback" not in demo_output
    assert "warnings.warn" not in demo_output
    assert not re.search(r"^\S+\.py:\d+: \w*Warning", demo_output, flags=re.M)
