"""``explain``, ``evaluate`` and ``audit`` on a wide table whose headers are awkward.

Headers with spaces, a tab, an apostrophe, non-ASCII letters and stray blanks
(``" Kön "``, ``"Daytime/evening attendance\\t"``) are read as they are; the
reasons, the audit's groups and the reports show the original names. A model
trained on a wide table given canonical tables, or the reverse, exits 3 and
says what to pass instead.
"""

import json

import numpy as np
import pandas as pd
import pytest

SPEC = """
name = "awkward"
id_column = "Elev id"
audit_groups = ["Åldersgrupp"]

[label]
column = "Target"
positive = ["Dropout"]

[features]
"Kön" = { dimension = "background", actionable = false, kind = "categorical" }
"Mother's qualification" = { dimension = "background", actionable = false, kind = "categorical" }
"Frånvaro (timmar)" = { dimension = "behavioural", actionable = true, risk_direction = "higher" }
"Daytime/evening attendance" = { dimension = "behavioural", actionable = false, kind = "binary", true_value = 1 }
"Curricular units 1st sem (approved)" = { dimension = "academic", actionable = true, risk_direction = "lower" }
"""
#: The headers as the file has them: stray blanks and a tab around two of them.
HEADERS = {"Kön": " Kön ", "Daytime/evening attendance": "Daytime/evening attendance\t"}
N = 400
#: The internal (safe) names of the features with awkward headers, never shown to a person.
SAFE = ("franvaro_timmar", "curricular_units_1st_sem_approved", "mother_s_qualification")


def awkward_table(n=N, seed=3):
    rng = np.random.default_rng(seed)
    absence = rng.gamma(2.0, 6.0, n).round(1)
    approved = rng.integers(0, 8, n)
    logit = -2.0 + 0.12 * absence - 0.45 * (approved - 4)
    dropout = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "Elev id": [f"E-{i:04d}" for i in range(n)],
        "Kön": rng.choice(["Flicka", "Pojke"], n),
        "Mother's qualification": rng.choice(["Grundskola", "Gymnasium", "Högskola"], n),
        "Frånvaro (timmar)": absence,
        "Daytime/evening attendance": rng.choice([0, 1], n, p=[0.2, 0.8]),
        "Curricular units 1st sem (approved)": approved,
        "Åldersgrupp": rng.choice(["16-17", "18-19", "20+"], n),
        "Target": np.where(dropout, "Dropout", "Graduate"),
    })
    return frame.rename(columns=HEADERS)


@pytest.fixture(scope="module")
def wide(tmp_path_factory, run):
    root = tmp_path_factory.mktemp("wide_commands")
    table = awkward_table()
    table.to_csv(root / "table.csv", index=False)
    (root / "spec.toml").write_text(SPEC, encoding="utf-8")
    assert run(["train", "--data", root / "table.csv", "--spec", root / "spec.toml",
                "--out", root / "model", "--seed", 1, "--n-estimators", 25]) == 0
    later = awkward_table(seed=4)  # the next intake, the same layout
    later.to_csv(root / "later.csv", index=False)
    return {"root": root, "table": root / "later.csv", "spec": root / "spec.toml",
            "model": root / "model", "frame": later}


def _flat(text):
    return " ".join(text.split())


def test_evaluate_a_wide_table(wide, tmp_path, capsys, run):
    out = tmp_path / "evaluation"
    code = run(["evaluate", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--out", out, "--n-boot", 50])
    stdout = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration.png", "comparison.json", "metrics.json", "report.html", "roc.png"]
    doc = json.loads((out / "metrics.json").read_text("utf-8"))
    assert doc["dataset_spec"] == "awkward" and doc["cohorts"] == []
    assert doc["n_rows"] == N and doc["n_students"] == N
    assert set(doc["metrics"]) == {"model", "logistic"}  # no ABC rule without its columns
    assert 0.6 < doc["metrics"]["model"]["roc_auc"] <= 1
    comparison = json.loads((out / "comparison.json").read_text("utf-8"))
    assert comparison["settings"]["reference"] == "logistic"
    assert "the wide table of spec 'awkward'" in stdout
    text = (out / "comparison.json").read_text("utf-8") + (out / "report.html").read_text("utf-8")
    assert not [s for s in wide["frame"]["Elev id"] if s in text]


def test_explain_a_wide_row_shows_the_original_headers(wide, tmp_path, run):
    frame = wide["frame"]
    student = frame.loc[frame["Frånvaro (timmar)"].idxmax(), "Elev id"]
    out = tmp_path / "student.json"
    assert run(["explain", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--as-of", "2025-01-15", "--student", student,
                "--lang", "en", "--out", out]) == 0
    doc = json.loads(out.read_text("utf-8"))
    assert doc["student_id"] == student
    sentences = [r["sentence"] for r in doc["reasons"]]
    assert any(s.startswith("Frånvaro (timmar): ") for s in sentences), sentences
    html_out = tmp_path / "student.html"
    assert run(["explain", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--as-of", "2025-01-15", "--student", student,
                "--out", html_out]) == 0
    html = html_out.read_text("utf-8")
    assert "Frånvaro (timmar)" in html
    for text in (" ".join(sentences), html):
        assert not [name for name in SAFE if name in text]


def test_explain_an_unknown_row_exits_2(wide, tmp_path, capsys, run):
    code = run(["explain", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--as-of", "2025-01-15", "--student", "E-9999",
                "--out", tmp_path / "r.html"])
    err = _flat(capsys.readouterr().err)
    assert code == 2 and "--student" in err and "E-9999" in err
    assert not (tmp_path / "r.html").exists()


def test_audit_groups_are_any_column_by_its_header(wide, tmp_path, run):
    out = tmp_path / "audit"
    # a background feature with stray blanks in its header, a categorical feature with an
    # apostrophe, and an audit-only column that is no feature at all
    groups = "Kön,Mother's qualification,Åldersgrupp"
    assert run(["audit", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--groups", groups, "--flag-rate", 0.2,
                "--n-boot", 50, "--out", out]) == 0
    doc = json.loads((out / "audit.json").read_text("utf-8"))
    assert doc["dataset_spec"] == "awkward"
    assert doc["params"]["groups"] == groups.split(",")
    assert {c["grouping"] for c in doc["by_group"]} == set(groups.split(","))
    assert {c["group"] for c in doc["by_group"] if c["grouping"] == "Kön"} == {"Flicka", "Pojke"}
    html = (out / "audit.html").read_text("utf-8")
    assert "Åldersgrupp" in html and "Kön" in html
    everything = "".join(p.read_text("utf-8") for p in out.iterdir())
    assert not [s for s in wide["frame"]["Elev id"] if s in everything]


def test_audit_group_that_is_no_column_exits_2_naming_it(wide, tmp_path, capsys, run):
    code = run(["audit", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--groups", "Kön,Skostorlek", "--n-boot", 0,
                "--out", tmp_path / "audit"])
    err = _flat(capsys.readouterr().err)
    assert code == 2 and "Skostorlek" in err and "Åldersgrupp" in err
    assert not (tmp_path / "audit").exists()


@pytest.mark.parametrize("command", ["evaluate", "audit", "explain", "predict"])
def test_a_wide_table_model_given_canonical_tables_exits_3(command, wide, workspace, tmp_path,
                                                           capsys, run):
    extra = {"evaluate": ["--cohorts", "2024", "--out", tmp_path / "out"],
             "audit": ["--cohorts", "2024", "--groups", "gender", "--out", tmp_path / "out"],
             "explain": ["--as-of", "2024-10-01", "--student", "S2024-000001",
                         "--out", tmp_path / "out.html"],
             "predict": ["--as-of", "2024-10-01", "--out", tmp_path / "out.parquet"]}[command]
    code = run([command, "--model", wide["model"], "--data", workspace["data"], *extra])
    err = _flat(capsys.readouterr().err)
    assert code == 3, err
    assert "Model problem" in err and "wide table" in err and "--spec SPEC.toml" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out")]


@pytest.mark.parametrize("command", ["evaluate", "audit", "explain", "predict"])
def test_a_canonical_model_given_a_wide_table_exits_3(command, wide, workspace, tmp_path,
                                                      capsys, run):
    extra = {"evaluate": ["--out", tmp_path / "out"],
             "audit": ["--groups", "Kön", "--out", tmp_path / "out"],
             "explain": ["--as-of", "2025-01-15", "--student", "E-0001",
                         "--out", tmp_path / "out.html"],
             "predict": ["--as-of", "2025-01-15", "--out", tmp_path / "out.parquet"]}[command]
    code = run([command, "--model", workspace["model"], "--data", wide["table"],
                "--spec", wide["spec"], *extra])
    err = _flat(capsys.readouterr().err)
    assert code == 3, err
    assert "Model problem" in err and "canonical tables" in err and "without --spec" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out")]


def test_cohorts_do_not_apply_to_a_wide_table(wide, tmp_path, capsys, run):
    code = run(["evaluate", "--model", wide["model"], "--data", wide["table"],
                "--spec", wide["spec"], "--cohorts", "2024", "--out", tmp_path / "out"])
    assert code == 2 and "--cohorts" in capsys.readouterr().err
