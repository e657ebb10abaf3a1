"""Model files: exact round trips, strict refusal of damaged files, atomic writes."""

import hashlib
import io
import json
import os
import stat
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logitkit as lk
from logitkit.inference import available_cov_types
from logitkit.io import (
    FORMAT_VERSION,
    _arrays_digest,
    atomic_write,
    model_from_bytes,
    model_to_bytes,
)

RNG = np.random.default_rng(0)


def _frame(n=80):
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "count": rng.integers(0, 5, size=n),
        "group": rng.choice(["a", "b", "c"], size=n),
        "flag": rng.choice([True, False], size=n),
    })


def _eta(frame):
    return frame["x"] + 0.3 * frame["count"] - 0.5 * (frame["group"] == "b") + frame["flag"]


def _binary():
    X = _frame()
    y = np.where(_eta(X) + RNG.logistic(size=len(X)) > 0.8, "yes", "no")
    return lk.LogisticRegression().fit(X, pd.Series(y, name="answer")), X


def _multinomial_int_classes():
    X = _frame()
    y = np.digitize(_eta(X) + RNG.logistic(size=len(X)), [0.0, 1.5]) * 10
    return lk.LogisticRegression(alpha=0.1, class_weight={0: 2.0, 10: 1.0, 20: 1.0}).fit(X, y), X


def _ordinal_probit():
    X = _frame()
    levels = ["low", "mid", "high"]
    codes = np.digitize(_eta(X) + RNG.normal(size=len(X)), [0.0, 1.5])
    y = pd.Categorical(np.array(levels)[codes], categories=levels, ordered=True)
    return lk.OrdinalLogisticRegression(link="probit").fit(X, y), X


def _array_bool_classes():
    X = RNG.normal(size=(50, 2))
    y = X[:, 0] + RNG.logistic(size=50) > 0
    return lk.LogisticRegression().fit(X, y), X


def _float_classes_separated():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    with pytest.warns(lk.PerfectSeparationWarning):
        return lk.LogisticRegression().fit(X, y), X


MODELS = [_binary, _multinomial_int_classes, _ordinal_probit, _array_bool_classes,
          _float_classes_separated]


@pytest.fixture(scope="module", params=MODELS, ids=lambda f: f.__name__.strip("_"))
def fitted(request):
    return request.param()


def _same_types(a, b):
    return [type(v) for v in a] == [type(v) for v in b]


def test_round_trip_is_exact(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.lkm"
    model.save(path)
    loaded = lk.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.classes_.dtype == model.classes_.dtype
    assert np.array_equal(loaded.classes_, model.classes_)
    assert _same_types(loaded.classes_, model.classes_)
    assert loaded.encoder_ == model.encoder_
    if model.encoder_ is not None:
        for new, old in zip(loaded.encoder_.columns, model.encoder_.columns, strict=True):
            assert _same_types(new.levels or (), old.levels or ())
    # bit for bit: the same bytes of probabilities, the same labels
    assert loaded.predict_proba(X).tobytes() == model.predict_proba(X).tobytes()
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert str(loaded.summary()) == str(model.summary())
    assert loaded.n_iter_ == model.n_iter_ and loaded.converged_ == model.converged_
    assert loaded.result_.report.history == model.result_.report.history
    if model.inference_ is not None:
        for cov_type in available_cov_types(model.inference_):  # HC2, HC3 for binary fits
            pd.testing.assert_frame_equal(loaded.covariance(cov_type), model.covariance(cov_type))
    assert model_to_bytes(loaded) == path.read_bytes()  # a re-save gives the same file


def test_separation_report_survives():
    model, _ = _float_classes_separated()
    loaded = model_from_bytes(model_to_bytes(model))
    assert loaded.separation_.separated and loaded.separation_.complete
    assert loaded.separation_.features == model.separation_.features
    assert np.array_equal(loaded.separation_.direction, model.separation_.direction)
    assert "(separated)" in str(loaded.summary())


def test_history_is_saved_when_present():
    model, _ = _binary()
    model.history_ = {"loss": [0.69, 0.51, np.float64(0.5)], "epoch": [1, 2, 3]}
    loaded = model_from_bytes(model_to_bytes(model))
    assert loaded.history_ == model.history_
    assert type(loaded.history_["loss"][2]) is np.float64


def test_unsupported_values_are_refused_on_save():
    model, _ = _binary()
    model.history_ = {"callback": print}
    with pytest.raises(ValueError, match="history_.0: values of type builtin_function"):
        model_to_bytes(model)
    with pytest.raises(Exception, match="not fitted"):
        model_to_bytes(lk.LogisticRegression())


def test_file_is_a_zip_of_json_and_npz():
    model, _ = _binary()
    with zipfile.ZipFile(io.BytesIO(model_to_bytes(model))) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "metadata.json"]
        meta = json.loads(zf.read("metadata.json"))
        arrays = np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False)
        assert set(arrays.files) == set(meta["arrays"])
        assert np.array_equal(arrays["coef_"], model.coef_)
    assert meta["format"] == "logitkit-model" and meta["format_version"] == FORMAT_VERSION
    assert meta["logitkit_version"] == lk.__version__
    assert meta["attributes"]["classes_"]["v"] == [{"t": "str", "v": "no"},
                                                   {"t": "str", "v": "yes"}]


# ----------------------------------------------------------------- damaged files

def _parts(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return json.loads(zf.read("metadata.json")), zf.read("arrays.npz")


def _digest(meta):
    rest = {k: v for k, v in meta.items() if k != "integrity"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _rebuild(meta, npz, redigest=True, extra=()):
    if redigest:
        meta["integrity"]["metadata_sha256"] = _digest(meta)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        zf.writestr(zipfile.ZipInfo("arrays.npz"), npz)
        for name in extra:
            zf.writestr(name, b"x")
    return out.getvalue()


def _npz(arrays):
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


@pytest.fixture(scope="module")
def good():
    model, X = _binary()
    return model_to_bytes(model), X


def test_truncated_files_are_refused(good):
    data, _ = good
    for size in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(lk.ModelFileError, match="not a logitkit model file|truncated"):
            model_from_bytes(data[:size])


def test_other_zip_members_are_refused(good):
    meta, npz = _parts(good[0])
    with pytest.raises(lk.ModelFileError, match="expected the members"):
        model_from_bytes(_rebuild(meta, npz, extra=["payload.py"]))


def test_other_format_versions_are_refused(good):
    meta, npz = _parts(good[0])
    meta["format_version"] = FORMAT_VERSION + 1
    meta["logitkit_version"] = "9.0"
    with pytest.raises(lk.ModelFileError, match=r"format version 2 \(written by logitkit 9.0\) "
                                                r"is not supported"):
        model_from_bytes(_rebuild(meta, npz))


def test_not_a_model_file(good):
    meta, npz = _parts(good[0])
    meta["format"] = "something-else"
    with pytest.raises(lk.ModelFileError, match="does not declare the format"):
        model_from_bytes(_rebuild(meta, npz))


def test_tampered_metadata_is_detected(good):
    meta, npz = _parts(good[0])
    meta["params"]["alpha"]["v"] = "0.5"
    with pytest.raises(lk.ModelFileError, match="metadata.json does not match its SHA-256"):
        model_from_bytes(_rebuild(meta, npz, redigest=False))


def test_tampered_arrays_are_detected(good):
    meta, npz = _parts(good[0])
    arrays = dict(np.load(io.BytesIO(npz)))
    arrays["coef_"] = arrays["coef_"] * 2
    with pytest.raises(lk.ModelFileError, match="arrays do not match their SHA-256 digest"):
        model_from_bytes(_rebuild(meta, _npz(arrays)))


def test_array_shapes_are_checked_against_the_metadata(good):
    meta, npz = _parts(good[0])
    arrays = dict(np.load(io.BytesIO(npz)))
    arrays["coef_"] = arrays["coef_"][:, :2]
    with pytest.raises(lk.ModelFileError, match=r"array 'coef_': holds float64 \(1, 2\), the "
                                                r"metadata says float64 \(1, 5\)"):
        model_from_bytes(_rebuild(meta, _npz(arrays)))


def test_pickled_arrays_are_refused(good):
    meta, npz = _parts(good[0])
    meta["arrays"]["coef_"]["dtype"] = "|O"
    with pytest.raises(lk.ModelFileError, match="invalid array description for 'coef_'"):
        model_from_bytes(_rebuild(meta, npz))


def test_unknown_classes_are_never_instantiated(good):
    meta, npz = _parts(good[0])
    meta["estimator"] = "os.system"
    with pytest.raises(lk.ModelFileError, match="model state does not fit"):
        model_from_bytes(_rebuild(meta, npz))


def test_files_without_the_hat_value_meats_load(good):
    """Files written before InferenceData kept HC2/HC3 meats load; those types say why."""
    meta, npz = _parts(good[0])
    fields = meta["attributes"]["inference_"]["v"]
    arrays = dict(np.load(io.BytesIO(npz)))
    for name in ("hc2_meat", "hc3_meat"):
        assert fields.pop(name) == {"t": "array", "ref": f"inference_.{name}"}
        del arrays[f"inference_.{name}"], meta["arrays"][f"inference_.{name}"]
    meta["integrity"]["arrays_sha256"] = _arrays_digest(arrays)
    npz = _npz(arrays)
    model = model_from_bytes(_rebuild(meta, npz))
    assert model.inference_.hc2_meat is None
    pd.testing.assert_frame_equal(model.covariance("HC1"),
                                  model_from_bytes(good[0]).covariance("HC1"))
    with pytest.raises(ValueError, match="model files from logitkit versions without HC2"):
        model.covariance("HC3")
    fields["information"] = fields.pop("meat")  # a required field missing is still refused
    with pytest.raises(lk.ModelFileError, match="InferenceData has the fields"):
        model_from_bytes(_rebuild(meta, npz))


def test_inconsistent_state_is_refused(good):
    meta, npz = _parts(good[0])
    meta["attributes"]["coef_names_"]["v"].pop()
    with pytest.raises(lk.ModelFileError, match=r"coef_ should have the shape \(1, 4\)"):
        model_from_bytes(_rebuild(meta, npz))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        lk.load(tmp_path / "absent.lkm")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupted_files_fail_cleanly(good, data):
    """Flipped, deleted or inserted bytes: a ModelFileError, or (bytes that no reader
    looks at, like zip timestamps) the very same model."""
    raw, X = good
    blob = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            blob[at] ^= data.draw(st.integers(1, 255))
        elif action == "delete":
            del blob[at]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        model = model_from_bytes(bytes(blob))
    except lk.ModelFileError:
        return
    assert model.predict_proba(X).tobytes() == model_from_bytes(raw).predict_proba(X).tobytes()


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["t", "v", "ref", "dtype", "class"]),
                                       inner, max_size=3), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(junk=_json, where=st.sampled_from(["params", "attributes", "arrays", "estimator",
                                          "classes_", "encoder_", "result_", "coef_"]))
def test_malformed_metadata_fails_cleanly(good, junk, where):
    """Well-formed, correctly digested metadata with nonsense inside: a ModelFileError, or
    (say, no params: the defaults, which this model has) the very same model."""
    raw, X = good
    meta, npz = _parts(raw)
    if where in meta:
        meta[where] = junk
    else:
        meta["attributes"][where] = junk
    try:
        model = model_from_bytes(_rebuild(meta, npz))
    except lk.ModelFileError:
        return
    assert model.predict_proba(X).tobytes() == model_from_bytes(raw).predict_proba(X).tobytes()


# ------------------------------------------------------------------ atomic writes

def test_interrupted_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.lkm"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as fh:
        fh.write(b"half a model")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.lkm"]


def test_saved_file_has_ordinary_permissions(tmp_path):
    model, _ = _binary()
    model.save(tmp_path / "m.lkm")
    mode = stat.S_IMODE(os.stat(tmp_path / "m.lkm").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
