"""dropoutrisk explain: end to end on synthetic tables and a saved model bundle."""

import json
import warnings

import numpy as np
import pytest

from dropoutrisk.cli import main

AS_OF = "2023-10-30"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from dropoutrisk.features import build_features
    from dropoutrisk.io import write_tables
    from dropoutrisk.models import RiskModel, load_bundle, save_model
    from dropoutrisk.synthetic import make_cohorts

    root = tmp_path_factory.mktemp("explain_cli")
    cohorts = make_cohorts(200, [2023], n_schools=2, random_state=5, attendance_formats="canonical")
    tables = {k: cohorts[k] for k in ("students", "attendance", "grades", "assessments",
                                      "concerns", "outcomes")}
    write_tables(tables, root / "data")
    X = build_features(tables, AS_OF)
    # any fitted model will do here: label the lower-attendance half
    y = (X["attendance_rate"].fillna(1.0) < X["attendance_rate"].median()).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = RiskModel(n_estimators=20, num_leaves=7, min_child_samples=10, random_state=0,
                          n_jobs=1).fit(X, y)
    folder = save_model(model, root / "model")
    proba = model.predict_proba(X)[:, 1]
    student = str(X.index[int(np.argmax(proba))])
    return {"root": root, "model": folder, "data": root / "data", "student": student,
            "ids": set(tables["students"]["student_id"]), "model_id": load_bundle(folder).model_id}


def _run(argv):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    return exc.value.code


def _args(s, out, *extra, student=None):
    return ["explain", "--model", s["model"], "--data", s["data"], "--as-of", AS_OF,
            "--student", student or s["student"], "--out", out, *extra]


def test_html_report_in_swedish(setup, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert _run(_args(setup, out)) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text("utf-8")
    assert '<html lang="sv">' in html and setup["student"] in html
    assert setup["model_id"] in html and "sha256:" in html and AS_OF in html
    assert "inte orsaker" in html
    assert html.count("<svg") == 3  # dimensions, waterfall, weekly attendance
    assert [i for i in setup["ids"] - {setup["student"]} if i in html] == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_json_report_in_english(setup, tmp_path):
    out = tmp_path / "r.txt"  # --format wins over the suffix
    assert _run(_args(setup, out, "--lang", "en", "--reasons", "3", "--format", "json")) == 0
    doc = json.loads(out.read_text("utf-8"))
    assert doc["student_id"] == setup["student"] and doc["model_id"] == setup["model_id"]
    assert doc["as_of"] == AS_OF and doc["lang"] == "en"
    assert 1 <= len(doc["reasons"]) <= 3
    assert all("median" in r["sentence"] or ":" in r["sentence"] for r in doc["reasons"])
    assert len(doc["attendance_weekly"]) >= 8
    assert [i for i in setup["ids"] - {setup["student"]} if i in out.read_text("utf-8")] == []


def test_unknown_student_exits_2(setup, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert _run(_args(setup, out, student="NOBODY-1")) == 2
    assert "NOBODY-1" in capsys.readouterr().err
    assert not out.exists()


def test_bad_language_exits_2(setup, tmp_path, capsys):
    assert _run(_args(setup, tmp_path / "r.html", "--lang", "de")) == 2
    assert "sv or en" in capsys.readouterr().err


def test_missing_model_exits_3(setup, tmp_path, capsys):
    args = _args(setup, tmp_path / "r.html")
    args[args.index("--model") + 1] = tmp_path / "no-model"
    assert _run(args) == 3
    assert "No model folder" in capsys.readouterr().err
