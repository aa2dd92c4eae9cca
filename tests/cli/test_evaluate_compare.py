"""``dropoutrisk evaluate``: comparison.json, against the baselines or the previous model.

The session workspace (``tests/cli/conftest.py``) serves the module: its data
folder, and its bundle (trained by ``train`` on cohorts 2021-2022) as the
model. The previous models to compare with are fitted in Python on one
feature frame of the same tables, with one thread and few trees.
"""

import hashlib
import json
import shutil

import numpy as np
import pytest

from ._predict_workspace import shared_workspace

TRAIN_COHORTS = [2021, 2022]
N_BOOT = 200

def names(err, path):
    """Whether a message wrapped at 100 columns (and at hyphens) names ``path``."""
    return str(path) in "".join(err.split())


def _save(X, y, folder, *, weeks, catalogue=None, include_background=False, seed=1,
          n_estimators=15, extra_column=None):
    """A bundle as ``train`` writes it, fitted on the rows of ``X`` at ``weeks``.

    ``extra_column`` adds a feature canonical tables lack.
    """
    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models import ABCRule, LogisticBaseline, RiskModel, save_model
    from dropoutrisk.schema import snapshot_dates

    keep = X["as_of"].isin(snapshot_dates(TRAIN_COHORTS, weeks)).to_numpy()
    X, y = X[keep], y[keep]
    if extra_column is not None:
        X = X.assign(**{extra_column: np.arange(len(X), dtype=float)})
    model = RiskModel(n_estimators=n_estimators, catalogue=catalogue,
                      include_background=include_background, random_state=seed,
                      n_jobs=1).fit(X, y)
    baselines = {"logistic": LogisticBaseline(catalogue=catalogue or default_catalogue()
                                              ).fit(X, y),
                 "abc_rule": ABCRule().fit(X, y)}
    params = {"cohorts": TRAIN_COHORTS, "weeks": weeks, "horizon_days": 365,
              "include_background": include_background, "seed": seed}
    return save_model(model, folder, params=params, baselines=baselines, catalogue=catalogue,
                      created_at="2025-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def ws(workspace, tmp_path_factory):
    from dropoutrisk.features import build_training_frame, default_catalogue
    from dropoutrisk.schema import snapshot_dates

    root = tmp_path_factory.mktemp("compare")
    tables = shared_workspace(workspace)["tables"]
    catalogue = default_catalogue()
    attendance = [n for n in catalogue.names if n.startswith("attendance")]
    X, y = build_training_frame(tables, snapshot_dates(TRAIN_COHORTS, [6, 10, 20]),
                                catalogue=catalogue)
    keep = (X["cohort"].isin(TRAIN_COHORTS) & y.notna()).to_numpy()
    X, y = X[keep], y[keep].astype(int)
    return {
        "root": root,
        "data": workspace["data"],
        "tables": tables,
        "model": workspace["model"],
        # other settings: more weeks, background features, fewer trees, another seed
        "other": _save(X, y, root / "other", weeks=[6, 10, 20], catalogue=catalogue,
                       include_background=True, seed=2, n_estimators=8),
        "attendance_only": _save(X, y, root / "attendance_only", weeks=[6, 20],
                                 catalogue=catalogue.subset(attendance)),
        "extra_feature": _save(X, y, root / "extra_feature", weeks=[6, 20], n_estimators=3,
                               extra_column="wellbeing_index"),
        "attendance": attendance,
    }


def evaluate(run, ws, out, *extra):
    return run(["evaluate", "--model", ws["model"], "--data", ws["data"], "--cohorts", 2024,
                "--out", out, "--n-boot", N_BOOT, *extra])


def _read(path):
    return json.loads(path.read_text())


def _model_rows(doc):
    return {d["metric"]: d for d in doc["differences"] if d["model"] == "model"}


# ---------------------------------------------------------------- against the baselines


def test_without_against_compares_with_the_logistic_baseline(ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out) == 0
    stdout = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration.png", "comparison.json", "metrics.json", "report.html", "roc.png"]
    doc = _read(out / "comparison.json")
    assert doc["against"] is None
    assert set(doc) == {"model_id", "manifest_sha256", "against", "cohorts", "weeks",
                        "horizon_days", "settings", "metrics", "intervals", "differences",
                        "flag_changes", "reason_stability"}
    assert doc["settings"]["reference"] == "logistic"
    assert doc["settings"]["bootstrap_unit"] == "student_id"
    assert doc["settings"]["n_boot"] == N_BOOT and doc["settings"]["random_state"] == 0
    assert list(doc["metrics"]) == ["logistic", "model", "abc_rule"]
    assert {d["model"] for d in doc["differences"]} == {"model", "abc_rule"}
    assert {d["reference"] for d in doc["differences"]} == {"logistic"}
    # the point estimates are evaluate()'s, as in metrics.json
    metrics = _read(out / "metrics.json")["metrics"]
    for name in ("model", "logistic", "abc_rule"):
        assert doc["metrics"][name]["roc_auc"] == pytest.approx(metrics[name]["roc_auc"])
        assert doc["metrics"][name]["brier"] == pytest.approx(metrics[name]["brier"])
    for metric in ("roc_auc", "pr_auc", "brier", "recall_at_10pct"):
        assert f"  model vs logistic: {metric} " in stdout
    assert "abc_rule vs" not in stdout
    html = (out / "report.html").read_text()
    assert "Against the logistic baseline" in html and "p_not_better" in html
    assert html.index("Against the logistic baseline") < html.index("<h2>Plots</h2>")


def test_metrics_json_does_not_depend_on_the_comparison_options(ws, tmp_path, run):
    a, b = tmp_path / "a", tmp_path / "b"
    assert evaluate(run, ws, a) == 0
    assert evaluate(run, ws, b, "--seed", 5, "--n-boot", 0) == 0
    assert (a / "metrics.json").read_bytes() == (b / "metrics.json").read_bytes()
    assert "previous" not in _read(a / "metrics.json")["metrics"]


def test_the_same_seed_gives_the_same_comparison(ws, tmp_path, run):
    outs = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for out, seed in zip(outs, (3, 3, 4), strict=True):
        assert evaluate(run, ws, out, "--seed", seed) == 0
    a, b, c = ((o / "comparison.json").read_bytes() for o in outs)
    assert a == b
    assert _model_rows(json.loads(a))["roc_auc"]["ci_low"] != (
        _model_rows(json.loads(c))["roc_auc"]["ci_low"])


def test_n_boot_0_gives_point_estimates_and_null_intervals(ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--n-boot", 0) == 0
    assert "(no interval)" in capsys.readouterr().out
    text = (out / "comparison.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert doc["settings"]["n_boot"] == 0
    for row in doc["metrics"].values():
        assert all(v is not None for v in row.values())
    for row in doc["intervals"]:
        assert row["estimate"] is not None and row["ci_low"] is None and row["ci_high"] is None
    for row in doc["differences"]:
        assert row["difference"] is not None
        assert row["ci_low"] is row["ci_high"] is row["p_not_better"] is None


def test_comparison_holds_no_student_id(ws, tmp_path, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--against", ws["other"]) == 0
    ids = ws["tables"]["students"]["student_id"].astype(str)
    assert len(ids) > 100
    for name in ("comparison.json", "report.html"):
        text = (out / name).read_text()
        assert not [s for s in ids if s in text], name


# ---------------------------------------------------------------- against the previous model


def test_against_the_same_bundle_differs_by_exactly_zero(ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--against", ws["model"]) == 0
    stdout = capsys.readouterr().out
    doc = _read(out / "comparison.json")
    assert doc["settings"]["reference"] == "previous"
    assert doc["against"]["model_id"] == doc["model_id"]
    assert doc["against"]["features"] == "same catalogue"
    assert doc["metrics"]["previous"] == doc["metrics"]["model"]
    rows = _model_rows(doc)
    assert len(rows) == len(doc["metrics"]["model"])
    for d in rows.values():
        assert d["difference"] == 0.0 and d["ci_low"] == 0.0 and d["ci_high"] == 0.0
        # 0 / 0 has no ratio (a metric that is 0 here, e.g. a recall at a small flag rate)
        assert d["ratio"] == (1.0 if doc["metrics"]["model"][d["metric"]] else None)
        assert d["p_not_better"] == 1.0  # a tie is not better
    assert "  model vs previous: roc_auc +0.0000 [+0.0000, +0.0000]" in stdout


def test_against_a_bundle_with_other_settings(ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--against", ws["other"]) == 0
    stdout = capsys.readouterr().out
    doc = _read(out / "comparison.json")
    previous = json.loads((ws["other"] / "manifest.json").read_text())
    assert doc["against"] == {
        "name": "previous",
        "model_id": previous["model_id"],
        "manifest_sha256": hashlib.sha256((ws["other"] / "manifest.json").read_bytes()
                                          ).hexdigest(),
        "trained_on_cohorts": TRAIN_COHORTS,
        "trained_at_weeks": [6, 10, 20],
        "trained_horizon_days": 365,
        "features": "same catalogue",
    }
    assert doc["weeks"] == [6, 20]  # the model's rows, not the previous model's weeks
    assert list(doc["metrics"]) == ["previous", "model", "abc_rule", "logistic"]
    metrics = sorted(doc["metrics"]["model"])
    assert len(doc["differences"]) == 3 * len(metrics)
    assert len(doc["intervals"]) == 4 * len(metrics)
    for d in doc["differences"]:
        assert d["reference"] == "previous"
        assert set(d) == {"model", "reference", "metric", "difference", "ci_low", "ci_high",
                          "ratio", "ratio_ci_low", "ratio_ci_high", "p_not_better"}
        assert d["ci_low"] <= d["ci_high"] and 0.0 <= d["p_not_better"] <= 1.0
    auc = _model_rows(doc)["roc_auc"]
    assert auc["difference"] == pytest.approx(
        doc["metrics"]["model"]["roc_auc"] - doc["metrics"]["previous"]["roc_auc"])
    assert auc["difference"] != 0.0
    for metric in ("roc_auc", "pr_auc", "brier", "recall_at_10pct"):
        line = next(x for x in stdout.splitlines() if f"model vs previous: {metric} " in x)
        assert "[" in line
    assert "abc_rule vs previous" not in stdout
    assert f"Against the previous model {previous['model_id']}" in stdout
    # the previous model is in the evaluation too
    assert "previous" in _read(out / "metrics.json")["metrics"]
    html = (out / "report.html").read_text()
    section = html[html.index("<h2>Against the previous model</h2>"):html.index("<h2>Plots")]
    assert "difference (model - previous)" in section and "p_not_better" in section
    for metric in ("roc_auc", "pr_auc", "brier", "precision_at_10pct", "recall_at_10pct"):
        assert f"<td>{metric}</td>" in section
    assert previous["model_id"] in section


def test_against_a_bundle_with_its_own_catalogue_scores_it_on_its_features(ws, tmp_path, run):
    from sklearn.metrics import roc_auc_score

    from dropoutrisk.features import build_training_frame, default_catalogue
    from dropoutrisk.models import load_bundle
    from dropoutrisk.schema import snapshot_dates

    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--against", ws["attendance_only"]) == 0
    doc = _read(out / "comparison.json")
    assert doc["against"]["features"] == "own catalogue"
    previous = load_bundle(ws["attendance_only"]).model
    X, y = build_training_frame(ws["tables"], snapshot_dates([2024], [6, 20]),
                                catalogue=default_catalogue().subset(ws["attendance"]))
    keep = (X["cohort"] == 2024).to_numpy() & y.notna().to_numpy()
    expected = roc_auc_score(y[keep].astype(int), previous.rank_score(X[keep]))
    assert doc["metrics"]["previous"]["roc_auc"] == pytest.approx(expected, abs=1e-12)


def test_against_a_model_that_needs_missing_features_exits_3(ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    code = evaluate(run, ws, out, "--against", ws["extra_feature"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3
    assert "Model problem" in err and "wellbeing_index" in err
    assert names(err, ws["extra_feature"]) and "Traceback" not in err
    assert not out.exists()


def test_against_a_missing_folder_exits_3_naming_it(ws, tmp_path, capsys, run):
    missing = tmp_path / "no-such-model"
    out = tmp_path / "r"
    code = evaluate(run, ws, out, "--against", missing)
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3
    assert "--against" in err and names(err, missing)
    assert not out.exists()


def test_against_a_tampered_bundle_exits_3_naming_it(ws, tmp_path, capsys, run):
    copy = tmp_path / "previous"
    shutil.copytree(ws["other"], copy)
    path = copy / "model.skops"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    out = tmp_path / "r"
    code = evaluate(run, ws, out, "--against", copy)
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3
    assert "--against" in err and names(err, copy) and "model.skops" in err
    assert "does not match" in err
    assert not out.exists()


def test_against_a_model_trained_on_the_test_cohort_exits_2(ws, tmp_path, capsys, run):
    copy = tmp_path / "previous"
    shutil.copytree(ws["model"], copy)
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["params"]["cohorts"] = [2023, 2024]
    manifest_path.write_text(json.dumps(manifest))
    out = tmp_path / "r"
    code = evaluate(run, ws, out, "--against", copy)
    err = capsys.readouterr().err
    assert code == 2
    assert "--against" in err and "out-of-time" in err
    assert not out.exists()


def test_help_documents_the_comparison_options(capsys, run):
    assert run(["evaluate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--against", "--n-boot", "--seed", "comparison.json"):
        assert option in text


def test_without_any_reference_an_old_comparison_is_removed(ws, tmp_path, capsys, run):
    """No baseline and no --against: no comparison.json, and none left from an earlier run."""
    from dropoutrisk.models import load_bundle, save_model

    bundle = load_bundle(ws["model"])
    bare = save_model(bundle.model, tmp_path / "bare", params=dict(bundle.manifest["params"]),
                      created_at="2025-01-01T00:00:00+00:00")
    out = tmp_path / "r"
    out.mkdir()
    (out / "comparison.json").write_text('{"stale": true}')
    code = run(["evaluate", "--model", bare, "--data", ws["data"], "--cohorts", 2024,
                "--out", out, "--n-boot", N_BOOT])
    assert code == 0
    assert (out / "metrics.json").exists() and not (out / "comparison.json").exists()
    assert "no comparison.json written" in capsys.readouterr().err


# ---------------------------------------------------------------- changed flags and reasons


def test_against_prints_and_records_changed_flags_by_school_and_reason_stability(
        ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--against", ws["other"]) == 0
    stdout = capsys.readouterr().out
    doc = _read(out / "comparison.json")
    changes = [r for r in doc["flag_changes"] if r["model"] == "model"]
    schools = set(ws["tables"]["students"]["school_id"].astype(str))
    assert len(schools) == 4
    assert {r["school_id"] for r in changes} == {*schools, "(all schools)"}
    total = changes[-1]
    assert total["n_rows"] == _read(out / "metrics.json")["n_rows"]
    for r in changes:  # no count from 1 to 9 students is published
        for column in ("n_rows", "still_flagged", "newly_flagged", "no_longer_flagged"):
            assert r[column] is None or r[column] == 0 or r[column] >= 10
    (stability,) = [r for r in doc["reason_stability"] if r["model"] == "model"]
    assert stability["reference"] == "previous"
    assert stability["n_flagged_both"] == total["still_flagged"]
    assert 0 <= stability["same_order"] <= stability["same_set"] <= 1
    assert "model vs previous: flags at the top 10% of each snapshot" in stdout
    assert "  (all schools)" in stdout
    assert ("model vs previous: reason stability (same top-3 reason codes, order ignored) "
            f"among {stability['n_compared']} rows flagged by both") in stdout
    assert "abc_rule vs previous: flags" not in stdout  # the baselines stay in the JSON
    html = (out / "report.html").read_text()
    assert "Flags that changed, by school" in html and "<td>(all schools)</td>" in html
    assert "Reason stability: " in html and "order ignored" in html


def test_against_the_same_bundle_keeps_every_flag_and_reason(ws, tmp_path, capsys, run):
    out = tmp_path / "r"
    assert evaluate(run, ws, out, "--against", ws["model"]) == 0
    doc = _read(out / "comparison.json")
    total = [r for r in doc["flag_changes"] if r["model"] == "model"][-1]
    assert total["newly_flagged"] == 0 and total["no_longer_flagged"] == 0
    (stability,) = [r for r in doc["reason_stability"] if r["model"] == "model"]
    assert stability["same_set"] == stability["same_order"] == 1.0
    assert "reason stability" in capsys.readouterr().out
