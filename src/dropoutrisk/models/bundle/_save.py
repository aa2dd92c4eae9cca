"""save_model(): write a bundle folder atomically, its manifest last."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dropoutrisk._atomic import write_folder
from dropoutrisk._provenance import package_versions
from dropoutrisk.errors import ParameterError, UntrustedModelError
from dropoutrisk.models.bundle._fingerprint import fingerprint_frame
from dropoutrisk.models.bundle._layout import (
    BASELINE_DIR,
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    MANIFEST_NAME,
    MODEL_NAME,
    check_name,
    dump_json,
)
from dropoutrisk.models.bundle._skops import skops_bytes, type_name, untrusted_in


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
    >>> from dropoutrisk.models import load_model
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
        raise ParameterError(parameter="format", message=
            f"format={format!r} is not supported: bundles are written with 'skops', which "
            "loads without running pickle. Use export_joblib() for a pickle file."
        )
    target = Path(path)
    check_replaceable(target)
    if baselines:
        for name in baselines:
            check_name(name, "baselines")
    if extra:
        for name in extra:
            check_name(name, "extra")
            if name == "manifest":
                raise ParameterError(parameter="extra", message=
                    "extra may not use the name 'manifest'.")

    model_bytes = skops_bytes(model)
    files: dict[str, bytes] = {MODEL_NAME: model_bytes}
    baseline_files: dict[str, str] = {}
    for name, estimator in sorted((baselines or {}).items()):
        rel = f"{BASELINE_DIR}/{name}.skops"
        files[rel] = skops_bytes(estimator)
        baseline_files[name] = rel
    extra_files: dict[str, str] = {}
    for name, document in sorted((extra or {}).items()):
        rel = f"{name}.json"
        files[rel] = dump_json(document)
        extra_files[name] = rel

    untrusted = untrusted_in(files)
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
        "model_class": type_name(type(model)),
        "created_at": _timestamp(created_at),
        "serialization": "skops",
        "versions": package_versions(),
        "feature_names": list(feature_names) if feature_names is not None else None,
        "catalogue": catalogue,
        "training_data": training,
        "params": dict(params) if params is not None else {},
        "metrics": dict(metrics) if metrics is not None else {},
        "model_checks": model_checks(model),
        "baselines": baseline_files,
        "extra": extra_files,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files[MANIFEST_NAME] = dump_json(manifest)
    write_folder(target, files)
    return target


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


def check_replaceable(target: Path) -> None:
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


def model_checks(model: Any) -> dict[str, Any] | None:
    """What the model found out about itself while training, for the manifest.

    The rounds it kept (``n_estimators_``) and how they were chosen, and its
    comparison with the baselines on held-out training students (aggregates
    only); None for a model that records neither.

    Examples
    --------
    >>> model_checks(object()) is None
    True
    """
    if not hasattr(model, "round_selection_"):
        return None
    return {
        "n_estimators": int(model.n_estimators_),
        "round_selection": copy.deepcopy(dict(model.round_selection_)),
        "baseline_comparison": copy.deepcopy(model.baseline_comparison_),
    }
