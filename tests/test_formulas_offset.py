"""Formula fits with an offset equal the matrix fits with the same offset.

Needs ``fit(..., offset=)`` and ``predict_proba(..., offset=)`` from the links/offsets
branch (helper A): this file fails on the formulas branch alone and passes once both are
merged.
"""

import numpy as np
import pandas as pd
import pytest

import logitkit as lk

pytest.importorskip("formulaic")


def _frame(n=300, seed=3):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n),
                          "region": rng.choice(["east", "north", "west"], size=n),
                          "exposure": rng.uniform(0.5, 4.0, size=n)})
    eta = -0.5 + 0.7 * frame.x1 + (frame.region == "west") + np.log(frame.exposure)
    frame["y"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame["grade"] = pd.Categorical.from_codes(np.digitize(eta + rng.logistic(size=n),
                                                           [0.0, 1.5]),
                                               ["low", "mid", "high"], ordered=True)
    frame["log_exposure"] = np.log(frame.exposure)
    return frame


def _matrix(frame):
    return pd.DataFrame({"x1": frame.x1,
                         "C(region)[T.north]": (frame.region == "north") * 1.0,
                         "C(region)[T.west]": (frame.region == "west") * 1.0})


@pytest.mark.parametrize("kind", ["logit", "ologit"])
def test_formula_offset_equals_matrix_offset(kind):
    frame = _frame()
    outcome = "y" if kind == "logit" else "grade"
    fit = getattr(lk, kind)
    by_name = fit(f"{outcome} ~ x1 + C(region)", frame, offset="log_exposure")
    by_array = fit(f"{outcome} ~ x1 + C(region)", frame, offset=np.log(frame.exposure))
    cls = lk.LogisticRegression if kind == "logit" else lk.OrdinalLogisticRegression
    matrix = cls().fit(_matrix(frame), frame[outcome], offset=frame.log_exposure.to_numpy())
    for model in (by_name, by_array):
        a, b = model.summary().table, matrix.summary().table
        np.testing.assert_allclose(a["coef"], b["coef"], rtol=1e-9)
        np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=1e-9)
    new = _frame(n=40, seed=9)
    np.testing.assert_allclose(by_name.predict_proba(new, offset=new.log_exposure),
                               matrix.predict_proba(_matrix(new), offset=new.log_exposure),
                               rtol=1e-10)
