"""The model bundle: a folder with the model, its baselines and a manifest.

A bundle is plain files, so it can be copied, archived and audited without
dropoutrisk::

    model_dir/
        manifest.json          versions, catalogue, feature names, training-data
                               fingerprint, parameters, metrics, sha256 of every file
        model.skops            the fitted model (skops format, no pickle)
        baselines/<name>.skops fitted baselines, evaluated beside the model
        <name>.json            extra JSON documents (for example a drift profile)

Loading verifies, in this order, that every file listed in the manifest is
there, that its sha256 matches, that the manifest was written by compatible
versions (same major.minor of dropoutrisk, scikit-learn and LightGBM), and
that the model file holds only types on an explicit trusted list. Only then is
the model built.

Security
--------
skops rebuilds objects without running pickle, and refuses any type that is
not trusted. The list of trusted types is kept here in code
(:func:`trusted_types`), never read from the bundle: an attacker who edits
both a file and its hash in the manifest gets past the hash check, but not
past the type check. The hashes detect damage and careless edits; the type
list is the security boundary. Still, load only models you trust: a model
decides which students are flagged.

:func:`export_joblib` writes a pickle-based file for tools that need one.
Loading a pickle runs arbitrary code; never load one from an untrusted source.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._atomic import sha256_file
from dropoutrisk.errors import (
    IncompatibleModelError,
    MissingModelFileError,
    ModelError,
    TamperedModelError,
    UntrustedModelError,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "ModelBundle",
    "export_joblib",
    "fingerprint_frame",
    "load_bundle",
    "load_model",
    "save_model",
    "trusted_types",
]

#: The ``format`` field of every manifest.
BUNDLE_FORMAT = "dropoutrisk-model"
#: Bumped when the layout of the bundle changes in a way old readers cannot follow.
BUNDLE_FORMAT_VERSION = 1

MANIFEST_NAME = "manifest.json"
MODEL_NAME = "model.skops"
BASELINE_DIR = "baselines"

# distribution name -> manifest key; the first three must match in major.minor
_CHECKED_VERSIONS = ("dropoutrisk", "scikit-learn", "lightgbm")
_RECORDED_VERSIONS = ("numpy", "pandas", "scikit-learn", "lightgbm", "skops")

# Types skops does not trust by default but which dropoutrisk models are made of.
# LightGBM's Booster is rebuilt from its own text model format by the C++
# parser (Booster.__setstate__ -> LGBM_BoosterLoadModelFromString); no Python
# code from the file runs. OrderedDict holds the Booster's best_score.
_TRUSTED_EXTERNAL = (
    "collections.OrderedDict",
    "collections.defaultdict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    # a dtype is rebuilt from an empty, pickle-free .npy array (SimpleImputer._fit_dtype)
    "numpy.dtype",
)
# dropoutrisk's own classes, as (module, attribute); resolved lazily so that
# the list stays correct when a class moves between private modules.
_TRUSTED_OWN = (
    ("dropoutrisk.models._risk_model", "RiskModel"),
    ("dropoutrisk.models._calibration", "PlattCalibrator"),
    ("dropoutrisk.models._calibration", "IsotonicCalibrator"),
    ("dropoutrisk.models._input", "FeatureFrame"),
    ("dropoutrisk.models", "ABCRule"),
    ("dropoutrisk.models", "LogisticBaseline"),
    ("dropoutrisk.features._catalogue", "Catalogue"),
    ("dropoutrisk.features._catalogue", "Indicator"),
    ("dropoutrisk.features._catalogue", "Computation"),
)

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def trusted_types() -> list[str]:
    """Return the type names trusted when a model file is loaded.

    These are the types, beyond the plain Python, NumPy, SciPy and
    scikit-learn types that skops trusts by default, that a dropoutrisk model
    is made of. Anything else in a model file is refused (see
    :func:`load_model`'s ``trusted`` parameter to extend the list for your
    own estimators).

    Returns
    -------
    list of str
        Fully qualified type names, sorted.

    Examples
    --------
    >>> "lightgbm.basic.Booster" in trusted_types()
    True
    >>> "builtins.eval" in trusted_types()
    False
    """
    import importlib

    names = set(_TRUSTED_EXTERNAL)
    for module_name, attr in _TRUSTED_OWN:
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            continue
        names.add(_type_name(cls))
    return sorted(names)


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------- fingerprint


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """Return a sha256 fingerprint of a data frame's content.

    The fingerprint covers the column names, their dtypes and every value, in
    row order; it does not depend on the order of the columns. A non-default
    index is treated as columns. Nothing but the digest is returned, so a
    bundle records *which* data trained it without storing any row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training frame.

    Returns
    -------
    str
        ``"sha256:"`` followed by 64 hex digits.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1.0, None], "s": ["a", "b"]})
    >>> fingerprint_frame(a) == fingerprint_frame(a[["s", "x"]])
    True
    >>> fingerprint_frame(a) == fingerprint_frame(a.iloc[::-1])
    False
    >>> fingerprint_frame(a)[:7]
    'sha256:'
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"training_data must be a pandas DataFrame or a fingerprint string, "
            f"got {type(frame).__name__}."
        )
    if (
        not isinstance(frame.index, pd.RangeIndex)
        or frame.index.start != 0
        or frame.index.step != 1
    ):
        frame = frame.reset_index()
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError("Cannot fingerprint a frame with duplicate column names.")
    h = hashlib.sha256()
    h.update(f"dropoutrisk-frame-v1|rows={len(frame)}|".encode())
    for pos in sorted(range(len(names)), key=lambda i: names[i]):
        col = frame.iloc[:, pos]
        h.update(f"|col={names[pos]}|dtype={col.dtype}|".encode())
        h.update(_column_bytes(col))
    return "sha256:" + h.hexdigest()


def _column_bytes(col: pd.Series) -> bytes:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if pd.api.types.is_bool_dtype(col.dtype) and not col.isna().any():
        return col.to_numpy(dtype=np.uint8).tobytes()
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        values = col.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        return values.astype("<i8").tobytes()
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, values)  # one NaN bit pattern
        return values.astype("<f8").tobytes()
    # strings, dates as objects, mixed: one text token per cell, NA marked apart
    tokens = ["\x00NA" if _is_na(v) else _cell_text(v) for v in col.tolist()]
    return "\x1f".join(tokens).encode("utf-8", "surrogatepass")


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_text(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    return f"{type(value).__name__}:{value}"


# --------------------------------------------------------------------------- JSON helpers


def _jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types (NaN and infinities become ``None``)."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, enum.Enum):
        return _jsonable(obj.value)
    if isinstance(obj, dt.date | dt.datetime | pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, pd.DataFrame):
        return [_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series | pd.Index):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, set | frozenset):
        return sorted((_jsonable(v) for v in obj), key=repr)
    if isinstance(obj, Sequence):
        return [_jsonable(v) for v in obj]
    if callable(getattr(obj, "model_dump", None)):  # pydantic models (the catalogue)
        return _jsonable(obj.model_dump(mode="json"))
    for method in ("to_dict", "to_frame"):
        if callable(getattr(obj, method, None)):
            return _jsonable(getattr(obj, method)())
    return repr(obj)


def _dump_json(obj: Any) -> bytes:
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


# --------------------------------------------------------------------------- skops bytes


def _skops_bytes(obj: Any) -> bytes:
    """Serialise ``obj`` with skops, with byte-identical output for equal objects.

    skops names array files and memo ids after ``id()`` and stamps the zip
    entries with the current time; renumbering both in traversal order and
    fixing the timestamps makes the bytes, and so the model id, reproducible.
    """
    import skops.io as sio

    raw = sio.dumps(obj)
    with zipfile.ZipFile(io.BytesIO(raw)) as zin:
        schema = json.loads(zin.read("schema.json"))
        ids: dict[Any, int] = {}
        files: dict[str, str] = {}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("__loader__") == "SetNode" and isinstance(node.get("content"), list):
                    node["content"].sort(key=_without_ids)  # set order follows the hash seed
                if "__loader__" in node:
                    if "__id__" in node:  # ids start at 1: skops treats 0 as "no id"
                        node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
                    name = node.get("file")
                    if isinstance(name, str):
                        suffix = Path(name).suffix
                        node["file"] = files.setdefault(name, f"{len(files) + 1:06d}{suffix}")
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zout:
            entries = [("schema.json", json.dumps(schema, indent=2).encode("utf-8"))]
            entries += [(new, zin.read(old)) for old, new in files.items()]
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zout.writestr(info, data, compresslevel=6)
    return out.getvalue()


def _without_ids(node: Any) -> str:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "__id__"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(node), sort_keys=True)


def _load_skops(path: Path, extra_trusted: Sequence[str]) -> Any:
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a damaged zip or schema
        raise TamperedModelError(
            f"Model file '{path.name}' in {path.parent} cannot be read as a skops file "
            f"({type(exc).__name__}: {exc}). The bundle is damaged: save or train the model again.",
            path=str(path),
        ) from exc
    allowed = set(trusted_types()) | set(extra_trusted)
    refused = sorted(set(found) - allowed)
    if refused:
        raise UntrustedModelError(
            f"Model file '{path.name}' in {path.parent} contains types that are not trusted: "
            f"{', '.join(refused)}. dropoutrisk loads only its own model types. If you built "
            "this model yourself and trust these types, pass them as "
            "load_model(..., trusted=[...]); otherwise do not load it.",
            path=str(path),
        )
    try:
        return sio.load(path, trusted=sorted(set(found)))
    except Exception as exc:
        raise ModelError(
            f"Model file '{path.name}' in {path.parent} could not be loaded "
            f"({type(exc).__name__}: {exc}). Train the model again with this installation.",
            path=str(path),
        ) from exc


# --------------------------------------------------------------------------- versions


def _installed_versions() -> dict[str, str]:
    # the package is always imported before its submodules; importing it here by
    # name would make models depend on every layer the package re-exports
    package = sys.modules[__name__.split(".")[0]]
    versions = {"python": platform.python_version(), "dropoutrisk": package.__version__}
    for dist in _RECORDED_VERSIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            versions[dist] = "not installed"
    return versions


def _major_minor(version: Any) -> tuple[int, int] | None:
    match = re.match(r"^\s*(\d+)\.(\d+)", str(version))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _check_versions(manifest: Mapping[str, Any], folder: Path) -> None:
    saved = manifest.get("versions")
    if not isinstance(saved, Mapping):
        raise IncompatibleModelError(
            f"The manifest of the model at {folder} records no package versions, so "
            "dropoutrisk cannot tell whether it is safe to load. Train the model again.",
            path=str(folder),
        )
    here = _installed_versions()
    mismatched = [
        name
        for name in _CHECKED_VERSIONS
        if _major_minor(saved.get(name)) is None
        or _major_minor(saved.get(name)) != _major_minor(here[name])
    ]
    if mismatched:
        then = ", ".join(f"{n} {saved.get(n, 'unknown')}" for n in mismatched)
        now = ", ".join(f"{n} {here[n]}" for n in mismatched)
        pins = " ".join(
            f"'{n}=={'.'.join(map(str, _major_minor(saved.get(n)) or ()))}.*'"
            for n in mismatched
            if _major_minor(saved.get(n))
        )
        fix = "Fix: retrain the model with this installation (dropoutrisk train ...)"
        fix += f", or install the versions it was saved with: pip install {pins}." if pins else "."
        raise IncompatibleModelError(
            f"The model at {folder} was saved with {then}; this installation has {now}. "
            "Models load only under the same major.minor versions of dropoutrisk, "
            f"scikit-learn and lightgbm, because their internals change between minor releases. {fix}",
            path=str(folder),
        )


# --------------------------------------------------------------------------- save


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    training_data: pd.DataFrame | str | None = None,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    baselines: Mapping[str, Any] | None = None,
    catalogue: Any = None,
    extra: Mapping[str, Any] | None = None,
    created_at: dt.datetime | str | None = None,
    format: str = "skops",
) -> Path:
    """Save a fitted model as a bundle folder, atomically.

    The folder is written next to ``path`` under a temporary name and renamed
    into place only when every file is written, so a reader never sees a
    half-written bundle. An existing bundle at ``path`` is replaced only on
    success; an existing folder that is not a bundle is never touched.

    Parameters
    ----------
    model : estimator
        A fitted estimator, usually a :class:`~dropoutrisk.models.RiskModel`.
    path : path-like
        The bundle folder.
    training_data : DataFrame or str, optional
        The training frame, of which only a fingerprint is kept (see
        :func:`fingerprint_frame`), or a fingerprint computed before.
    metrics : mapping, optional
        Evaluation metrics (JSON-able; NaN is stored as ``null``).
    params : mapping, optional
        Training parameters; defaults to ``model.get_params()``.
    baselines : mapping of str to estimator, optional
        Fitted baselines (for example ``{"abc_rule": ..., "logistic": ...}``),
        saved beside the model so that evaluations can report them.
    catalogue : object, optional
        The indicator catalogue; defaults to ``model.catalogue`` when present.
        Stored in the manifest as JSON.
    extra : mapping of str to JSON-able, optional
        Further documents, each written as ``<name>.json`` and hashed (for
        example a drift profile).
    created_at : datetime or str, optional
        Overrides the creation time (UTC) for reproducible bytes.
    format : {"skops"}
        The serialisation format. Only skops, which needs no pickle, is
        written into bundles; see :func:`export_joblib` for a pickle.

    Returns
    -------
    pathlib.Path
        The bundle folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> _ = save_model(model, folder, metrics={"roc_auc": 1.0},
    ...                created_at="2025-01-01T00:00:00+00:00")
    >>> sorted(p.name for p in folder.iterdir())
    ['manifest.json', 'model.skops']
    >>> load_model(folder).predict([[2.5]]).tolist()
    [1]
    """
    if format != "skops":
        raise ValueError(
            f"format={format!r} is not supported: bundles are written with 'skops', which "
            "loads without running pickle. Use export_joblib() for a pickle file."
        )
    target = Path(path)
    _check_replaceable(target)
    if baselines:
        for name in baselines:
            _check_name(name, "baselines")
    if extra:
        for name in extra:
            _check_name(name, "extra")
            if name == "manifest":
                raise ValueError("extra may not use the name 'manifest'.")

    model_bytes = _skops_bytes(model)
    files: dict[str, bytes] = {MODEL_NAME: model_bytes}
    baseline_files: dict[str, str] = {}
    for name, estimator in sorted((baselines or {}).items()):
        rel = f"{BASELINE_DIR}/{name}.skops"
        files[rel] = _skops_bytes(estimator)
        baseline_files[name] = rel
    extra_files: dict[str, str] = {}
    for name, document in sorted((extra or {}).items()):
        rel = f"{name}.json"
        files[rel] = _dump_json(document)
        extra_files[name] = rel

    untrusted = _untrusted_in(files)
    if untrusted:
        raise UntrustedModelError(
            f"Cannot save: the model holds types that load_model would refuse: "
            f"{', '.join(untrusted)}. Keep fitted attributes to NumPy arrays, plain Python "
            "values, scikit-learn estimators and the types listed by trusted_types().",
        )

    if catalogue is None:
        catalogue = getattr(model, "catalogue", None)
    if params is None and callable(getattr(model, "get_params", None)):
        params = model.get_params(deep=False)
    if isinstance(training_data, pd.DataFrame):
        training = {
            "fingerprint": fingerprint_frame(training_data),
            "n_rows": len(training_data),
            "columns": [str(c) for c in training_data.columns],
        }
    elif training_data is None:
        training = None
    else:
        training = {"fingerprint": str(training_data)}

    feature_names = getattr(model, "feature_names_in_", None)
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "model_id": hashlib.sha256(model_bytes).hexdigest()[:12],
        "model_class": _type_name(type(model)),
        "created_at": _timestamp(created_at),
        "serialization": "skops",
        "versions": _installed_versions(),
        "feature_names": list(feature_names) if feature_names is not None else None,
        "catalogue": catalogue,
        "training_data": training,
        "params": dict(params) if params is not None else {},
        "metrics": dict(metrics) if metrics is not None else {},
        "baselines": baseline_files,
        "extra": extra_files,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files[MANIFEST_NAME] = _dump_json(manifest)
    _write_folder(target, files)
    return target


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"{what} name {name!r} cannot be used as a file name: use letters, digits, "
            "'_', '-' and '.'."
        )


def _untrusted_in(files: Mapping[str, bytes]) -> list[str]:
    import skops.io as sio

    allowed = set(trusted_types())
    found: set[str] = set()
    for name, data in files.items():
        if name.endswith(".skops"):
            found.update(sio.get_untrusted_types(data=data))
    return sorted(found - allowed)


def _timestamp(created_at: dt.datetime | str | None) -> str:
    if created_at is None:
        stamp = dt.datetime.now(dt.UTC)
    elif isinstance(created_at, str):
        stamp = dt.datetime.fromisoformat(created_at)
    else:
        stamp = created_at
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _check_replaceable(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise FileExistsError(f"{target} exists and is not a folder; choose another path.")
    if target.is_dir() and any(target.iterdir()):
        manifest = target / MANIFEST_NAME
        is_bundle = False
        if manifest.is_file():
            with contextlib.suppress(ValueError, OSError):
                is_bundle = json.loads(manifest.read_text("utf-8")).get("format") == BUNDLE_FORMAT
        if not is_bundle:
            raise FileExistsError(
                f"{target} is a non-empty folder that is not a dropoutrisk model; it is left "
                "untouched. Choose an empty or new folder."
            )


def _write_folder(target: Path, files: Mapping[str, bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for rel, data in files.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        old = None
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.rmdir(old)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None:
                os.replace(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- load


@dataclasses.dataclass(frozen=True)
class ModelBundle:
    """A loaded, verified model bundle.

    Attributes
    ----------
    path : pathlib.Path
        The bundle folder.
    model : estimator
        The fitted model.
    manifest : mapping
        The manifest, read-only.
    baselines : mapping of str to estimator
        The fitted baselines saved with the model.
    extra : mapping of str to JSON
        The extra documents saved with the model.
    """

    path: Path
    model: Any
    manifest: Mapping[str, Any]
    baselines: Mapping[str, Any]
    extra: Mapping[str, Any]

    @property
    def model_id(self) -> str:
        """The model id: the first 12 hex digits of the model file's sha256."""
        return str(self.manifest["model_id"])

    @property
    def manifest_sha256(self) -> str:
        """The sha256 of ``manifest.json`` as it is on disk."""
        return sha256_file(self.path / MANIFEST_NAME)

    @property
    def feature_names(self) -> list[str] | None:
        """The feature names the model was trained on."""
        names = self.manifest.get("feature_names")
        return list(names) if names is not None else None

    @property
    def metrics(self) -> dict[str, Any]:
        """The evaluation metrics recorded at save time."""
        return dict(self.manifest.get("metrics") or {})


def load_bundle(
    path: str | os.PathLike[str], *, trusted: Sequence[str] | None = None
) -> ModelBundle:
    """Load and verify a model bundle, with its baselines and manifest.

    Parameters
    ----------
    path : path-like
        The bundle folder written by :func:`save_model`.
    trusted : list of str, optional
        Extra type names to trust beyond :func:`trusted_types`, for models
        built from your own estimators. ``True`` is refused: dropoutrisk never
        trusts everything.

    Returns
    -------
    ModelBundle

    Raises
    ------
    MissingModelFileError
        The folder, the manifest or a file it lists is missing.
    TamperedModelError
        A file's sha256 differs from the manifest, or the manifest is damaged.
    IncompatibleModelError
        The bundle was written by another bundle format or by other
        major.minor versions of dropoutrisk, scikit-learn or lightgbm.
    UntrustedModelError
        A model file holds types that are not trusted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> folder = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "m",
    ...                     baselines={"logistic": model})
    >>> bundle = load_bundle(folder)
    >>> sorted(bundle.baselines), len(bundle.model_id)
    (['logistic'], 12)
    """
    if trusted is True or isinstance(trusted, str | bytes):
        raise TypeError(
            "trusted must be a list of fully qualified type names; dropoutrisk never "
            "trusts every type in a model file."
        )
    extra_trusted = [str(t) for t in (trusted or ())]
    folder = Path(path)
    manifest = _read_manifest(folder)
    _verify_files(folder, manifest)
    _check_versions(manifest, folder)
    model = _load_skops(folder / MODEL_NAME, extra_trusted)
    baselines = {
        name: _load_skops(folder / rel, extra_trusted)
        for name, rel in sorted(_section(manifest, "baselines", folder).items())
    }
    extra = {}
    for name, rel in sorted(_section(manifest, "extra", folder).items()):
        try:
            extra[name] = json.loads((folder / rel).read_text("utf-8"))
        except ValueError as exc:  # pragma: no cover - hashed, so only if written broken
            raise TamperedModelError(
                f"'{rel}' in {folder} is not valid JSON.", path=str(folder / rel)
            ) from exc
    return ModelBundle(
        path=folder,
        model=model,
        manifest=MappingProxyType(manifest),
        baselines=MappingProxyType(baselines),
        extra=MappingProxyType(extra),
    )


def load_model(path: str | os.PathLike[str], *, trusted: Sequence[str] | None = None) -> Any:
    """Load a fitted model from a bundle folder, after verifying it.

    The hashes of every file, the bundle format, the versions it was saved
    with and the types in the model file are all checked before the model is
    built; see :func:`load_bundle` for the errors. Load only models you trust.

    Parameters
    ----------
    path : path-like
        The bundle folder written by :func:`save_model` (or ``dropoutrisk train``).
    trusted : list of str, optional
        Extra type names to trust, beyond :func:`trusted_types`.

    Returns
    -------
    estimator

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> folder = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "m")
    >>> (load_model(folder).coef_ == model.coef_).all()
    np.True_
    >>> _ = (folder / "model.skops").write_bytes(b"not a model")
    >>> load_model(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.TamperedModelError: File 'model.skops' in ... does not match ...
    """
    return load_bundle(path, trusted=trusted).model


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise MissingModelFileError(
            f"No model folder at {folder}. Train one with 'dropoutrisk train' or pass the "
            "folder that save_model() wrote.",
            path=str(folder),
        )
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise MissingModelFileError(
            f"The model folder {folder} has no '{MANIFEST_NAME}', so it cannot be verified "
            "and is not loaded. Copy the whole folder, or train the model again.",
            path=str(manifest_path),
        )
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TamperedModelError(
            f"'{MANIFEST_NAME}' in {folder} is not valid JSON ({exc}). The bundle is damaged: "
            "restore it from a copy or train the model again.",
            path=str(manifest_path),
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise TamperedModelError(
            f"'{MANIFEST_NAME}' in {folder} is not a dropoutrisk model manifest "
            f"(expected format {BUNDLE_FORMAT!r}).",
            path=str(manifest_path),
        )
    version = manifest.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        raise IncompatibleModelError(
            f"The model at {folder} uses bundle format version {version!r}; this installation "
            f"reads version {BUNDLE_FORMAT_VERSION}. Install the dropoutrisk version that wrote "
            f"it ({manifest.get('versions', {}).get('dropoutrisk', 'unknown')}) or train the "
            "model again.",
            path=str(manifest_path),
        )
    files = manifest.get("files")
    if (
        not isinstance(files, dict)
        or MODEL_NAME not in files
        or not all(isinstance(v, str) for v in files.values())
    ):
        raise TamperedModelError(
            f"'{MANIFEST_NAME}' in {folder} does not list the sha256 of '{MODEL_NAME}'. "
            "The bundle is damaged: train the model again.",
            path=str(manifest_path),
        )
    return manifest


def _section(manifest: Mapping[str, Any], key: str, folder: Path) -> dict[str, str]:
    section = manifest.get(key) or {}
    files = manifest["files"]
    if not isinstance(section, dict) or not all(v in files for v in section.values()):
        raise TamperedModelError(
            f"'{MANIFEST_NAME}' in {folder}: section '{key}' names files without a sha256.",
            path=str(folder / MANIFEST_NAME),
        )
    return section


def _verify_files(folder: Path, manifest: Mapping[str, Any]) -> None:
    root = folder.resolve()
    for rel, expected in sorted(manifest["files"].items()):
        file = (folder / rel).resolve()
        if root not in file.parents:
            raise TamperedModelError(
                f"'{MANIFEST_NAME}' in {folder} lists '{rel}', which is outside the model folder.",
                path=str(folder / MANIFEST_NAME),
            )
        if not file.is_file():
            raise MissingModelFileError(
                f"File '{rel}' listed in the manifest of {folder} is missing. Copy the whole "
                "model folder, or train the model again.",
                path=str(folder / rel),
            )
        actual = sha256_file(file)
        if actual != expected:
            raise TamperedModelError(
                f"File '{rel}' in {folder} does not match its sha256 in the manifest "
                f"(expected {expected[:12]}..., found {actual[:12]}...): it was modified after "
                "the model was saved. Do not use it: restore the folder from a trusted copy or "
                "train the model again.",
                path=str(folder / rel),
            )


# --------------------------------------------------------------------------- joblib


def export_joblib(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` as a joblib (pickle) file, atomically. **Unsafe to load from others.**

    Some tools only read pickles. Loading a pickle runs whatever code the file
    contains, so load a joblib file only if you made it yourself or fully
    trust who did; prefer :func:`save_model` / :func:`load_model`, which
    verify hashes and versions and never unpickle.

    Parameters
    ----------
    model : estimator
        The fitted model.
    path : path-like
        The file to write (conventionally ``*.joblib``).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib, joblib
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> file = export_joblib(model, pathlib.Path(tempfile.mkdtemp()) / "model.joblib")
    >>> joblib.load(file).predict([[1.0]]).tolist()  # only because we wrote it ourselves
    [1]
    """
    import joblib

    from dropoutrisk._atomic import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        joblib.dump(model, tmp)
    return target
