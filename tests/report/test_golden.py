"""Golden files of the per-student report: the page text and the JSON, in Swedish and English.

Two students of the report fixture: the highest-risk flagged one and an unflagged one with
protective factors; and the flagged one again with "since the flag" (an earlier run that
flagged them, two interventions). The page text is what a reader sees: the HTML without tags, each chart
reduced to its title and its text (tick labels, bar labels). Numbers in the JSON are compared
to 10 significant digits, so a last-bit difference between CPUs does not fail the test.

To accept a deliberate change, run ``DROPOUTRISK_UPDATE_GOLDEN=1 pytest tests/report/test_golden.py``
and review the diff of ``tests/report/golden/``.
"""

import html
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from dropoutrisk.report import student_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DROPOUTRISK_UPDATE_GOLDEN") == "1"


def page_text(page: str) -> str:
    """What a reader sees of a report page, one piece of text per line."""
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)

    def chart(m: re.Match) -> str:
        name = re.search(r'data-chart="(\w+)"', m.group(0)).group(1)
        texts = [html.unescape(re.sub(r"<[^>]+>", "", t)).strip()
                 for t in re.findall(r"<text\b[^>]*>(.*?)</text>", m.group(0), flags=re.S)]
        return f"\n[chart {name}: " + " | ".join(t for t in texts if t) + "]\n"

    page = re.sub(r"<svg\b.*?</svg>", chart, page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line) + "\n"


def _rounded(obj):
    if isinstance(obj, float):
        return float(f"{obj:.10g}")
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def _check_golden(rep, stem: str) -> None:
    """The report's page text and JSON against ``golden/<stem>.txt`` and ``.json``."""
    text, doc = page_text(rep.to_html()), _rounded(json.loads(rep.to_json()))
    text_file, json_file = GOLDEN / f"{stem}.txt", GOLDEN / f"{stem}.json"
    if UPDATE:
        text_file.write_text(text, encoding="utf-8")
        json_file.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
    assert text == text_file.read_text("utf-8")
    assert doc == json.loads(json_file.read_text("utf-8"))


@pytest.fixture(scope="module")
def students(explained_synth, flagged_id):
    ex = explained_synth
    unflagged = ex.probability[~ex.flag.to_numpy()]
    with_protective = unflagged[unflagged.index.isin(ex.protective["student_id"])]
    return {"flagged": flagged_id, "not_flagged": str(with_protective.idxmax())}


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("who", ["flagged", "not_flagged"])
def test_report_matches_its_golden_files(synth, explained_synth, students, who, lang):
    t = synth["tables"]
    sid = students[who]
    rep = student_report(explained_synth, sid, attendance=t["attendance"], students=t["students"],
                         model_id="golden0model", data_fingerprint="sha256:golden", lang=lang,
                         operating_point={"threshold": 0.2}, rank_in_school=None)
    assert rep.content["flag"] is (who == "flagged")
    assert rep.content["tier"] != "universal" if who == "flagged" else rep.content["tier"] == "universal"
    _check_golden(rep, f"{who}_{lang}")


@pytest.fixture(scope="module")
def followed(synth, explained_synth, flagged_id):
    """A follow-up at the report's as_of: one earlier run, two interventions for the student."""
    from dropoutrisk.followup import follow_up

    t, ex = synth["tables"], explained_synth
    school = t["students"].set_index("student_id")["school_id"]
    run = pd.DataFrame({"student_id": ex.probability.index.astype(str),
                        "school_id": school.reindex(ex.probability.index).to_numpy(),
                        "flag": ex.probability.to_numpy() >= 0.5, "as_of": "2023-10-02"})
    run.loc[run["student_id"] == flagged_id, "flag"] = True
    support = pd.DataFrame({"student_id": [flagged_id, flagged_id],
                            "date": ["2023-10-05", "2023-10-12"],
                            "kind": ["mentor_talk", "attendance_team"],
                            "end_date": ["2023-10-05", None], "role": ["mentor", "kurator"]})
    return follow_up([run], {**t, "interventions": support}, synth["as_of"])


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_since_the_flag_matches_its_golden_files(synth, explained_synth, flagged_id, followed,
                                                 lang):
    t = synth["tables"]
    rep = student_report(explained_synth, flagged_id, attendance=t["attendance"],
                         students=t["students"], model_id="golden0model",
                         data_fingerprint="sha256:golden", lang=lang,
                         operating_point={"threshold": 0.2}, follow_up=followed)
    assert rep.content["since_flag"]["flagged_before"]
    _check_golden(rep, f"since_flag_{lang}")


def test_golden_since_the_flag_reads_right():
    """What a mentor looks for: the flag date, the support by kind and role, the change."""
    sv = (GOLDEN / "since_flag_sv.txt").read_text("utf-8")
    en = (GOLDEN / "since_flag_en.txt").read_text("utf-8")
    assert "Sedan flaggningen\nFörst flaggad\n2023-10-02, för 28 dagar sedan" in sv
    assert "Since the flag\nFirst flagged\n2023-10-02, 28 days ago" in en
    assert "2023-10-05:\nMentorssamtal (mentor)" in sv
    assert "2023-10-12:\nAttendance team (school counsellor), ongoing" in en
    assert "Attendance\n45%\n60%\n+15.0 percentage points" in en
    assert "Närvaro\n45 %\n60 %\n+15,0 procentenheter" in sv
    assert "no records" in en and "inga uppgifter" in sv  # no grades in the year before
    for text in (sv, en):
        assert "First flag" in text or "Första flaggningen" in text  # the chart's legend
        assert not re.search(r"\b(kind|role|indicator|marker|progress)_\w+", text)  # no raw keys
        assert "mentor_talk" not in text and "attendance_team" not in text
    # the attendance chart's heading is the report's own, not an indicator's label
    assert "Attendance week by week, with the school median" in en


def test_golden_pages_say_what_a_flag_means():
    """Read the golden text as a counsellor would: the essentials are on the page."""
    sv = (GOLDEN / "flagged_sv.txt").read_text("utf-8")
    en = (GOLDEN / "flagged_en.txt").read_text("utf-8")
    assert "Flaggad för uppföljning\nJa" in sv and "Flagged for follow-up\nYes" in en
    assert "inom 12 månader" in sv and "within 12 months" in en
    assert "procentenheter" in sv and "percentage points" in en
    for text in (sv, en, (GOLDEN / "not_flagged_en.txt").read_text("utf-8")):
        assert "unknown" not in text and "okänd" not in text and "NOREF" not in text
    assert "Flagged for follow-up\nNo" in (GOLDEN / "not_flagged_en.txt").read_text("utf-8")
