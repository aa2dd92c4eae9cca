"""The Spark engine runs the same feature SQL as DuckDB and gives the same features (1e-9)."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import MissingColumnError, MissingTableError, ParameterError
from dropoutrisk.features import (
    DuckDBEngine,
    SparkEngine,
    build_features,
    default_catalogue,
    load_indicators,
)

from .feature_tables import AS_OF, assert_same_features
from .test_custom import FILE

TOL = 1e-9

RELATIVE = """
[[indicators]]
name = "clicks_vs_school"
dimension = "behavioural"
description_en = "Clicks over the last 2 weeks, against the school's other students"
description_sv = "Klick de senaste 2 veckorna, jämfört med skolans andra elever"
actionable = true
risk_direction = "lower"
source = { relative = "percentile", of = "activity_count_2w", within = "school_id" }

[[indicators]]
name = "attendance_vs_school"
dimension = "behavioural"
description_en = "Attendance against the school's median"
description_sv = "Närvaro jämfört med skolans median"
actionable = true
risk_direction = "lower"
source = { relative = "difference", of = "attendance_rate_4w", within = "school_id" }
"""


def _activity_for(attendance: pd.DataFrame) -> pd.DataFrame:
    """Logins on attended days and clicks every third row: activity for the synthetic cohorts."""
    att = attendance.reset_index(drop=True)
    present = att.loc[att["absent_minutes"] < att["scheduled_minutes"]]
    logins = present.iloc[::2].assign(kind="login", count=1.0)
    clicks = att.iloc[::3].assign(kind="vle_click",
                                  count=(att.index[::3] % 7).astype("float64") + 0.25)
    return pd.concat([logins, clicks])[["student_id", "date", "kind", "count"]]


@pytest.fixture(scope="module")
def cohorts():
    from dropoutrisk.synthetic import make_cohorts

    tabs = make_cohorts(120, [2022, 2023], n_schools=3, random_state=3,
                        attendance_formats="canonical")
    tables = {k: tabs[k] for k in ("students", "attendance", "grades", "assessments",
                                   "concerns", "outcomes")}
    tables["activity"] = _activity_for(tables["attendance"])
    rng = np.random.default_rng(0)
    tables["students"] = tables["students"].assign(
        credits=rng.choice([30.0, 60.0, np.nan], len(tables["students"])))
    return tables


@pytest.fixture(scope="module")
def own_catalogue(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "indicators.toml"
    path.write_text(FILE + RELATIVE, encoding="utf-8")
    return load_indicators(path)


def test_spark_equals_duckdb_on_synthetic_cohorts(spark, cohorts, own_catalogue):
    as_of = "2023-10-16"
    expected = build_features(cohorts, as_of, catalogue=own_catalogue,
                              engine=DuckDBEngine(threads=1))
    got = build_features(cohorts, as_of, catalogue=own_catalogue, engine=SparkEngine(spark))
    # the data exercise the event features, activity and the indicators of your own
    informative = {c for c in expected.columns if expected[c].notna().any()}
    assert {"attendance_trend_8w", "longest_absence_streak_days", "grade_point_change",
            "days_since_concern", "activity_trend_8w", "vle_clicks_2w", "days_since_login",
            "studied_credits", "clicks_vs_school", "attendance_vs_school"} <= informative
    assert_same_features(got, expected, tol=TOL)


def test_spark_sources_files_and_catalogue_tables(spark, tables, tmp_path):
    """The hand-made tables (every edge case of the engine tests) from every kind of source."""
    expected = build_features(tables, AS_OF, engine="duckdb")
    tables["attendance"].to_parquet(tmp_path / "attendance.parquet")
    tables["grades"].to_csv(tmp_path / "grades.csv", index=False)
    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.createDataFrame(tables["concerns"]).createOrReplaceGlobalTempView("dr_concerns")
    sources = {**tables, "attendance": tmp_path / "attendance.parquet",
               "grades": str(tmp_path / "grades.csv"),
               "assessments": session.createDataFrame(tables["assessments"]),
               "students": session.createDataFrame(tables["students"])}
    del sources["concerns"]
    engine = SparkEngine(spark, tables={"concerns": "global_temp.dr_concerns"})
    assert_same_features(build_features(sources, AS_OF, engine=engine), expected, tol=TOL)
    # the engine's views live in a session of its own: none is left in yours
    assert not [t.name for t in spark.catalog.listTables() if t.isTemporary]


def test_spark_engine_errors(spark, tables):
    with pytest.raises(ParameterError, match="engine='spark' needs a SparkSession"):
        build_features(tables, AS_OF, engine="spark")
    with pytest.raises(ParameterError, match="not event tables"):
        build_features(tables, AS_OF, engine=SparkEngine(spark, tables={"students": "x"}))
    with pytest.raises(ParameterError, match="given twice"):
        build_features(tables, AS_OF, engine=SparkEngine(spark, tables={"grades": "x"}))
    with pytest.raises(MissingTableError, match="no table 'nowhere.grades'"):
        build_features({k: v for k, v in tables.items() if k != "grades"}, AS_OF,
                       engine=SparkEngine(spark, tables={"grades": "nowhere.grades"}))
    bad = {**tables, "attendance": spark.createDataFrame(
        tables["attendance"].drop(columns="absent_minutes"))}
    with pytest.raises(MissingColumnError, match="absent_minutes"):
        build_features(bad, AS_OF, engine=SparkEngine(spark))
    assert default_catalogue()  # the engine left the catalogue alone
