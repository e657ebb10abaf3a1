"""logitkit fit --formula: the same model as lk.logit / lk.mlogit / lk.ologit, applied by
predict and evaluate to new files; clean refusals."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import logitkit as lk
from logitkit.cli import main

pytest.importorskip("formulaic")

ORDER = "unlikely,somewhat likely,very likely"


def _run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture()
def files(tmp_path):
    spector = lk.datasets.load_spector()
    ucla = lk.datasets.load_ucla_apply()
    ucla = ucla.assign(apply=ucla["apply"].astype(str),
                       school=np.arange(len(ucla)) % 20, w=1.0 + np.arange(len(ucla)) % 3)
    spector.to_csv(tmp_path / "spector.csv", index=False)
    ucla.to_csv(tmp_path / "ucla.csv", index=False)
    return tmp_path, spector, ucla


def test_binary_formula_fit_predict_equal_python(files):
    root, spector, _ = files
    formula = "GRADE ~ GPA * TUCE + C(PSI, contr.treatment(1))"
    _run("fit", root / "spector.csv", "--formula", formula, "-o", root / "s.lkm")
    saved = lk.load(root / "s.lkm")
    python = lk.logit(formula, spector)
    pd.testing.assert_frame_equal(saved.summary().table, python.summary().table,
                                  check_exact=False, rtol=1e-10)
    assert "C(PSI, contr.treatment(1))[T.0]" in _run("summary", root / "s.lkm").output
    spector.drop(columns="GRADE").iloc[::-1].to_csv(root / "new.csv", index=False)
    out = _run("predict", root / "s.lkm", root / "new.csv", "--proba").output
    table = pd.read_csv(pd.io.common.StringIO(out))
    np.testing.assert_allclose(table["proba_1"], python.predict_proba(spector.iloc[::-1])[:, 1],
                               rtol=1e-12)
    scored = _run("evaluate", root / "s.lkm", root / "spector.csv").output
    assert "rows:      32" in scored


def test_ordinal_and_multinomial_formulas_with_weights_and_clusters(files):
    root, _, ucla = files
    formula = "apply ~ pared + public + center(gpa)"
    _run("fit", root / "ucla.csv", "--formula", formula, "--order", ORDER, "--weights", "w",
         "--clusters", "school", "-o", root / "o.lkm")
    ordered = ucla.assign(apply=pd.Categorical(ucla["apply"], ORDER.split(","), ordered=True))
    python = lk.ologit(formula, ordered, sample_weight="w", clusters="school")
    saved = lk.load(root / "o.lkm")
    for cov_type in ("nonrobust", "cluster"):
        pd.testing.assert_frame_equal(saved.summary(cov_type=cov_type).table,
                                      python.summary(cov_type=cov_type).table,
                                      check_exact=False, rtol=1e-10)
    _run("fit", root / "ucla.csv", "--formula", "apply ~ pared + gpa", "-o", root / "m.lkm")
    assert len(lk.load(root / "m.lkm").classes_) == 3  # text, 3 classes: multinomial


def test_dropna_and_missing_values(files):
    root, spector, _ = files
    holes = spector.astype({"GPA": float})
    holes.loc[4, "GPA"] = np.nan
    holes.to_csv(root / "holes.csv", index=False)
    result = _run("fit", root / "holes.csv", "--formula", "GRADE ~ GPA + PSI", "-o",
                  root / "h.lkm", ok=False)
    assert result.exit_code == 2 and "column 'GPA' has a missing" in result.output
    assert "--dropna" in result.output
    result = _run("fit", root / "holes.csv", "--formula", "GRADE ~ GPA + PSI", "--dropna",
                  "-o", root / "h.lkm")
    assert "dropped 1 of 32 rows" in result.output
    np.testing.assert_allclose(lk.load(root / "h.lkm").coef_,
                               lk.logit("GRADE ~ GPA + PSI", spector.drop(index=4)).coef_,
                               rtol=1e-10)
    # a column the formula does not use may have holes
    spector.assign(OBS=np.nan).to_csv(root / "other.csv", index=False)
    _run("fit", root / "other.csv", "--formula", "GRADE ~ GPA", "-o", root / "o.lkm")


@pytest.mark.parametrize("args, message", [
    (["--formula", "GRADE ~ GPA", "--target", "GRADE"], "exclude each other"),
    ([], "Missing option '--target' (or --formula"),
    (["--formula", "GRADE ~ GPA", "--features", "GPA"], "do not apply with --formula"),
    (["--formula", "GRADE ~ NOPE"], "no formula column 'NOPE'"),
    (["--formula", "GRADE ~ GPA - 1", "--kind", "ordinal"], "cut points"),
    (["--formula", "GRADE ~ GPA", "--kind", "multinomial"], "3 or more classes"),
    (["--formula", "GRADE ~ my_log(GPA)"], "uses the function my_log()"),
])
def test_refusals(files, args, message):
    root, _, _ = files
    result = _run("fit", root / "spector.csv", *args, "-o", root / "x.lkm", ok=False)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (root / "x.lkm").exists()


def test_unseen_level_at_predict(files):
    root, spector, _ = files
    _run("fit", root / "spector.csv", "--formula", "GRADE ~ GPA + C(PSI)", "-o",
         root / "s.lkm")
    spector.assign(PSI=[2] + [0] * 31).to_csv(root / "new.csv", index=False)
    result = _run("predict", root / "s.lkm", root / "new.csv", ok=False)
    assert result.exit_code == 2
    assert "C(PSI) has values not seen in training: ['2'] (first at row 0)" in result.output
    spector.drop(columns="GPA").to_csv(root / "lacks.csv", index=False)
    result = _run("predict", root / "s.lkm", root / "lacks.csv", ok=False)
    assert result.exit_code == 2 and "no feature column 'GPA'" in result.output
