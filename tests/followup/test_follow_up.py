"""follow_up: the list and the summary against the synthetic generator's own records."""

import json

import numpy as np
import pandas as pd
import pytest

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk.errors import MissingColumnError, ParameterError, UnknownStudentError
from dropoutrisk.followup import FOLLOW_UP_COLUMNS, PROGRESS, follow_up
from dropoutrisk.synthetic import SupportPlan, make_cohorts

WEEKS = pd.Timedelta(weeks=8)


@pytest.fixture(scope="module")
def cohorts():
    return make_cohorts(2400, [2023], n_schools=3, random_state=2, attendance_formats="canonical",
                        support=SupportPlan(capacity=0.2, uptake=0.6, hazard_ratio=0.5,
                                            latent_shift=3))


def _tables(cohorts):
    return {k: cohorts[k] for k in ("students", "attendance", "grades", "concerns",
                                    "interventions", "outcomes")}


def _run(cohorts):
    """The schools' flag round as a predict run (rank 1 = least connected)."""
    st = cohorts["support_truth"]
    return pd.DataFrame({"student_id": st.student_id, "school_id": st.school_id,
                         "probability": st.risk_without_support, "flag": st.flagged,
                         "rank_in_school": st["rank"], "as_of": st.as_of,
                         "model_id": "m1"})


@pytest.fixture(scope="module")
def result(cohorts):
    day = cohorts["support_truth"]["as_of"].iloc[0] + WEEKS
    return follow_up([_run(cohorts)], _tables(cohorts), day)


def test_the_list_holds_the_flagged_with_their_recorded_support(cohorts, result):
    st = cohorts["support_truth"].set_index("student_id")
    students = result.students.set_index("student_id")
    assert list(result.students.columns) == list(FOLLOW_UP_COLUMNS)
    assert set(students.index) == set(st.index[st.flagged])
    assert (students["first_flagged"] == st["as_of"].iloc[0]).all()
    day = st["as_of"].iloc[0] + WEEKS
    iv = cohorts["interventions"]
    iv = iv[iv.date < day]
    first = iv.groupby("student_id")["date"].min()
    supported = students["n_interventions"] > 0
    assert set(students.index[supported]) == set(st.index[st.supported])
    pd.testing.assert_series_equal(students.loc[supported, "first_intervention"],
                                   first.reindex(students.index[supported]), check_names=False)
    counts = iv.groupby("student_id").size().reindex(students.index, fill_value=0)
    assert (students["n_interventions"] == counts).all()
    waited = (first - st["as_of"]).dt.days.reindex(students.index[supported])
    assert (students.loc[supported, "days_without_intervention"] == waited).all()
    assert students.loc[supported, "followed_up_in_time"].all()  # support came in the flag week
    assert (students.loc[~supported, "days_without_intervention"] == 56).all()
    assert (students.loc[~supported, "intervention_kinds"] == "").all()
    kinds = st.loc[students.index[supported], "kind"]
    assert all(k in text for k, text in zip(kinds, students.loc[supported, "intervention_kinds"],
                                             strict=True))


def test_attendance_before_and_since_are_the_tables_own(cohorts, result):
    students = result.students.set_index("student_id")
    flag = students["first_flagged"].iloc[0]
    a = cohorts["attendance"]
    for sid in students.index[:25]:
        rows = a[a.student_id == sid]
        before = rows[(rows.date >= flag - pd.Timedelta(days=28)) & (rows.date < flag)]
        since = rows[(rows.date >= flag) & (rows.date < flag + WEEKS)]
        for frame, column in ((before, "attendance_before"), (since, "attendance_since")):
            expected = 1 - frame.absent_minutes.sum() / frame.scheduled_minutes.sum() \
                if frame.scheduled_minutes.sum() > 0 else np.nan
            assert students.loc[sid, column] == pytest.approx(expected, nan_ok=True)


def test_the_planted_lift_shows_as_progress(result):
    s = result.students
    supported = s["n_interventions"] > 0
    gain = s.loc[supported, "attendance_change"].mean() - s.loc[~supported, "attendance_change"].mean()
    assert gain > 0.01  # 0.019 measured; about -0.01 with no planted lift
    improving = s["progress"] == "improving"
    assert improving[supported].mean() > improving[~supported].mean()
    assert set(s["progress"]) <= set(PROGRESS)
    assert (s.loc[s["left"] != "", "progress"] == "left").all()


def test_summary_counts_match_the_list_and_hide_small_cells(result):
    s, summary = result.students, result.summary
    assert "student_id" not in summary.columns
    for _, row in summary.iterrows():
        part = s[s.school_id == row.school_id]
        assert row.flagged == len(part)
        expected = {"intervention_within_14d": int(part.followed_up_in_time.sum()),
                    "no_intervention": int((part.n_interventions == 0).sum()),
                    **{p: int((part.progress == p).sum()) for p in PROGRESS}}
        for column, n in expected.items():
            if 0 < n < MIN_CELL:
                assert row[column] is pd.NA, (column, n)
                assert column in row.suppressed
            elif row[column] is not pd.NA:
                assert row[column] == n
        # a suppressed cell is never the only one withheld in its split
        for split in (["intervention_within_14d", "intervention_later", "no_intervention"],
                      list(PROGRESS)):
            assert sum(row[c] is pd.NA for c in split) != 1


def test_record_and_json_hold_counts_but_no_id(cohorts, result):
    text = result.to_json()
    assert result.record["counts"]["flagged"] == len(result)
    assert result.record["runs"] == [{"as_of": "2023-10-02", "rows": len(cohorts["support_truth"]),
                                      "flagged": len(result), "model_id": "m1"}]
    for sid in cohorts["students"]["student_id"]:
        assert sid not in text
    assert json.loads(text)["summary"][0]["school_id"].startswith("SCH")


def test_a_school_with_few_flagged_shows_no_count(cohorts):
    run = _run(cohorts)
    run["flag"] = run["flag"] & ((run.school_id != "SCH01") | (run["rank_in_school"] <= 4))
    day = run["as_of"].iloc[0] + WEEKS
    summary = follow_up([run], _tables(cohorts), day).summary.set_index("school_id")
    row = summary.loc["SCH01"]
    assert row.flagged is pd.NA and row.no_intervention is pd.NA
    assert row.suppressed == "school: fewer than 10 flagged"


def test_earlier_runs_set_the_first_flag_and_later_runs_are_left_out(cohorts):
    run = _run(cohorts)
    day = run["as_of"].iloc[0]
    earlier = run.assign(as_of=day - pd.Timedelta(weeks=2),
                         flag=run["flag"] & (run["rank_in_school"] <= 3))
    later = run.assign(as_of=day + pd.Timedelta(weeks=10))
    result = follow_up([run, later, earlier], _tables(cohorts), day + WEEKS)
    s = result.students.set_index("student_id")
    early = set(earlier.student_id[earlier.flag])
    assert (s.loc[list(early), "first_flagged"] == day - pd.Timedelta(weeks=2)).all()
    assert (s.loc[list(early), "times_flagged"] == 2).all()
    assert (s.drop(index=list(early))["times_flagged"] == 1).all()
    assert result.record["runs_after_as_of"] == 1
    assert [r["as_of"] for r in result.record["runs"]] == ["2023-09-18", "2023-10-02"]


def test_nothing_after_as_of_counts(cohorts):
    run = _run(cohorts)
    day = run["as_of"].iloc[0] + pd.Timedelta(days=2)
    s = follow_up([run], _tables(cohorts), day).students
    assert (s["first_intervention"].dropna() < day).all()
    assert (s["progress"] == "too_early").all() or (s["progress"].isin(["too_early", "left"])).all()


def test_students_not_in_the_tables_are_named(cohorts):
    run = _run(cohorts)
    run.loc[run.index[run.flag][0], "student_id"] = "3f9a..."
    with pytest.raises(UnknownStudentError, match="Table 'runs', column 'student_id'.*pseudonymise"):
        follow_up([run], _tables(cohorts), run["as_of"].iloc[0] + WEEKS)


def test_bad_runs_and_parameters_are_clear_errors(cohorts):
    run = _run(cohorts)
    with pytest.raises(MissingColumnError, match="runs\\[0\\].*'flag'"):
        follow_up([run.drop(columns="flag")], _tables(cohorts), "2023-12-01")
    with pytest.raises(ParameterError, match="one table per weekly run"):
        follow_up([pd.concat([run, run.assign(as_of=pd.Timestamp("2023-10-09"))])],
                  _tables(cohorts), "2023-12-01")
    with pytest.raises(ParameterError, match="follow_up_days"):
        follow_up([run], _tables(cohorts), "2023-12-01", follow_up_days=-1)


def test_one_students_follow_up_is_their_row_and_their_recorded_support(cohorts, result):
    """FollowUp.student: what the student report shows, from the list's own computation."""
    students = result.students.set_index("student_id")
    day = pd.Timestamp(result.record["as_of"])
    iv = cohorts["interventions"]
    supported = students.index[students["n_interventions"] > 1][0]
    mine = result.student(supported)
    assert mine.student_id == supported and mine.first_flagged == students.loc[supported,
                                                                                "first_flagged"]
    expected = iv[(iv.student_id == supported) & (iv.date < day)].sort_values("date")
    assert mine.interventions["date"].tolist() == expected["date"].tolist()
    assert mine.interventions["role"].tolist() == expected["role"].tolist()
    ind = mine.indicators
    assert ind.loc["attendance", "change"] == pytest.approx(
        students.loc[supported, "attendance_change"])
    assert ind.loc["concerns", "since"] == students.loc[supported, "concerns_since"]
    assert mine.status["progress"] == students.loc[supported, "progress"]
    doc = json.loads(mine.to_json())
    assert doc["interventions"][0]["date"] == expected["date"].iloc[0].date().isoformat()
    assert doc["periods"] == {"window_days": 28, "grade_window_days": 365}
    # the interventions behind the list are those of listed students only, and add up
    assert set(result.interventions["student_id"]) <= set(students.index)
    assert len(result.interventions) == students["n_interventions"].sum()
    assert result.student("not-a-student") is None
    with pytest.raises(AttributeError, match="immutable"):
        mine.interventions = None
