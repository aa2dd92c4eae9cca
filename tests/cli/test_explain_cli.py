"""dropoutrisk explain: end to end on synthetic tables and a saved model bundle."""

import json
import warnings

import numpy as np
import pytest

AS_OF = "2024-10-28"


@pytest.fixture(scope="module")
def setup(workspace):
    """The shared workspace, and its highest-risk student at AS_OF."""
    import pandas as pd

    from dropoutrisk.features import build_features
    from dropoutrisk.io import read_tables
    from dropoutrisk.models import load_bundle

    bundle = load_bundle(workspace["model"])
    tables = {k: v for k, v in read_tables(workspace["data"]).items() if k != "truth"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # events after AS_OF are dropped, with a warning
        X = build_features(tables, AS_OF, catalogue=bundle.model.catalogue)
    proba = bundle.model.predict_proba(X)[:, 1]
    student = str(X.index[int(np.argmax(proba))])
    ids = set(pd.read_parquet(workspace["data"] / "students.parquet")["student_id"].astype(str))
    return {"model": workspace["model"], "data": workspace["data"], "student": student,
            "ids": ids, "model_id": bundle.model_id}


def _args(s, out, *extra, student=None):
    return ["explain", "--model", s["model"], "--data", s["data"], "--as-of", AS_OF,
            "--student", student or s["student"], "--out", out, *extra]


def test_html_report_in_swedish(setup, tmp_path, capsys, run):
    out = tmp_path / "r.html"
    assert run(_args(setup, out)) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text("utf-8")
    assert '<html lang="sv">' in html and setup["student"] in html
    assert setup["model_id"] in html and "sha256:" in html and AS_OF in html
    assert "inte orsaker" in html
    assert html.count("<svg") == 3  # dimensions, waterfall, weekly attendance
    assert [i for i in setup["ids"] - {setup["student"]} if i in html] == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_json_report_in_english(setup, tmp_path, run):
    out = tmp_path / "r.txt"  # --format wins over the suffix
    assert run(_args(setup, out, "--lang", "en", "--reasons", "3", "--format", "json")) == 0
    doc = json.loads(out.read_text("utf-8"))
    assert doc["student_id"] == setup["student"] and doc["model_id"] == setup["model_id"]
    assert doc["as_of"] == AS_OF and doc["lang"] == "en"
    assert 1 <= len(doc["reasons"]) <= 3
    assert all("median" in r["sentence"] or ":" in r["sentence"] for r in doc["reasons"])
    assert len(doc["attendance_weekly"]) >= 8
    assert [i for i in setup["ids"] - {setup["student"]} if i in out.read_text("utf-8")] == []


def test_unknown_student_exits_2(setup, tmp_path, capsys, run):
    out = tmp_path / "r.html"
    assert run(_args(setup, out, student="NOBODY-1")) == 2
    assert "NOBODY-1" in capsys.readouterr().err
    assert not out.exists()


def test_bad_language_exits_2(setup, tmp_path, capsys, run):
    assert run(_args(setup, tmp_path / "r.html", "--lang", "de")) == 2
    assert "sv or en" in capsys.readouterr().err


def test_missing_model_exits_3(setup, tmp_path, capsys, run):
    args = _args(setup, tmp_path / "r.html")
    args[args.index("--model") + 1] = tmp_path / "no-model"
    assert run(args) == 3
    assert "No model folder" in capsys.readouterr().err


def test_several_students_make_a_folder_of_their_own_reports(setup, workspace, tmp_path, run):
    import pandas as pd

    students = pd.read_parquet(workspace["data"] / "students.parquet")
    ids = students.loc[students["cohort"] == 2024, "student_id"].astype(str).iloc[:2].tolist()
    out = tmp_path / "reports"
    argv = ["explain", "--model", setup["model"], "--data", setup["data"], "--as-of", AS_OF,
            "--out", out, "--format", "json", "--lang", "en"]
    assert run([*argv, "--student", ids[0], "--student", ids[1]]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i}.json" for i in ids)
    for sid in ids:
        text = (out / f"{sid}.json").read_text("utf-8")
        assert json.loads(text)["student_id"] == sid
        assert [i for i in setup["ids"] - {sid} if f'"{i}"' in text] == []
    # a later run with one student in the folder replaces the folder whole
    assert run([*argv, "--student", ids[1]]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{ids[1]}.json"]
