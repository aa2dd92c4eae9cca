"""The model bundle: exact round trip, hashes, versions, trusted types, atomic writes."""

import hashlib
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import dropoutrisk
from dropoutrisk.errors import (
    IncompatibleModelError,
    MissingModelFileError,
    ModelError,
    TamperedModelError,
    UntrustedModelError,
)
from dropoutrisk.features._catalogue import default_catalogue
from dropoutrisk.models import (
    RiskModel,
    export_joblib,
    fingerprint_frame,
    load_bundle,
    load_model,
    save_model,
    trusted_types,
)

STAMP = "2025-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def training():
    rng = np.random.default_rng(0)
    n = 400
    ids = [f"STU{i:06d}X" for i in range(n)]
    X = pd.DataFrame(
        {
            "attendance_rate": rng.uniform(0.5, 1, n),
            "failed_courses": rng.poisson(0.5, n).astype(float),
            "concerns": rng.poisson(0.3, n).astype(float),
        },
        index=pd.Index(ids, name="student_id"),
    )
    X.iloc[::17, 0] = np.nan
    y = (rng.random(n) < 1.2 - X["attendance_rate"].fillna(0.8)).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted(training):
    X, y = training
    return RiskModel(n_estimators=15, random_state=0, n_jobs=1).fit(X, y)


@pytest.fixture(scope="module")
def logistic(training):
    X, y = training
    return LogisticRegression().fit(X.fillna(0.8), y)


@pytest.fixture
def bundle_dir(tmp_path, fitted, training, logistic):
    X, _ = training
    return save_model(
        fitted,
        tmp_path / "model",
        training_data=X.reset_index(),
        metrics={"roc_auc": 0.71, "ece": np.float64(0.01), "undefined": float("nan")},
        baselines={"logistic": logistic},
        catalogue=default_catalogue(),
        extra={"profile": {"attendance_rate": {"missing": 0.06}}},
        created_at=STAMP,
    )


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def _write_manifest(folder, manifest):
    (folder / "manifest.json").write_text(json.dumps(manifest))


# ---------------------------------------------------------------- round trip


def test_predictions_identical_after_save_and_load(bundle_dir, fitted, training):
    X, _ = training
    loaded = load_model(bundle_dir)
    assert type(loaded) is RiskModel
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.decision_function(X), fitted.decision_function(X))
    assert loaded.tier(X).tolist() == fitted.tier(X).tolist()
    assert loaded.flag(X, capacity=10).tolist() == fitted.flag(X, capacity=10).tolist()


def test_baselines_and_extra_come_back(bundle_dir, logistic, training):
    X, _ = training
    bundle = load_bundle(bundle_dir)
    np.testing.assert_array_equal(
        bundle.baselines["logistic"].predict_proba(X.fillna(0.8)),
        logistic.predict_proba(X.fillna(0.8)),
    )
    assert bundle.extra == {"profile": {"attendance_rate": {"missing": 0.06}}}
    assert bundle.model_id == _manifest(bundle_dir)["model_id"]
    assert (
        bundle.manifest_sha256
        == hashlib.sha256((bundle_dir / "manifest.json").read_bytes()).hexdigest()
    )


def test_load_model_is_public_at_top_level(bundle_dir):
    assert dropoutrisk.load_model is load_model
    assert "load_model" in dropoutrisk.__all__


# ---------------------------------------------------------------- manifest


def test_every_file_is_hashed(bundle_dir):
    manifest = _manifest(bundle_dir)
    on_disk = {
        p.relative_to(bundle_dir).as_posix()
        for p in bundle_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert (
        on_disk
        == set(manifest["files"])
        == {
            "model.skops",
            "baselines/logistic.skops",
            "profile.json",
        }
    )
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((bundle_dir / rel).read_bytes()).hexdigest() == digest
    assert manifest["model_id"] == manifest["files"]["model.skops"][:12]


def test_manifest_records_versions_catalogue_data_params_metrics(bundle_dir, training):
    X, _ = training
    m = _manifest(bundle_dir)
    assert m["format"] == "dropoutrisk-model" and m["format_version"] == 1
    assert set(m["versions"]) == {
        "python",
        "dropoutrisk",
        "numpy",
        "pandas",
        "pyarrow",
        "scikit-learn",
        "lightgbm",
        "skops",
        "duckdb",
        "shap",
    }
    assert m["versions"]["dropoutrisk"] == dropoutrisk.__version__
    assert m["feature_names"] == ["attendance_rate", "failed_courses", "concerns"]
    assert {i["name"] for i in m["catalogue"]["indicators"]} >= {"attendance_rate"}
    assert m["training_data"]["fingerprint"] == fingerprint_frame(X.reset_index())
    assert m["training_data"]["n_rows"] == len(X)
    assert m["params"]["n_estimators"] == 15 and m["params"]["random_state"] == 0
    assert m["metrics"] == {"roc_auc": 0.71, "ece": 0.01, "undefined": None}
    assert m["created_at"] == STAMP
    assert m["model_class"] == "dropoutrisk.models._risk_model.RiskModel"


def test_no_training_row_is_stored(bundle_dir, training):
    X, _ = training
    blob = b"".join(p.read_bytes() for p in bundle_dir.rglob("*") if p.is_file())
    # the skops files are deflated: check their uncompressed entries too
    import zipfile

    for p in bundle_dir.rglob("*.skops"):
        with zipfile.ZipFile(p) as z:
            blob += b"".join(z.read(n) for n in z.namelist())
    for sid in X.index[:50]:
        assert sid.encode() not in blob


def test_same_model_gives_identical_bytes(tmp_path, fitted, training):
    X, _ = training
    a = save_model(fitted, tmp_path / "a", training_data=X, created_at=STAMP)
    b = save_model(fitted, tmp_path / "b", training_data=X, created_at=STAMP)
    for name in ("model.skops", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


# ---------------------------------------------------------------- verification


def test_tampered_model_file_is_refused_and_named(bundle_dir):
    path = bundle_dir / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TamperedModelError, match=r"File 'model\.skops' in .* does not match"):
        load_model(bundle_dir)


def test_tampered_baseline_is_refused_and_named(bundle_dir):
    (bundle_dir / "baselines" / "logistic.skops").write_bytes(b"PK junk")
    with pytest.raises(TamperedModelError, match=r"'baselines/logistic\.skops'"):
        load_bundle(bundle_dir)


def test_missing_manifest(bundle_dir):
    (bundle_dir / "manifest.json").unlink()
    with pytest.raises(MissingModelFileError, match="has no 'manifest.json'"):
        load_model(bundle_dir)


def test_missing_listed_file(bundle_dir):
    (bundle_dir / "profile.json").unlink()
    with pytest.raises(MissingModelFileError, match=r"File 'profile\.json' listed in the manifest"):
        load_bundle(bundle_dir)


def test_missing_folder(tmp_path):
    with pytest.raises(MissingModelFileError, match="No model folder"):
        load_model(tmp_path / "nowhere")


def test_damaged_manifest(bundle_dir):
    (bundle_dir / "manifest.json").write_text("{not json")
    with pytest.raises(TamperedModelError, match="not valid JSON"):
        load_model(bundle_dir)


def test_manifest_listing_a_path_outside_the_folder(bundle_dir):
    m = _manifest(bundle_dir)
    m["files"]["../elsewhere"] = "0" * 64
    _write_manifest(bundle_dir, m)
    with pytest.raises(TamperedModelError, match="outside the model folder"):
        load_model(bundle_dir)


@pytest.mark.parametrize("package", ["scikit-learn", "lightgbm", "dropoutrisk"])
def test_other_minor_version_is_incompatible(bundle_dir, package):
    m = _manifest(bundle_dir)
    m["versions"][package] = "0.0.1"
    _write_manifest(bundle_dir, m)
    with pytest.raises(IncompatibleModelError) as info:
        load_model(bundle_dir)
    message = str(info.value)
    assert f"{package} 0.0.1" in message
    assert "retrain" in message and f"pip install '{package}==0.0.*'" in message


def test_patch_version_difference_is_accepted(bundle_dir, fitted, training):
    X, _ = training
    m = _manifest(bundle_dir)
    major, minor, *_ = m["versions"]["scikit-learn"].split(".")
    m["versions"]["scikit-learn"] = f"{major}.{minor}.999"
    _write_manifest(bundle_dir, m)
    np.testing.assert_array_equal(load_model(bundle_dir).predict_proba(X), fitted.predict_proba(X))


def test_newer_bundle_format_is_incompatible(bundle_dir):
    m = _manifest(bundle_dir)
    m["format_version"] = 99
    _write_manifest(bundle_dir, m)
    with pytest.raises(IncompatibleModelError, match="bundle format version 99"):
        load_model(bundle_dir)


# ---------------------------------------------------------------- trusted types


class _Gadget:
    """A type no one has reviewed."""

    def __init__(self):
        self.payload = "x"


def test_untrusted_type_is_refused_even_with_a_matching_hash(bundle_dir):
    import skops.io as sio

    # An attacker who rewrites both the file and its hash passes the hash check;
    # the explicit type list still stops the load.
    data = sio.dumps({"model": _Gadget()})
    (bundle_dir / "model.skops").write_bytes(data)
    m = _manifest(bundle_dir)
    m["files"]["model.skops"] = hashlib.sha256(data).hexdigest()
    _write_manifest(bundle_dir, m)
    with pytest.raises(UntrustedModelError, match=r"test_bundle\._Gadget"):
        load_model(bundle_dir)
    loaded = load_model(bundle_dir, trusted=[f"{__name__}._Gadget"])
    assert loaded["model"].payload == "x"


def test_trusting_everything_is_refused(bundle_dir):
    with pytest.raises(TypeError, match="never trusts every type"):
        load_model(bundle_dir, trusted=True)


@pytest.mark.parametrize("estimator", ["RiskModel", "isotonic", "ABCRule", "LogisticBaseline"])
def test_every_shipped_estimator_saves_with_the_trusted_types(estimator, fitted, training):
    """Fitted attributes must be skops-safe: NumPy, builtins, sklearn or listed types."""
    import skops.io as sio

    from dropoutrisk import models

    X, y = training
    if estimator == "RiskModel":
        obj = fitted
    elif estimator == "isotonic":
        obj = RiskModel(n_estimators=5, calibration="isotonic", n_jobs=1, random_state=0).fit(X, y)
    else:
        frame = X.assign(
            failed_core_course=X["failed_courses"].clip(0, 1), concerns_90d=X["concerns"]
        )
        obj = getattr(models, estimator)().fit(frame, y)
    needed = set(sio.get_untrusted_types(data=sio.dumps(obj)))
    assert sorted(needed - set(trusted_types())) == []
    assert not any(name.startswith(("builtins.", "os.", "subprocess.")) for name in trusted_types())


def test_saving_an_untrusted_type_fails_before_writing(tmp_path):
    with pytest.raises(UntrustedModelError, match="load_model would refuse"):
        save_model(_Gadget(), tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- atomic writes


def test_existing_bundle_is_replaced_only_on_success(bundle_dir, logistic):
    before = {p.name: p.read_bytes() for p in bundle_dir.iterdir() if p.is_file()}
    with pytest.raises(UntrustedModelError):
        save_model(_Gadget(), bundle_dir)
    assert {p.name: p.read_bytes() for p in bundle_dir.iterdir() if p.is_file()} == before
    save_model(logistic, bundle_dir, created_at=STAMP)
    assert sorted(p.name for p in bundle_dir.iterdir()) == ["manifest.json", "model.skops"]
    assert sorted(p.name for p in bundle_dir.parent.iterdir()) == ["model"]  # no temp folders left


def test_a_folder_that_is_not_a_bundle_is_never_replaced(tmp_path, logistic):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a dropoutrisk model"):
        save_model(logistic, precious)
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_only_skops_is_written_into_bundles(tmp_path, logistic):
    with pytest.raises(ValueError, match="export_joblib"):
        save_model(logistic, tmp_path / "m", format="joblib")


def test_export_joblib_round_trip(tmp_path, fitted, training):
    import joblib

    X, _ = training
    path = export_joblib(fitted, tmp_path / "out" / "model.joblib")
    np.testing.assert_array_equal(joblib.load(path).predict_proba(X), fitted.predict_proba(X))
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.joblib"]


def test_errors_are_model_errors_and_picklable(bundle_dir):
    (bundle_dir / "manifest.json").unlink()
    with pytest.raises(ModelError) as info:
        load_model(bundle_dir)
    assert info.value.exit_code == 3
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_sees_any_changed_value(training):
    X, _ = training
    frame = X.reset_index()
    changed = frame.copy()
    changed.loc[5, "failed_courses"] += 1
    renamed = frame.copy()
    renamed.loc[3, "student_id"] = "OTHER"
    prints = {fingerprint_frame(f) for f in (frame, changed, renamed)}
    assert len(prints) == 3
    assert fingerprint_frame(frame) == fingerprint_frame(frame.copy())
    assert fingerprint_frame(frame) == fingerprint_frame(X)  # a named index counts as a column


def test_a_loaded_bundle_cannot_be_changed_through_what_it_returns(bundle_dir):
    bundle = load_bundle(bundle_dir)
    versions = bundle.manifest["versions"]
    versions["lightgbm"] = "0.0.0"
    bundle.metrics.clear()
    assert bundle.manifest["versions"]["lightgbm"] != "0.0.0"
    with pytest.raises(TypeError):
        bundle.manifest["model_id"] = "x"
    with pytest.raises(AttributeError, match="immutable"):
        bundle.model = None
    assert bundle.to_dict()["model_id"] == bundle.model_id
