"""End to end: ``dropoutrisk audit`` on a small synthetic set, and what its files hold."""

import json
import re

import pandas as pd
import pytest

from dropoutrisk.report import AUDIT_FILES

GROUPS = "gender,newly_arrived,special_support,in_care"
KEY_ENV = "DROPOUTRISK_PSEUDONYM_KEY"


@pytest.fixture(scope="module")
def audited(workspace, run, tmp_path_factory):
    """The shared workspace's bundle (trained on 2021-2022), audited on cohort 2024."""
    data, model = workspace["data"], workspace["model"]
    out = tmp_path_factory.mktemp("audit_cli") / "audit"
    code = run(["audit", "--model", model, "--data", data, "--cohorts", 2024, "--groups", GROUPS,
                "--capacity", 15, "--by", "school_id", "--n-boot", 100, "--out", out])
    assert code == 0
    ids = pd.read_parquet(data / "students.parquet", columns=["student_id"])["student_id"]
    return {"data": data, "model": model, "out": out, "ids": set(map(str, ids))}


def _written_text(folders):
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def test_audit_writes_its_files(audited):
    out = audited["out"]
    assert sorted(p.name for p in out.iterdir()) == sorted(AUDIT_FILES)
    doc = json.loads((out / "audit.json").read_text())
    assert doc["cohorts"] == [2024] and doc["trained_on_cohorts"] == [2021, 2022]
    assert doc["params"]["operating_point"] == "capacity 15 per school_id"
    assert doc["params"]["groups"] == GROUPS.split(",")
    assert {c["grouping"] for c in doc["by_group"]} == set(GROUPS.split(","))
    html = (out / "audit.html").read_text()
    assert html.count("<svg") == 3 * 4  # calibration, flag rate and TPR of each grouping
    assert html.index("id='verdict'") < html.index("<table")
    card = (out / "model_card.md").read_text()
    assert "never for sanctions, admission or grading" in card
    assert "Contributions are not causes" in card and "local recording practice" in card
    assert "Training cohorts: 2021, 2022" in card and "Out of time (cohorts 2024)" in card
    assert (out / "model_card.html").read_text().startswith("<!DOCTYPE html>")


def test_small_cells_never_appear(audited):
    doc = json.loads((audited["out"] / "audit.json").read_text())
    cells = doc["by_group"] + doc["by_intersection"]
    assert any(c["n"] == "<10" for c in cells)  # in_care is rare: some cells are small
    for c in cells:
        # published: at least 10 students, or none (an empty cell)
        assert c["suppressed"] or (isinstance(c["n"], int) and (c["n"] >= 10 or c["n"] == 0))
        if c["suppressed"]:
            assert c["n"] in ("<10", "suppressed") and c["flag_rate"] is None
    hidden = {(c["grouping"], c["group"]) for c in cells if c["suppressed"]}
    for d in doc["disparities"]:
        if (d["grouping"], d["group"]) in hidden:
            assert d["ratio"] is None and d["ratio_lo"] is None


def test_no_student_id_or_row_in_any_written_file(audited):
    ids = audited["ids"]
    pattern = re.compile(r"S\d{4}-\d{6}")  # the synthetic id format
    assert all(pattern.fullmatch(i) for i in list(ids)[:5])
    for path, text in _written_text([audited["out"], audited["model"]]):
        if path.suffix == ".skops":
            continue  # the model file itself: checked by the bundle's own tests
        found = set(pattern.findall(text)) & ids
        assert not found, f"{path.name} holds student ids {sorted(found)[:3]}"
    doc = json.loads((audited["out"] / "audit.json").read_text())

    # Aggregates only: the document holds the known tables of cells and ratios, keyed by
    # group, and calibration curves of at most n_bins points; nothing keyed by student.
    assert set(doc) == {"model_id", "manifest_sha256", "trained_on_cohorts", "cohorts", "weeks",
                        "days",
                        "horizon_days", "pseudonymised", "schema", "params", "rules", "overall",
                        "by_group", "by_intersection", "disparities", "calibration",
                        "findings", "suppression", "calibration_curves"}
    for table in ("by_group", "by_intersection", "disparities", "calibration", "findings",
                  "suppression"):
        for record in doc[table]:
            assert {"grouping", "group"} <= set(record)
            assert not {"student_id", "score", "label", "flag"} & set(record)
    n_bins = doc["params"]["n_bins"]
    assert all(len(c["observed"]) <= n_bins for c in doc["calibration_curves"])


def test_pseudonymise_needs_the_key_and_never_writes_it(audited, tmp_path, monkeypatch, run):
    args = ["audit", "--model", audited["model"], "--data", audited["data"], "--cohorts",
            2024, "--groups", "gender", "--n-boot", 20, "--pseudonymise"]
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert run([*args, "--out", tmp_path / "a"]) == 2
    assert not (tmp_path / "a").exists()
    key = "0123456789abcdef-secret-test-key"
    monkeypatch.setenv(KEY_ENV, key)
    assert run([*args, "--out", tmp_path / "b"]) == 0
    doc = json.loads((tmp_path / "b" / "audit.json").read_text())
    assert doc["pseudonymised"] is True
    for _, text in _written_text([tmp_path / "b"]):
        assert key not in text
        assert not re.search(r"S\d{4}-\d{6}", text)


def test_bad_inputs_exit_with_the_documented_codes(audited, tmp_path, run):
    base = ["--data", audited["data"], "--cohorts", 2024, "--out", tmp_path / "x"]
    assert run(["audit", "--model", tmp_path / "missing", "--groups", "gender", *base]) == 3
    assert run(["audit", "--model", audited["model"], "--groups", "shoe_size", *base]) == 2
    assert run(["audit", "--model", audited["model"], "--groups", "gender",
                "--threshold", 0.2, "--capacity", 3, *base]) == 2


def test_groups_may_be_any_students_column_by_its_header(workspace, run, tmp_path):
    """A column of the students table that is no feature, with an awkward header."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(workspace["data"], data)
    students = pd.read_parquet(data / "students.parquet")
    districts = ["Norr", "Söder", "Öster"]
    students[" Stadsdel (område)\t"] = [districts[i % 3] for i in range(len(students))]
    students.to_parquet(data / "students.parquet", index=False)
    out = tmp_path / "audit"
    assert run(["audit", "--model", workspace["model"], "--data", data, "--cohorts", 2024,
                "--groups", "Stadsdel (område),gender", "--n-boot", 20, "--out", out]) == 0
    doc = json.loads((out / "audit.json").read_text("utf-8"))
    assert doc["params"]["groups"] == ["Stadsdel (område)", "gender"]
    cells = [c for c in doc["by_group"] if c["grouping"] == "Stadsdel (område)"]
    assert {c["group"] for c in cells} == set(districts)
    assert "Stadsdel (område)" in (out / "audit.html").read_text("utf-8")


def test_audit_defaults_to_the_recorded_predict_configuration(workspace, run, tmp_path):
    data, model = workspace["data"], tmp_path / "model"
    assert run(["train", "--data", data, "--cohorts", "2021-2022", "--weeks", "6,20",
                "--n-estimators", "20", "--seed", "1", "--capacity", "12", "--by",
                "school_id", "--predict-weeks", "20", "--out", model]) == 0
    out = tmp_path / "audit"
    assert run(["audit", "--model", model, "--data", data, "--cohorts", 2024, "--groups",
                "gender", "--n-boot", 0, "--out", out]) == 0
    doc = json.loads((out / "audit.json").read_text())
    assert doc["weeks"] == [20]
    assert doc["params"]["operating_point"] == "capacity 12 per school_id"
    assert "recorded in the model bundle" in doc["params"]["operating_point_source"]


def test_an_old_bundle_is_audited_at_its_fallback_with_a_note(workspace, run, tmp_path):
    import shutil

    from dropoutrisk.models.bundle import MANIFEST_NAME

    model = tmp_path / "model"
    shutil.copytree(workspace["model"], model)
    manifest = json.loads((model / MANIFEST_NAME).read_text())
    manifest["params"].pop("predict")  # as written before the configuration was recorded
    (model / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    out = tmp_path / "audit"
    assert run(["audit", "--model", model, "--data", workspace["data"], "--cohorts", 2024,
                "--groups", "gender", "--n-boot", 0, "--out", out]) == 0
    doc = json.loads((out / "audit.json").read_text())
    assert doc["weeks"] == [6]  # the first training week
    assert doc["params"]["operating_point"] == "model default"
    assert "does not record predict's configuration" in doc["params"]["operating_point_source"]
