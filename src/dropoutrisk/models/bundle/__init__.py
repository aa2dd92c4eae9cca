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

from dropoutrisk.models.bundle._fingerprint import fingerprint_frame
from dropoutrisk.models.bundle._layout import (
    BASELINE_DIR,
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    MANIFEST_NAME,
    MODEL_NAME,
)
from dropoutrisk.models.bundle._load import ModelBundle, load_bundle, load_model
from dropoutrisk.models.bundle._predict_settings import PredictSettings
from dropoutrisk.models.bundle._save import save_model
from dropoutrisk.models.bundle._skops import export_joblib, trusted_types

__all__ = [
    "BASELINE_DIR",
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "MANIFEST_NAME",
    "MODEL_NAME",
    "ModelBundle",
    "PredictSettings",
    "export_joblib",
    "fingerprint_frame",
    "load_bundle",
    "load_model",
    "save_model",
    "trusted_types",
]
