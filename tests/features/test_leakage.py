"""Events dated on or after as_of must never change a feature (the knowledge date)."""

import datetime as dt

import pandas as pd
import pytest

from dropoutrisk.features import build_features

from .feature_tables import AS_OF


def _inject_future(tables: dict[str, pd.DataFrame], start: dt.date) -> dict[str, pd.DataFrame]:
    """Extreme events for every student, dated from ``start`` (on or after as_of) on."""
    ids = tables["students"]["student_id"].tolist()
    days = pd.date_range(start, periods=30, freq="D")
    future_att = pd.DataFrame({
        "student_id": [s for s in ids for _ in days],
        "date": list(days) * len(ids),
        "scheduled_minutes": 1440.0,
        "absent_minutes": 1440.0,
        "excused": False,
        "late_minutes": 1440.0,
    })
    future_grades = pd.DataFrame({
        "student_id": [s for s in ids for _ in range(4)],
        "date": pd.Timestamp(start),
        "course": ["SVESVE01", "ENGENG05", "MATMAT01a", "NEWNEW01"] * len(ids),
        "grade": "F",
    })
    future_assess = pd.DataFrame({
        "student_id": [s for s in ids for _ in range(4)],
        "date": pd.Timestamp(start),
        "item": ["cog_a", "psy_y", "soc_x", "beh_participation"] * len(ids),
        "value": -1000.0,
    })
    future_concerns = pd.DataFrame({
        "student_id": [s for s in ids for _ in days],
        "date": list(days) * len(ids),
        "category": "absence",
    })
    future_activity = pd.DataFrame({
        "student_id": [s for s in ids for _ in days],
        "date": list(days) * len(ids),
        "kind": "login",
        "count": 10_000.0,
    })
    out = dict(tables)
    out["activity"] = pd.concat([tables["activity"], future_activity], ignore_index=True)
    out["attendance"] = pd.concat([tables["attendance"], future_att], ignore_index=True)
    out["grades"] = pd.concat([tables["grades"], future_grades], ignore_index=True)
    out["assessments"] = pd.concat([tables["assessments"], future_assess], ignore_index=True)
    out["concerns"] = pd.concat([tables["concerns"], future_concerns], ignore_index=True)
    return out


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("offset_days", [0, 40])
def test_future_events_change_nothing(tables, engine, offset_days):
    clean = build_features(tables, AS_OF, engine=engine)
    start = AS_OF + dt.timedelta(days=offset_days)
    leaky = build_features(_inject_future(tables, start), AS_OF, engine=engine)
    pd.testing.assert_frame_equal(leaky, clean)


def test_the_injection_would_show_if_it_leaked(tables):
    # the same injection one day *before* as_of must move the features
    clean = build_features(tables, AS_OF, engine="pandas")
    leaked = build_features(_inject_future(tables, AS_OF - dt.timedelta(days=1)), AS_OF,
                            engine="pandas")
    changed = [c for c in clean.columns if not clean[c].equals(leaked[c])]
    assert {"attendance_rate", "attendance_rate_2w", "late_minutes", "failed_courses",
            "concerns_30d", "cognitive_score", "activity_count", "activity_count_2w",
            "activity_days_4w", "days_since_activity"} <= set(changed)
