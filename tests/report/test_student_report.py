"""The per-student report: content, privacy, footer, JSON, weekly attendance."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.report import student_report, weekly_attendance


@pytest.fixture(scope="module")
def report_sv(synth, explained_synth, flagged_id):
    t = synth["tables"]
    return student_report(explained_synth, flagged_id, attendance=t["attendance"],
                          students=t["students"], model_id="abc123def456",
                          data_fingerprint="sha256:" + "0" * 64)


def test_report_has_only_that_students_data(synth, report_sv, flagged_id):
    html, text = report_sv.to_html(), report_sv.to_json()
    others = set(synth["tables"]["students"]["student_id"]) - {flagged_id}
    assert flagged_id in html and flagged_id in text
    leaked = [s for s in others if s in html or s in text]
    assert leaked == []


def test_report_content_matches_the_explanation(report_sv, explained_synth, flagged_id):
    c = report_sv.to_dict()
    assert c["probability"] == pytest.approx(explained_synth.probability[flagged_id])
    assert c["tier"] == str(explained_synth.tier[flagged_id])
    want = explained_synth.reasons.query("student_id == @flagged_id")["sentence_sv"].tolist()
    assert [r["sentence"] for r in c["reasons"]] == want
    assert len(c["protective"]) > 0
    assert [d["dimension"] for d in c["dimension_totals"]] == [
        "behavioural", "academic", "cognitive", "psychological", "socio_emotional", "background"]
    total = c["base_value"] + sum(d["contribution"] for d in c["dimension_totals"])
    assert total == pytest.approx(c["probability"], abs=1e-6)


def test_html_sections_footer_and_charts(report_sv, flagged_id):
    html = report_sv.to_html()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="sv">' in html
    for sentence in (r["sentence"] for r in report_sv.content["reasons"]):
        assert sentence.replace("&", "&amp;") in html
    assert "abc123def456" in html and "sha256:" + "0" * 64 in html
    assert "2023-10-30" in html
    assert "inte orsaker" in html  # contributions describe the model, not causes
    assert html.count("<svg") == 3
    assert set(re.findall(r'data-chart="(\w+)"', html)) == {"dimensions", "waterfall", "attendance"}
    assert "<script" not in html  # self-contained: no scripts, no external resources
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<metadata>" not in html
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # several inline SVGs, no clashing ids


def test_english_report(explained_synth, flagged_id):
    rep = student_report(explained_synth, flagged_id, lang="en")
    html = rep.to_html()
    assert '<html lang="en">' in html and "not causes" in html
    assert "No attendance table was given" in html
    assert rep.content["reasons"][0]["sentence"] == explained_synth.reasons.query(
        "student_id == @flagged_id")["sentence_en"].iat[0]
    assert rep.content["data_fingerprint"].startswith("sha256:")


def test_json_is_valid_and_has_the_trajectory(report_sv):
    doc = json.loads(report_sv.to_json())
    weeks = doc["attendance_weekly"]
    assert len(weeks) >= 8
    assert all(w["week"] < "2023-10-30" for w in weeks)
    assert all(w["school_median"] is None or 0 <= w["school_median"] <= 1 for w in weeks)
    assert "charts" not in doc


def test_weekly_attendance_against_a_hand_count(synth, flagged_id):
    att, stu = synth["tables"]["attendance"], synth["tables"]["students"]
    weekly = weekly_attendance(att, stu, flagged_id, synth["as_of"])
    mine = att[att["student_id"] == flagged_id].copy()
    mine["date"] = pd.to_datetime(mine["date"])
    mine = mine[(mine["date"] >= "2023-08-21") & (mine["date"] < "2023-10-30")]
    assert (att["date"] >= "2023-10-30").any()  # the table does go past as_of
    week = mine["date"] - pd.to_timedelta(mine["date"].dt.weekday, unit="D")
    sums = mine.groupby(week)[["scheduled_minutes", "absent_minutes"]].sum()
    expected = 1 - sums["absent_minutes"] / sums["scheduled_minutes"]
    got = weekly.set_index(pd.to_datetime(weekly["week"]))["student"].dropna()
    np.testing.assert_allclose(got.to_numpy(), expected.loc[got.index].to_numpy())


def test_weekly_median_is_withheld_for_small_schools(synth, flagged_id):
    att, stu = synth["tables"]["attendance"], synth["tables"]["students"]
    weekly = weekly_attendance(att, stu, flagged_id, synth["as_of"], min_students=10_000)
    assert weekly["school_median"].isna().all()
    with pytest.raises(KeyError, match="nobody"):
        weekly_attendance(att, stu, "nobody", synth["as_of"])


def test_report_is_immutable(report_sv):
    with pytest.raises(AttributeError):
        report_sv.content = {}
    with pytest.raises(TypeError):
        report_sv.content["probability"] = 0.0
    reasons = report_sv.content["reasons"]
    n = len(reasons)
    reasons.append({"sentence": "added by a caller"})
    assert len(report_sv.content["reasons"]) == n
    assert "added by a caller" not in report_sv.to_json()
