"""Model files: save a fitted estimator to one file and load it back, never with pickle.

A model file is a zip archive with exactly two members:

``metadata.json`` (deflated)
    ``format`` ("logitkit-model"), ``format_version`` (:data:`FORMAT_VERSION`),
    ``logitkit_version``, ``estimator`` (the class name), ``params`` (``get_params()``;
    a parameter added since the file was written, e.g. ``threshold``, takes its default),
    ``attributes`` (every fitted ``name_`` attribute), ``arrays`` (name -> dtype and shape
    of each array in ``arrays.npz``) and ``integrity`` (SHA-256 digests of the arrays and
    of the rest of the metadata). Values carry explicit type tags (``{"t": "int", "v": 3}``)
    so that labels of type str, int, float, bool and their NumPy scalar types come back
    exactly; floats are written with ``repr`` and so round-trip bit for bit.
``arrays.npz`` (stored)
    Every numeric array of the state (``coef_``, ``result_.params``, covariances, ...), one
    ``.npy`` member each, named by its place in the state. Label arrays (strings, objects)
    are written element by element, with tags, in the metadata.

A model fitted with a formula (:mod:`logitkit.formulas`) keeps its ``formula_``, a
:class:`~logitkit.formula_spec.FormulaSpec` of strings, numbers, lists and arrays; its
formula text is checked before it is ever evaluated (only columns, constants,
arithmetic, formulaic's transforms and NumPy's elementwise functions).

Loading checks the format number, the members, each array's dtype and shape against the
metadata and both digests before building anything; it only instantiates the estimator
and result classes listed here, so a file can never run code. Any failure raises
:class:`~logitkit.exceptions.ModelFileError`. Writing is atomic (:func:`atomic_write`).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from logitkit.encoding import ColumnEncoding, DesignEncoder
from logitkit.estimators import LogisticRegression, OrdinalLogisticRegression
from logitkit.exceptions import ModelFileError
from logitkit.families import LINKS
from logitkit.families.binary_link import INFORMATION
from logitkit.firth_estimator import FirthReport, FirthTests
from logitkit.fitting import FitResult
from logitkit.formula_spec import FormulaSpec
from logitkit.inference import InferenceData
from logitkit.separation import SeparationReport
from logitkit.solvers.report import SolverReport

__all__ = ["FORMAT_VERSION", "atomic_write", "load", "model_from_bytes", "model_to_bytes",
           "save_model"]

FORMAT = "logitkit-model"
FORMAT_VERSION = 1
_METADATA, _ARRAYS = "metadata.json", "arrays.npz"
_MAX_METADATA_BYTES = 64 * 2**20
_KEYS = {"format", "format_version", "logitkit_version", "estimator", "params", "attributes",
         "arrays", "integrity"}
_ESTIMATORS = {cls.__name__: cls for cls in (LogisticRegression, OrdinalLogisticRegression)}
_DATACLASSES = {cls.__name__: cls for cls in (FitResult, SolverReport, InferenceData,
                                              SeparationReport, DesignEncoder, ColumnEncoding,
                                              FormulaSpec, FirthReport, FirthTests)}
_ARRAY_KINDS = "biuf"  # numeric arrays: arrays.npz
_LABEL_KINDS = "UO"  # label arrays: element by element in metadata.json
_SCALAR_KINDS = "biufU"
_ATTRIBUTE = re.compile(r"[a-z][a-z0-9_]*_\Z")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError,
               OSError, ValueError, NotImplementedError, RuntimeError, KeyError, IndexError,
               OverflowError, UnicodeDecodeError)


# ------------------------------------------------------------------------- writing

def save_model(model, path) -> None:
    """Write a fitted estimator to ``path`` atomically (see the module docstring)."""
    data = model_to_bytes(model)
    with atomic_write(path) as fh:
        fh.write(data)


def model_to_bytes(model) -> bytes:
    """The model file's bytes; the same model always gives the same bytes."""
    from logitkit import __version__

    check_is_fitted(model)
    name = type(model).__name__
    if _ESTIMATORS.get(name) is not type(model):
        raise ValueError(f"cannot save a {name}; only {sorted(_ESTIMATORS)} can be saved")
    encoder = _Encoder()
    attributes = {k: v for k, v in vars(model).items() if _ATTRIBUTE.match(k)}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "logitkit_version": __version__,
        "estimator": name,
        "params": {k: encoder.encode(v, k) for k, v in model.get_params(deep=False).items()},
        "attributes": {k: encoder.encode(v, k) for k, v in sorted(attributes.items())},
        "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape)}
                   for k, a in sorted(encoder.arrays.items())},
    }
    meta["integrity"] = {"arrays_sha256": _arrays_digest(encoder.arrays),
                         "metadata_sha256": _metadata_digest(meta)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(_entry(_METADATA, zipfile.ZIP_DEFLATED),
                    json.dumps(meta, indent=1, sort_keys=True))
        zf.writestr(_entry(_ARRAYS, zipfile.ZIP_STORED), _npz_bytes(encoder.arrays))
    return out.getvalue()


@contextmanager
def atomic_write(path, mode: str = "wb", **open_kwargs) -> Iterator:
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    On any exception (KeyboardInterrupt included) the temporary file is removed and
    ``path`` is left as it was: never a half-written file.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(path.parent))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _entry(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    return info


def _npz_bytes(arrays: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, array in sorted(arrays.items()):
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            zf.writestr(_entry(f"{name}.npy", zipfile.ZIP_STORED), member.getvalue())
    return out.getvalue()


def _arrays_digest(arrays: dict) -> str:
    digest = hashlib.sha256()
    for name, array in sorted(arrays.items()):
        shape = ",".join(str(n) for n in array.shape)
        digest.update(f"{name}\0{array.dtype.str}\0{shape}\0".encode())
        digest.update(array.tobytes(order="C"))
    return digest.hexdigest()


def _metadata_digest(meta: dict) -> str:
    rest = {k: v for k, v in meta.items() if k != "integrity"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


class _Encoder:
    """Turns a state value into tagged JSON; numeric arrays are collected in ``arrays``."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value, path: str):
        if isinstance(value, np.generic):  # before float: np.float64 subclasses float
            if value.dtype.kind not in _SCALAR_KINDS:
                raise ValueError(f"cannot save {path}: NumPy scalar of dtype {value.dtype}")
            return {"t": "np", "dtype": value.dtype.str, "v": self.encode(value.item(), path)}
        if value is None:
            return {"t": "none"}
        if type(value) in (bool, int, str):
            return {"t": type(value).__name__, "v": value}
        if type(value) is float:
            return {"t": "float", "v": repr(value)}
        if isinstance(value, np.ndarray):
            return self._array(value, path)
        if type(value) in (list, tuple):
            return {"t": type(value).__name__,
                    "v": [self.encode(v, f"{path}.{i}") for i, v in enumerate(value)]}
        if type(value) is dict:
            return {"t": "dict", "v": [[self.encode(k, path), self.encode(v, f"{path}.{i}")]
                                       for i, (k, v) in enumerate(value.items())]}
        name = type(value).__name__
        if is_dataclass(value) and _DATACLASSES.get(name) is type(value):
            return {"t": "dataclass", "class": name,
                    "v": {f.name: self.encode(getattr(value, f.name), f"{path}.{f.name}")
                          for f in fields(value)}}
        raise ValueError(f"cannot save {path}: values of type {name} are not supported")

    def _array(self, value: np.ndarray, path: str):
        kind = value.dtype.kind
        if kind in _ARRAY_KINDS and value.dtype.fields is None:
            self.arrays[path] = value
            return {"t": "array", "ref": path}
        if kind in _LABEL_KINDS and value.ndim == 1:
            return {"t": "labels", "dtype": value.dtype.str,
                    "v": [self.encode(v, f"{path}.{i}") for i, v in enumerate(value)]}
        raise ValueError(f"cannot save {path}: array of dtype {value.dtype}, ndim {value.ndim}")


# ------------------------------------------------------------------------- loading

def load(path):
    """Load a model written by ``model.save(path)``; ``path`` may be a binary file object.

    Raises ModelFileError for anything that is not an intact model file of this format.
    """
    if hasattr(path, "read"):
        return model_from_bytes(path.read(), getattr(path, "name", "model file"))
    return model_from_bytes(Path(path).read_bytes(), str(path))


def model_from_bytes(data: bytes, source: str = "model file"):
    """Rebuild the estimator from a model file's bytes (no refit)."""
    meta_bytes, npz_bytes = _members(data, source)
    meta = _metadata(meta_bytes, source)
    arrays = _read_arrays(npz_bytes, meta["arrays"], source)
    if _arrays_digest(arrays) != meta["integrity"].get("arrays_sha256"):
        raise ModelFileError(f"{source}: the arrays do not match their SHA-256 digest; the "
                             "file is corrupted or was modified")
    try:
        model = _build(meta, _Decoder(arrays))
        _check_state(model)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError,
            RecursionError) as e:
        raise ModelFileError(
            f"{source}: the model state does not fit this logitkit (the file was written by "
            f"logitkit {meta['logitkit_version']}): {type(e).__name__}: {e}"
        ) from None
    return model


def _members(data: bytes, source: str) -> tuple[bytes, bytes]:
    """(metadata.json bytes, arrays.npz bytes), checking members and compression."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if sorted(infos) != sorted([_METADATA, _ARRAYS]) or len(zf.infolist()) != 2:
                raise ModelFileError(
                    f"{source}: not a logitkit model file: expected the members "
                    f"{[_METADATA, _ARRAYS]}, found {sorted(infos)[:5]}")
            meta_info, npz_info = infos[_METADATA], infos[_ARRAYS]
            if meta_info.file_size > _MAX_METADATA_BYTES:
                raise ModelFileError(f"{source}: {_METADATA} is implausibly large")
            if npz_info.compress_type != zipfile.ZIP_STORED or npz_info.file_size > len(data):
                raise ModelFileError(f"{source}: {_ARRAYS} is not stored as this format "
                                     "requires; the file is corrupted or was modified")
            return zf.read(meta_info), zf.read(npz_info)
    except ModelFileError:
        raise
    except _ZIP_ERRORS as e:
        raise ModelFileError(f"{source}: not a logitkit model file, or a truncated or "
                             f"corrupted one ({type(e).__name__}: {e})") from None


def _metadata(raw: bytes, source: str) -> dict:
    """Parsed metadata after the format, version, key and digest checks."""
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{source}: {_METADATA} is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a logitkit model file ({_METADATA} does not "
                             f"declare the format {FORMAT!r})")
    version, written_by = meta.get("format_version"), meta.get("logitkit_version")
    if version != FORMAT_VERSION:
        from logitkit import __version__

        raise ModelFileError(
            f"{source}: model format version {version!r} (written by logitkit {written_by}) "
            f"is not supported; this logitkit {__version__} reads format {FORMAT_VERSION}; "
            "refit the model or use the logitkit version that wrote it")
    if set(meta) != _KEYS or not isinstance(meta["integrity"], dict):
        raise ModelFileError(f"{source}: {_METADATA} has the keys {sorted(meta)}, expected "
                             f"{sorted(_KEYS)}")
    try:
        digest = _metadata_digest(meta)
    except (TypeError, ValueError, RecursionError):
        digest = None
    if digest != meta["integrity"].get("metadata_sha256"):
        raise ModelFileError(f"{source}: {_METADATA} does not match its SHA-256 digest; the "
                             "file is corrupted or was modified")
    return meta


def _array_spec(name, spec, source: str) -> tuple[np.dtype, tuple]:
    try:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(n) for n in spec["shape"])
        valid = (dtype.kind in _ARRAY_KINDS and dtype.fields is None and dtype.shape == ()
                 and isinstance(name, str) and all(n >= 0 for n in shape)
                 and all(type(n) is int for n in spec["shape"]))
    except (KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise ModelFileError(f"{source}: invalid array description for {name!r}: {spec!r}")
    return dtype, shape


def _read_arrays(raw: bytes, specs, source: str) -> dict[str, np.ndarray]:
    """Arrays of arrays.npz, each checked against its dtype and shape in the metadata."""
    if not isinstance(specs, dict):
        raise ModelFileError(f"{source}: the metadata's 'arrays' is not a mapping")
    expected = {name: _array_spec(name, spec, source) for name, spec in specs.items()}
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            wanted = {f"{name}.npy" for name in expected}
            if set(infos) != wanted or len(zf.infolist()) != len(wanted):
                raise ModelFileError(f"{source}: {_ARRAYS} holds other arrays than the "
                                     "metadata lists")
            for name, (dtype, shape) in expected.items():
                arrays[name] = _read_npy(zf, infos[f"{name}.npy"], dtype, shape, len(raw),
                                         f"{source}: array {name!r}")
    except ModelFileError:
        raise
    except _ZIP_ERRORS as e:
        raise ModelFileError(f"{source}: {_ARRAYS} is truncated or corrupted "
                             f"({type(e).__name__}: {e})") from None
    return arrays


def _read_npy(zf, info, dtype, shape, limit: int, where: str) -> np.ndarray:
    """Read one .npy member whose header must announce exactly ``dtype`` and ``shape``."""
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.compress_type != zipfile.ZIP_STORED or info.file_size > limit or nbytes > limit:
        raise ModelFileError(f"{where}: the member is not stored as this format requires")
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ModelFileError(f"{where}: unsupported .npy version {version}")
        found_shape, fortran, found_dtype = header
        if found_dtype != dtype or tuple(found_shape) != shape:
            raise ModelFileError(f"{where}: holds {found_dtype} {tuple(found_shape)}, the "
                                 f"metadata says {dtype} {shape}")
        if info.file_size - fp.tell() != nbytes:
            raise ModelFileError(f"{where}: has the wrong number of bytes")
        data = fp.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{where}: is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy(
        order="K")


class _Decoder:
    """Inverse of :class:`_Encoder`: tagged JSON (and the arrays) back to values."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def decode(self, node):
        tag = node["t"]
        if tag == "none":
            return None
        if tag in ("bool", "int", "str"):
            value = node["v"]
            if type(value).__name__ != tag:
                raise TypeError(f"a {tag} value holds {value!r}")
            return value
        if tag == "float":
            return float(_typed(node["v"], str))
        if tag == "np":
            dtype = np.dtype(_typed(node["dtype"], str))
            if dtype.kind not in _SCALAR_KINDS or dtype.fields is not None:
                raise TypeError(f"NumPy scalar of dtype {dtype}")
            return np.asarray(self.decode(node["v"]), dtype=dtype)[()]
        if tag in ("list", "tuple"):
            values = [self.decode(v) for v in _typed(node["v"], list)]
            return values if tag == "list" else tuple(values)
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in _typed(node["v"], list)}
        if tag == "array":
            return self.arrays[node["ref"]]
        if tag == "labels":
            return self._labels(node)
        if tag == "dataclass":
            cls = _DATACLASSES[node["class"]]
            values = _typed(node["v"], dict)
            # a field added later with a default (e.g. InferenceData.hc2_meat) may be absent
            required = {f.name for f in fields(cls) if f.default is MISSING}
            if not required <= set(values) <= {f.name for f in fields(cls)}:
                raise TypeError(f"{cls.__name__} has the fields {sorted(values)} in the file")
            return cls(**{k: self.decode(v) for k, v in values.items()})
        raise TypeError(f"unknown value tag {tag!r}")

    def _labels(self, node) -> np.ndarray:
        dtype = np.dtype(_typed(node["dtype"], str))
        values = [self.decode(v) for v in _typed(node["v"], list)]
        if dtype.kind == "U" and all(isinstance(v, str) for v in values):
            return np.array(values, dtype=dtype)
        if dtype.kind != "O":
            raise TypeError(f"label array of dtype {dtype}")
        array = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):
            array[i] = value
        return array


def _typed(value, kind: type):
    if type(value) is not kind:
        raise TypeError(f"expected a {kind.__name__}, found {type(value).__name__}")
    return value


def _build(meta: dict, decoder: _Decoder):
    cls = _ESTIMATORS[meta["estimator"]]
    params = {k: decoder.decode(v) for k, v in _typed(meta["params"], dict).items()}
    model = cls(**params)
    for name, node in _typed(meta["attributes"], dict).items():
        if not _ATTRIBUTE.match(name):
            raise ValueError(f"invalid attribute name {name!r}")
        setattr(model, name, decoder.decode(node))
    return model


def _check_state(model) -> None:
    """The fitted attributes that predict() and summary() need, with consistent shapes."""
    ordinal = isinstance(model, OrdinalLogisticRegression)
    needed = ["classes_", "coef_", "coef_names_", "n_features_in_", "encoder_", "result_",
              "inference_", "separation_", "target_name_",
              "thresholds_" if ordinal else "intercept_"]
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise ValueError(f"missing fitted attributes {missing}")
    K, d = len(model.classes_), len(model.coef_names_)
    threshold = getattr(model, "threshold", 0.5)
    if not (isinstance(threshold, float | int) and 0 < threshold < 1
            and (K == 2 or threshold == 0.5)):
        raise ValueError(f"threshold {threshold!r} is not in (0, 1), or not 0.5 for "
                         f"{K} classes")
    link, information = getattr(model, "link", "logit"), getattr(model, "information",
                                                                  "observed")
    if link not in LINKS or information not in INFORMATION or (
            K > 2 and link != "logit" and not ordinal):
        raise ValueError(f"link {link!r} / information {information!r} is not valid for "
                         f"{K} classes")
    rows = 1 if K == 2 else K
    shapes = ({"coef_": (d,), "thresholds_": (K - 1,)} if ordinal else
              {"coef_": (rows, d), "intercept_": (rows,)})
    for name, shape in shapes.items():
        value = getattr(model, name)
        if not isinstance(value, np.ndarray) or value.shape != shape:
            raise ValueError(f"{name} should have the shape {shape}")
    encoder = model.encoder_
    if model.classes_.ndim != 1 or K < 2:
        raise ValueError("classes_ should list at least two classes")
    if not (isinstance(model.result_, FitResult)
            and isinstance(model.inference_, InferenceData | None)
            and isinstance(model.separation_, SeparationReport | None)
            and isinstance(encoder, DesignEncoder | None)):
        raise ValueError("result_, inference_, separation_ or encoder_ has the wrong type")
    if encoder is not None and encoder.output_names != list(model.coef_names_):
        raise ValueError("encoder_ does not produce coef_names_")
    if model.n_features_in_ != (d if encoder is None else len(encoder.columns)):
        raise ValueError("n_features_in_ does not match the coefficients")
    formula = getattr(model, "formula_", None)
    if formula is not None and not (isinstance(formula, FormulaSpec)
                                    and list(formula.columns) == list(model.coef_names_)):
        raise ValueError("formula_ is not a formula spec whose columns are coef_names_")
