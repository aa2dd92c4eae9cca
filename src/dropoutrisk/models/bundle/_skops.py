"""Model files: skops bytes, the trusted type list, and the unsafe joblib export."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dropoutrisk.errors import (
    ModelError,
    TamperedModelError,
    UntrustedModelError,
)

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
        names.add(type_name(cls))
    return sorted(names)


def type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def skops_bytes(obj: Any) -> bytes:
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


def load_skops(path: Path, extra_trusted: Sequence[str]) -> Any:
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


def untrusted_in(files: Mapping[str, bytes]) -> list[str]:
    import skops.io as sio

    allowed = set(trusted_types())
    found: set[str] = set()
    for name, data in files.items():
        if name.endswith(".skops"):
            found.update(sio.get_untrusted_types(data=data))
    return sorted(found - allowed)



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
