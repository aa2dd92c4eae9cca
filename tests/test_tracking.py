"""MLflow tracking: what a run holds, and that no student-level row is in it.

One run is logged for the whole module (MLflow is slow to import and to set up
a SQLite store); every test reads it back.
"""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.models import RiskModel, save_model, trusted_types

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dropoutrisk.tracking import log_training_run

    root = tmp_path_factory.mktemp("tracking")
    rng = np.random.default_rng(1)
    n = 300
    ids = [f"SID{i:05d}Q" for i in range(n)]
    X = pd.DataFrame(
        {
            "attendance_rate": rng.uniform(0.5, 1, n),
            "failed_courses": rng.poisson(0.5, n).astype(float),
        },
        index=pd.Index(ids, name="student_id"),
    )
    y = (rng.random(n) < 1.2 - X["attendance_rate"]).astype(int)
    model = RiskModel(n_estimators=10, random_state=0, n_jobs=1).fit(X, y)
    bundle = save_model(model, root / "bundle", training_data=X, metrics={"roc_auc": 0.7})
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    uri = f"sqlite:///{(root / 'mlruns.db').as_posix()}"
    run_id = log_training_run(
        model,
        params={"n_estimators": 10, "lightgbm": {"num_leaves": 31}},
        metrics={
            "roc_auc": 0.7,
            "precision@10%": 0.4,
            "lead_time": {"median_weeks": 9},
            "undefined": float("nan"),
            "note": "text",
        },
        figures={"calibration curve": fig},
        bundle=bundle,
        tracking_uri=uri,
        artifact_location=root / "artifacts",
    )
    plt.close(fig)
    return {"root": root, "uri": uri, "run_id": run_id, "model": model, "X": X, "ids": ids}


def test_run_has_params_metrics_tags_and_plots(logged):
    from mlflow import MlflowClient

    client = MlflowClient(logged["uri"])
    run = client.get_run(logged["run_id"])
    assert run.data.params == {"n_estimators": "10", "lightgbm.num_leaves": "31"}
    assert run.data.metrics == {
        "roc_auc": 0.7,
        "precision_at_10pct": 0.4,
        "lead_time.median_weeks": 9.0,
    }
    assert run.data.tags["dropoutrisk.model_id"]
    assert run.data.tags["dropoutrisk.training_data"].startswith("sha256:")
    artifacts = {a.path for a in client.list_artifacts(logged["run_id"], "plots")}
    assert artifacts == {"plots/calibration_curve.png"}
    assert client.get_experiment(run.info.experiment_id).name == "dropoutrisk"


def test_no_student_id_is_anywhere_in_the_run(logged, leaked_ids):
    root = logged["root"]
    files = [root / "mlruns.db", *(p for p in (root / "artifacts").rglob("*") if p.is_file())]
    assert len(files) > 5
    assert not [p.name for p in files if "example" in p.name]  # no input example of any kind
    assert leaked_ids(logged["ids"], root / "mlruns.db", root / "artifacts") == []
    # the signature names the features and nothing more (and the scan does find text)
    assert leaked_ids(["attendance_rate"], root / "artifacts") == ["attendance_rate"]


def test_pyfunc_returns_probability_flag_tier_and_reasons(logged):
    import mlflow.pyfunc

    from dropoutrisk.tracking import PYFUNC_OUTPUT_COLUMNS

    mlflow.set_tracking_uri(logged["uri"])
    served = mlflow.pyfunc.load_model(f"runs:/{logged['run_id']}/pyfunc")
    X = logged["X"].head(25).reset_index(drop=True)
    out = served.predict(X)
    model = logged["model"]
    assert list(out.columns) == list(PYFUNC_OUTPUT_COLUMNS)
    explained = out["reason_1_code"].notna()
    assert explained.any() and not explained[~out["flag"]].any()  # flagged rows only
    # above the base value, the contributions sum to > 0: at least one risk-raising reason
    from dropoutrisk.explain import explain_students

    base = explain_students(model, X).base_value
    assert explained[out["flag"] & (out["probability"] > base + 1e-9)].all()
    assert out.loc[explained, "reason_1_en"].str.len().gt(10).all()
    np.testing.assert_array_equal(out["probability"].to_numpy(), model.predict_proba(X)[:, 1])
    assert out["tier"].tolist() == model.tier(X).astype(str).tolist()
    assert out["flag"].tolist() == model.flag(X).tolist()


def test_sklearn_flavour_is_skops_with_the_explicit_trusted_types(logged):
    import skops.io as sio
    import yaml

    skops_files = [
        p
        for p in (logged["root"] / "artifacts").rglob("model.skops")
        if (p.parent / "MLmodel").is_file()  # not the bundle copy beside the pyfunc
    ]
    assert len(skops_files) == 1
    mlmodel = yaml.safe_load((skops_files[0].parent / "MLmodel").read_text())
    flavour = mlmodel["flavors"]["sklearn"]
    assert flavour["serialization_format"] == "skops"
    assert flavour["skops_trusted_types"] == trusted_types()
    loaded = sio.load(skops_files[0], trusted=trusted_types())
    X = logged["X"]
    np.testing.assert_array_equal(loaded.predict_proba(X), logged["model"].predict_proba(X))
