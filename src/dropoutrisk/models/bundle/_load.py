"""load_bundle() and load_model(): verify files, hashes, versions and types, then build."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dropoutrisk._atomic import sha256_file
from dropoutrisk._provenance import package_versions
from dropoutrisk._result import Part, Result, copied, read_only
from dropoutrisk.errors import (
    IncompatibleModelError,
    MissingModelFileError,
    TamperedModelError,
)
from dropoutrisk.models.bundle._layout import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    CHECKED_VERSIONS,
    MANIFEST_NAME,
    MODEL_NAME,
)
from dropoutrisk.models.bundle._predict_settings import PredictSettings
from dropoutrisk.models.bundle._skops import load_skops


def _major_minor(version: Any) -> tuple[int, int] | None:
    match = re.match(r"^\s*(\d+)\.(\d+)", str(version))
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_versions(manifest: Mapping[str, Any], folder: Path) -> None:
    saved = manifest.get("versions")
    if not isinstance(saved, Mapping):
        raise IncompatibleModelError(
            f"The manifest of the model at {folder} records no package versions, so "
            "dropoutrisk cannot tell whether it is safe to load. Train the model again.",
            path=str(folder),
        )
    here = package_versions()
    mismatched = [
        name
        for name in CHECKED_VERSIONS
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




class ModelBundle(Result):
    """A loaded, verified model bundle; immutable.

    Attributes
    ----------
    path : pathlib.Path
        The bundle folder.
    model : estimator
        The fitted model.
    manifest : mapping
        The manifest (a read-only copy: editing it changes nothing here).
    baselines : mapping of str to estimator
        The fitted baselines saved with the model.
    extra : mapping of str to JSON
        The extra documents saved with the model (a read-only copy).
    """

    __slots__ = ("_baselines", "_extra", "_manifest", "_model", "_path")
    _remedy = "load the bundle again with load_bundle()."

    def __init__(self, *, path: str | os.PathLike[str], model: Any, manifest: Mapping[str, Any],
                 baselines: Mapping[str, Any], extra: Mapping[str, Any]) -> None:
        self._set(path=Path(path), model=model, manifest=copied(dict(manifest)),
                  baselines=dict(baselines), extra=copied(dict(extra)))

    def __repr__(self) -> str:
        return (f"ModelBundle(path={str(self._path)!r}, model_id={self.model_id!r}, "
                f"baselines={sorted(self._baselines)})")

    path = Part("The bundle folder.", convert=None)

    model = Part("The fitted model.", convert=None)

    manifest = Part("The manifest as saved (a read-only copy).", convert=read_only)

    baselines = Part(
        "The fitted baselines saved with the model, by name (read-only).", convert=MappingProxyType)

    extra = Part(
        "The extra JSON documents saved with the model, by name (a read-only copy).",
        convert=read_only)

    @property
    def model_id(self) -> str:
        """The model id: the first 12 hex digits of the model file's sha256."""
        return str(self._manifest["model_id"])

    @property
    def manifest_sha256(self) -> str:
        """The sha256 of ``manifest.json`` as it is on disk."""
        return sha256_file(self._path / MANIFEST_NAME)

    @property
    def predict_settings(self) -> PredictSettings:
        """The operating point and snapshot ``predict`` uses, as recorded at training.

        An older bundle that does not record them falls back to the model's
        default flags at the first training snapshot; ``note`` says so.
        """
        return PredictSettings.from_params(self._manifest.get("params"))

    @property
    def feature_names(self) -> list[str] | None:
        """The feature names the model was trained on."""
        names = self._manifest.get("feature_names")
        return list(names) if names is not None else None

    @property
    def metrics(self) -> dict[str, Any]:
        """The evaluation metrics recorded at save time (a copy)."""
        return copied(dict(self._manifest.get("metrics") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The manifest (plain JSON: versions, catalogue, fingerprints, metrics, hashes)."""
        return copied(self._manifest)


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
    >>> from dropoutrisk.models import save_model
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
    check_versions(manifest, folder)
    model = load_skops(folder / MODEL_NAME, extra_trusted)
    baselines = {
        name: load_skops(folder / rel, extra_trusted)
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
    >>> from dropoutrisk.models import save_model
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
