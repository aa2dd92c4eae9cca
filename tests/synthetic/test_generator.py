"""make_cohorts: the tables follow the canonical contract, are reproducible and consistent."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.schema import TABLES, school_year_start, table_spec
from dropoutrisk.synthetic import SyntheticCohorts, make_cohorts

# the generator writes every canonical table but the optional activity log; interventions
# only when support is planted (tests/synthetic/test_support.py)
CANONICAL = [t for t in TABLES if t not in ("activity", "interventions")]


@pytest.mark.parametrize("name", CANONICAL)
def test_columns_follow_table_spec(cohorts, name):
    df = cohorts[name]
    spec = table_spec(name)
    allowed = {c.name for c in spec.columns}
    assert set(spec.required) <= set(df.columns)
    assert set(df.columns) <= allowed, set(df.columns) - allowed
    for col in spec.columns:
        if col.name not in df:
            continue
        values = df[col.name]
        if col.categories is not None:
            assert set(values.dropna().unique()) <= set(col.categories), col.name
        if col.kind in ("int", "float"):
            assert pd.api.types.is_numeric_dtype(values), col.name
            if col.ge is not None:
                assert (values.dropna() >= col.ge).all(), col.name
            if col.le is not None:
                assert (values.dropna() <= col.le).all(), col.name
        if col.kind == "date":
            assert values.dtype == "datetime64[ns]", col.name
        if col.kind == "string":
            assert values.map(type).eq(str).all(), col.name
    key = list(spec.key)
    present = [k for k in key if k in df]
    if present:  # concerns and activity are events: no key
        assert not df.duplicated(present).any(), f"{name}: duplicate keys {present}"


def test_student_level_values(cohorts):
    s = cohorts["students"]
    assert len(s) == 3000
    assert s["student_id"].is_unique
    assert s.groupby("cohort").size().tolist() == [750] * 4
    assert set(s["programme_type"]) == {"national", "introductory"}
    assert set(s["gender"]) <= {"female", "male", "other"}
    assert s["school_id"].nunique() == 12
    # newly arrived students mostly start on language introduction
    new = s[s["newly_arrived"]]
    assert (new["programme"] == "IMSPR").mean() > 0.3
    assert (s.loc[~s["newly_arrived"], "programme"] == "IMSPR").sum() == 0


def test_every_student_has_one_outcome(cohorts):
    o = cohorts["outcomes"]
    s = cohorts["students"]
    assert o["student_id"].is_unique
    assert set(o["student_id"]) == set(s["student_id"])
    assert set(o["event"]) == {"dropout", "completed", "no_diploma", "moved", "transferred"}


def test_event_rows_refer_to_known_students(cohorts):
    ids = set(cohorts["students"]["student_id"])
    for name in (
        "attendance",
        "attendance_daily",
        "attendance_weekly",
        "grades",
        "assessments",
        "concerns",
    ):
        assert set(cohorts[name]["student_id"]) <= ids, name


def test_no_attendance_on_or_after_leaving(cohorts):
    o = cohorts["outcomes"].set_index("student_id")
    a = cohorts["attendance"]
    left = a["student_id"].map(o["date"])
    event = a["student_id"].map(o["event"])
    leavers = event.isin(["dropout", "moved", "transferred"])
    assert (a.loc[leavers, "date"] < left[leavers]).all()
    assert (a["date"] <= left).all()  # completers attend up to their last Friday
    assert (a["date"].dt.dayofweek < 5).all()


def test_absence_within_scheduled(cohorts):
    a = cohorts["attendance"]
    assert (a["absent_minutes"] <= a["scheduled_minutes"]).all()
    assert not a.loc[a["absent_minutes"] == 0, "excused"].any()
    assert (a.loc[a["absent_minutes"] == a["scheduled_minutes"], "late_minutes"] == 0).all()


def test_each_student_uses_exactly_one_attendance_layout(cohorts):
    sets = [
        set(cohorts[n]["student_id"])
        for n in ("attendance", "attendance_daily", "attendance_weekly")
    ]
    assert all(len(x) > 0 for x in sets)
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    # the non-canonical layouts are a minority (one school each)
    assert len(sets[1]) + len(sets[2]) < 0.35 * len(sets[0] | sets[1] | sets[2])
    w = cohorts["attendance_weekly"]
    assert (w["week_start"].dt.dayofweek == 0).all()
    assert (w["excused_hours"] <= w["absent_hours"] + 1e-9).all()
    d = cohorts["attendance_daily"]
    assert d["attendance_pct"].between(0, 100).all()


def test_canonical_formats_put_everyone_in_attendance():
    c = make_cohorts(300, [2022], n_schools=6, random_state=3, attendance_formats="canonical")
    assert c["attendance_daily"].empty and c["attendance_weekly"].empty
    assert c["attendance"]["student_id"].nunique() == 300


def test_grades_include_f_and_dash_and_course_codes(cohorts):
    g = cohorts["grades"]
    assert {"F", "-"} <= set(g["grade"])
    assert {"SVESVE01", "ENGENG05", "MATMAT01a", "GR9MA"} <= set(g["course"])
    # about one course grade in eight is recorded late: after the Friday its term ended
    course = g[~g["course"].str.startswith("GR9")]
    term_ends = {
        pd.Timestamp(school_year_start(y)) + pd.Timedelta(weeks=w, days=4)
        for y in range(2020, 2028)
        for w in (17, 41)
    }
    late = ~course["date"].isin(term_ends)
    assert 0.06 < late.mean() < 0.2


def test_survey_items_have_non_response(cohorts):
    a = cohorts["assessments"]
    per_wave = a[a["item"] == "soc_belonging"].groupby(a["date"].dt.to_period("M")).size()
    assert len(per_wave) > 4
    assert a["value"].between(1, 5).all()
    assert {"cog_future_link", "psy_school_meaningful", "soc_teacher_relation"} <= set(a["item"])
    # missing at random within a wave: not every respondent has every item
    one = a[a["date"].dt.to_period("M") == a["date"].dt.to_period("M").min()]
    counts = one.groupby("student_id")["item"].nunique()
    assert counts.min() < counts.max()


def test_same_seed_same_tables_different_seed_different():
    a = make_cohorts(60, [2021], n_schools=5, random_state=42)
    b = make_cohorts(60, [2021], n_schools=5, random_state=42)
    c = make_cohorts(60, [2021], n_schools=5, random_state=43)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["attendance"].equals(c["attendance"])


def test_generator_random_state_is_accepted():
    c = make_cohorts(50, 2022, n_schools=3, random_state=np.random.default_rng(0))
    assert len(c["students"]) == 50


def test_chunks_do_not_change_the_rows(cohorts):
    small = list(cohorts.iter_event_chunks(chunk_students=512))
    assert len(small) > 4
    joined = pd.concat([c["concerns"].to_pandas() for c in small], ignore_index=True)
    whole = cohorts["concerns"]
    pd.testing.assert_series_equal(joined["student_id"], whole["student_id"])
    assert sum(c["attendance"].num_rows for c in small) == len(cohorts["attendance"])


def test_student_level_only():
    c = make_cohorts(200, [2022], random_state=1, include_events=False)
    assert list(c) == ["students", "outcomes", "truth"]
    with pytest.raises(ValueError, match="include_events=False"):
        next(c.iter_event_chunks())


def test_result_is_read_only_mapping(cohorts):
    assert isinstance(cohorts, SyntheticCohorts)
    with pytest.raises(AttributeError, match="read-only"):
        cohorts.foo = 1
    with pytest.raises(KeyError, match="the tables are"):
        cohorts["nope"]
    df = cohorts["students"]
    df.loc[0, "cohort"] = 1900
    assert cohorts["students"].loc[0, "cohort"] != 1900


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_students": 0}, "n_students must be a positive int"),
        ({"cohorts": []}, "cohorts must be distinct years"),
        ({"cohorts": [2020, 2020]}, "cohorts must be distinct years"),
        ({"attendance_formats": "csv"}, "attendance_formats must be"),
        ({"attendance_level": "hour"}, "attendance_level must be"),
        ({"snapshot_weeks": (60,)}, "snapshot_weeks must lie in"),
        ({"horizon_days": 0}, "horizon_days must be a positive int"),
    ],
)
def test_invalid_arguments(kwargs, match):
    args = {"n_students": 10, "cohorts": [2022]} | kwargs
    with pytest.raises(ValueError, match=match):
        make_cohorts(**args)


def test_invalid_random_state():
    with pytest.raises(TypeError, match="random_state must be"):
        make_cohorts(10, [2022], random_state="seed")


def test_lesson_level_rows_add_up_to_the_day_rows():
    kwargs = {"n_students": 80, "cohorts": [2022], "n_schools": 3, "random_state": 4}
    day = make_cohorts(**kwargs)["attendance"]
    lesson = make_cohorts(**kwargs, attendance_level="lesson")["attendance"]
    assert lesson["lesson"].notna().all() and len(lesson) > 4 * len(day)
    assert not lesson.duplicated(["student_id", "date", "lesson"]).any()
    totals = lesson.groupby(["student_id", "date"], sort=True)[
        ["scheduled_minutes", "absent_minutes", "late_minutes"]
    ].sum()
    day = day.set_index(["student_id", "date"]).sort_index()
    pd.testing.assert_frame_equal(
        totals, day[["scheduled_minutes", "absent_minutes", "late_minutes"]], check_dtype=False
    )
    excused_day = lesson.groupby(["student_id", "date"])["excused"].any()
    assert (excused_day == day["excused"]).all()
