"""``dropoutrisk train/predict --spec``: a wide table (UCI Student Performance layout) end to end."""

import json

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.models._train import SPEC_EXTRA, WIDE_SCHOOL_ID

SPEC = """
name = "uci-like"
audit_groups = ["sex", "address"]
drop = ["G2"]

[read]
sep = ";"

[label]
column = "G3"
rule = "< 10"

[features]
sex = { dimension = "background", actionable = false, kind = "categorical", categories = ["F", "M"] }
age = { dimension = "background", actionable = false }
address = { dimension = "background", actionable = false, kind = "categorical", categories = ["R", "U"] }
Mjob = { dimension = "background", actionable = false, kind = "categorical", categories = ["at_home", "health", "other", "services", "teacher"] }
studytime = { dimension = "academic", actionable = true, risk_direction = "lower" }
failures = { dimension = "academic", actionable = false, risk_direction = "higher", unit = "count" }
schoolsup = { dimension = "academic", actionable = true, kind = "binary", true_value = "yes" }
higher = { dimension = "cognitive", actionable = true, kind = "binary", true_value = "yes", risk_direction = "lower" }
Dalc = { dimension = "behavioural", actionable = true, risk_direction = "higher" }
absences = { dimension = "behavioural", actionable = true, risk_direction = "higher", unit = "count" }
"""
N = 300


def uci_like_table(n=N, seed=7):
    rng = np.random.default_rng(seed)
    failures = rng.choice([0, 0, 0, 1, 2, 3], n)
    absences = rng.poisson(4, n)
    studytime = rng.integers(1, 5, n)
    higher = rng.choice(["yes", "yes", "yes", "no"], n)
    logit = -1.5 + 1.1 * failures + 0.12 * absences - 0.5 * (studytime - 2) + 1.5 * (higher == "no")
    fail = rng.random(n) < 1 / (1 + np.exp(-logit))
    g3 = np.where(fail, rng.integers(0, 10, n), rng.integers(10, 21, n))
    return pd.DataFrame({
        "sex": rng.choice(["F", "M"], n), "age": rng.integers(15, 23, n),
        "address": rng.choice(["R", "U"], n),
        "Mjob": rng.choice(["at_home", "health", "other", "services", "teacher"], n),
        "studytime": studytime, "failures": failures,
        "schoolsup": rng.choice(["yes", "no"], n), "higher": higher,
        "Dalc": rng.integers(1, 6, n), "absences": absences,
        "G2": np.clip(g3 + rng.integers(-2, 3, n), 0, 20), "G3": g3,
    })

@pytest.fixture(scope="module")
def trained(tmp_path_factory, run):
    root = tmp_path_factory.mktemp("wide")
    table = uci_like_table()
    table.to_csv(root / "student.csv", sep=";", index=False)
    (root / "spec.toml").write_text(SPEC, encoding="utf-8")
    code = run(["train", "--data", root / "student.csv", "--spec", root / "spec.toml",
                "--out", root / "model", "--seed", 3, "--n-estimators", 30])
    return root, table, code


def test_train_writes_a_verified_bundle_with_spec_and_profile(trained):
    from dropoutrisk.models import load_bundle, load_model

    root, _, code = trained
    assert code == 0
    model = load_model(root / "model")
    assert set(model.feature_names_in_) == {"studytime", "failures", "schoolsup", "higher",
                                            "Dalc", "absences"}  # background is off by default
    bundle = load_bundle(root / "model")
    assert bundle.extra[SPEC_EXTRA]["feature_columns"][:2] == ["sex", "age"]
    assert bundle.extra[SPEC_EXTRA]["spec"]["label"] == {"column": "G3", "rule": "< 10",
                                                         "positive": []}
    assert "profile" in bundle.extra
    assert set(bundle.baselines) == {"logistic"}
    manifest = json.loads((root / "model" / "manifest.json").read_text("utf-8"))
    text = json.dumps(manifest)
    assert "skipped: the table has no column(s) attendance_rate" in text
    assert model.calibration_info_["strategy"] == "calibration_set"
    assert model.calibration_info_["n_calibration"] == round(0.2 * N)


def test_predict_scores_every_row_without_the_label(trained, tmp_path, run):
    root, table, _ = trained
    table.drop(columns=["G3"]).to_csv(tmp_path / "new.csv", sep=";", index=False)
    out = tmp_path / "scores.csv"
    code = run(["predict", "--model", root / "model", "--data", tmp_path / "new.csv",
                "--spec", root / "spec.toml", "--as-of", "2025-01-15", "--out", out])
    assert code == 0
    pred = pd.read_csv(out, dtype={"student_id": str})
    assert len(pred) == len(table)
    assert sorted(pred["student_id"], key=int) == [str(i) for i in range(len(table))]
    assert pred["probability"].between(0, 1, inclusive="neither").all()
    assert {"flag", "tier"} <= set(pred.columns)
    assert set(pred["school_id"]) == {WIDE_SCHOOL_ID}
    assert sorted(pred["rank_in_school"]) == list(range(1, len(table) + 1))
    assert (pred["as_of"] == "2025-01-15").all()
    # the riskier half by construction (failures) scores higher on average
    merged = pred.assign(row=pred["student_id"].astype(int)).set_index("row").sort_index()
    assert merged["probability"][table["failures"] >= 2].mean() > \
        merged["probability"][table["failures"] == 0].mean()
    record = json.loads((tmp_path / "scores.csv.run.json").read_text("utf-8"))
    assert str(tmp_path / "new.csv") in record["inputs"]


def test_predict_refuses_a_spec_with_other_feature_columns(trained, tmp_path, capsys, run):
    root, table, _ = trained
    other = SPEC.replace('Dalc = { dimension = "behavioural", actionable = true, '
                         'risk_direction = "higher" }\n', "")
    assert other != SPEC
    other = other.replace('drop = ["G2"]', 'drop = ["G2", "Dalc"]')
    (tmp_path / "other.toml").write_text(other, encoding="utf-8")
    table.to_csv(tmp_path / "t.csv", sep=";", index=False)
    out = tmp_path / "scores.csv"
    code = run(["predict", "--model", root / "model", "--data", tmp_path / "t.csv",
                "--spec", tmp_path / "other.toml", "--as-of", "2025-01-15", "--out", out])
    assert code == 2
    err = capsys.readouterr().err
    assert "Dalc" in err and "differ" in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "predict"])
def test_a_table_file_without_spec_is_refused(trained, tmp_path, capsys, command, run):
    root, _, _ = trained
    argv = [command, "--data", root / "student.csv", "--out"]
    if command == "train":
        argv += [tmp_path / "m", "--cohorts", "2020"]
    else:
        argv += [tmp_path / "s.csv", "--model", root / "model", "--as-of", "2025-01-15"]
    assert run(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--spec" in err and "is a file" in err


def test_train_without_cohorts_or_spec_is_refused(tmp_path, capsys, run):
    assert run(["train", "--data", tmp_path, "--out", tmp_path / "m"]) == 2
    assert "--cohorts is required" in " ".join(capsys.readouterr().err.split())


def test_out_of_fold_calibration_with_calib_share_zero(trained, tmp_path, run):
    from dropoutrisk.models import load_model

    root, _, _ = trained
    code = run(["train", "--data", root / "student.csv", "--spec", root / "spec.toml",
                "--out", tmp_path / "m", "--calib-share", 0, "--n-estimators", 20])
    assert code == 0
    info = load_model(tmp_path / "m").calibration_info_
    assert info["strategy"] != "calibration_set" and info["n_train"] == N


def test_predict_refuses_a_model_without_a_training_spec(trained, tmp_path, capsys, run):
    from dropoutrisk.features import build_wide_features, load_dataset_spec
    from dropoutrisk.models import RiskModel, save_model

    root, table, _ = trained
    spec = load_dataset_spec(root / "spec.toml")
    X, y, _, catalogue = build_wide_features(table, spec)
    model = RiskModel(n_estimators=10, catalogue=catalogue, random_state=0).fit(X, y)
    save_model(model, tmp_path / "plain", catalogue=catalogue)  # no dataset_spec extra
    code = run(["predict", "--model", tmp_path / "plain", "--data", root / "student.csv",
                "--spec", root / "spec.toml", "--as-of", "2025-01-15",
                "--out", tmp_path / "s.csv"])
    assert code == 3
    assert "not on a wide table" in " ".join(capsys.readouterr().err.split())
