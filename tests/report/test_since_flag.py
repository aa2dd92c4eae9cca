"""The student report's "since the flag": every state a student can be in, and what it shows."""

import re

import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.followup import follow_up
from dropoutrisk.report import student_report

FLAG_DAY = "2023-10-02"


def _run(synth, explained_synth, flagged, day=FLAG_DAY):
    """A predict run at ``day`` that flags exactly ``flagged``."""
    ex = explained_synth
    school = synth["tables"]["students"].set_index("student_id")["school_id"]
    ids = ex.probability.index.astype(str)
    return pd.DataFrame({"student_id": ids, "school_id": school.reindex(ids).to_numpy(),
                         "flag": ids.isin(flagged), "as_of": day})


def _report(synth, explained_synth, sid, fu, lang="en"):
    t = synth["tables"]
    return student_report(explained_synth, sid, attendance=t["attendance"], students=t["students"],
                          lang=lang, follow_up=fu)


@pytest.fixture(scope="module")
def ids(explained_synth, flagged_id):
    ex = explained_synth
    proba = ex.probability.sort_values()
    flagged_now = [str(s) for s in proba.index[ex.flag.reindex(proba.index).to_numpy()]]
    never = str(proba.index[0])
    return {"flagged": flagged_id, "never": never,
            "other": [s for s in flagged_now if s != flagged_id][:6]}


@pytest.fixture(scope="module")
def tables(synth, ids):
    support = pd.DataFrame({
        "student_id": [ids["flagged"]] * 3 + [ids["other"][0]],
        "date": ["2023-09-20", "2023-10-05", "2023-10-05", "2023-10-11"],
        "kind": ["mentor_talk", "skolans_egen_kod", "student_coach", "mentor_talk"],
        "role": ["mentor", "elevhälsoteam", None, "mentor"],
    })
    return {**synth["tables"], "interventions": support}


@pytest.fixture(scope="module")
def followed(synth, explained_synth, ids, tables):
    run = _run(synth, explained_synth, [ids["flagged"], *ids["other"]])
    return follow_up([run], tables, synth["as_of"])


def test_the_section_shows_the_follow_ups_own_numbers(synth, explained_synth, ids, followed):
    rep = _report(synth, explained_synth, ids["flagged"], followed)
    s = rep.content["since_flag"]
    row = followed.students.set_index("student_id").loc[ids["flagged"]]
    assert s["first_flagged"] == FLAG_DAY and s["days_since_flag"] == row["days_since_flag"] == 28
    by_name = {x["indicator"]: x for x in s["indicators"]}
    assert by_name["attendance"]["before"] == pytest.approx(row["attendance_before"])
    assert by_name["attendance"]["since"] == pytest.approx(row["attendance_since"])
    assert by_name["failed_grades"]["since"] == row["failed_since"]
    assert "concerns" not in by_name  # no concerns table: no row, rather than a row of zeros
    assert s["progress"] == row["progress"]
    # the one before the flag is not listed, but said; two on one day are two
    assert [(i["date"], i["kind"]) for i in s["interventions"]] == [
        ("2023-10-05", "skolans_egen_kod"), ("2023-10-05", "student_coach")]
    assert "An intervention was also recorded before the first flag." in s["intervention_notes"]


def test_kinds_and_roles_are_translated_and_a_schools_own_code_is_kept(
        synth, explained_synth, ids, followed):
    sv = _report(synth, explained_synth, ids["flagged"], followed, lang="sv")
    items = sv.content["since_flag"]["interventions"]
    assert [i["kind_text"] for i in items] == ["skolans_egen_kod", "Elevcoach"]
    assert [i["role_text"] for i in items] == ["elevhälsoteam", None]
    page = sv.to_html()
    assert "Elevcoach, pågår" in page and "Elevcoach (" not in page  # no role: no "()"


def test_the_chart_marks_the_flag_and_each_intervention(synth, explained_synth, ids, followed):
    rep = _report(synth, explained_synth, ids["flagged"], followed)
    svg = rep.charts["attendance"]
    texts = [re.sub(r"<[^>]+>", "", t).strip()
             for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, flags=re.S)]
    assert "First flag" in texts and "Intervention (numbered as in the list)" in texts
    assert texts.count("1") == 1 and texts.count("2") == 1
    without = _report(synth, explained_synth, ids["flagged"], None).charts["attendance"]
    assert "First flag" not in without


def test_no_other_students_data_reaches_the_report(synth, explained_synth, ids, followed):
    """The follow-up holds every flagged student; the page holds one."""
    page = _report(synth, explained_synth, ids["flagged"], followed).to_html()
    json_text = _report(synth, explained_synth, ids["flagged"], followed).to_json()
    others = set(synth["tables"]["students"]["student_id"]) - {ids["flagged"]}
    assert [s for s in others if s in page or s in json_text] == []
    assert "2023-10-11" not in json_text and "2023-10-11" not in page  # the other student's intervention


def test_a_flagged_student_without_an_intervention(synth, explained_synth, ids, followed):
    sid = ids["other"][1]
    s = _report(synth, explained_synth, sid, followed).content["since_flag"]
    assert s["flagged_before"] and s["interventions"] == []
    assert s["no_intervention_text"] == "No intervention has been recorded since the flag (28 days)."
    assert [m["kind"] for m in s["markers"]] == ["flag"]


def test_a_student_never_flagged_gets_a_sentence(synth, explained_synth, ids, followed):
    rep = _report(synth, explained_synth, ids["never"], followed)
    assert not rep.content["flag"]
    assert rep.content["since_flag"] == {
        "flagged_before": False, "runs": 1,
        "text": "No earlier run flagged the student (1 run, 2023-10-02)."}
    page = rep.to_html()
    assert 'id="not-flagged-before"' in page and "First flag" not in page
    sv = _report(synth, explained_synth, ids["never"], followed, lang="sv")
    assert sv.content["since_flag"]["text"] == (
        "Eleven flaggades inte i någon tidigare körning (1 körning, 2023-10-02).")


def test_flagged_now_for_the_first_time(synth, explained_synth, ids, tables):
    runs = [_run(synth, explained_synth, ids["other"], day) for day in ("2023-09-25", FLAG_DAY)]
    fu = follow_up(runs, tables, synth["as_of"])
    s = _report(synth, explained_synth, ids["flagged"], fu).content["since_flag"]
    assert s["text"] == ("No earlier run flagged the student (2 runs, 2023-09-25 to 2023-10-02): "
                         "this is the first flag, so progress since the flag shows from the next "
                         "run on.")


def test_no_earlier_run(synth, explained_synth, ids, tables):
    later = _run(synth, explained_synth, [ids["flagged"]], synth["as_of"])  # not before as_of
    fu = follow_up([later], tables, synth["as_of"])
    s = _report(synth, explained_synth, ids["flagged"], fu, lang="sv").content["since_flag"]
    assert s == {"flagged_before": False, "runs": 0, "text": (
        "Inga tidigare körningar före bedömningsdatumet lästes, så det finns ingen utveckling "
        "sedan en flaggning att visa.")}


def test_without_a_follow_up_the_section_is_left_out(synth, explained_synth, ids):
    rep = _report(synth, explained_synth, ids["flagged"], None)
    assert "since_flag" not in rep.content and 'id="since-flag"' not in rep.to_html()


def test_a_follow_up_at_another_date_is_refused(synth, explained_synth, ids, tables):
    run = _run(synth, explained_synth, [ids["flagged"]])
    fu = follow_up([run], tables, "2023-10-23")
    with pytest.raises(ParameterError, match="the follow-up is at 2023-10-23 but the report at "
                                             "2023-10-30; call follow_up with the report's as_of"):
        _report(synth, explained_synth, ids["flagged"], fu)


def test_the_chart_starts_a_window_before_the_first_flag(synth, explained_synth, ids, tables):
    """A flag near the start of the school year: the chart reaches back to show "before" too."""
    from dropoutrisk.report._since_flag import attendance_start

    run = _run(synth, explained_synth, [ids["flagged"]], "2023-08-28")
    fu = follow_up([run], tables, synth["as_of"])
    year = pd.Timestamp("2023-08-21")
    assert attendance_start(fu, ids["flagged"], year) == pd.Timestamp("2023-07-31")
    assert attendance_start(fu, ids["never"], year) == year
    assert attendance_start(None, ids["flagged"], year) == year
