"""The pandas and DuckDB engines give the same features; DuckDB reads files; SQL stays portable."""

import re

import pandas as pd
import pytest

from dropoutrisk.errors import DataError, OutOfRangeError
from dropoutrisk.features import (
    DuckDBEngine,
    _sql,
    build_features,
    build_labels,
    build_training_frame,
    default_catalogue,
)
from dropoutrisk.features._inputs import windows_for
from dropoutrisk.schema import snapshot_dates

from .feature_tables import AS_OF, assert_same_features, enrolled_at


def test_engines_agree_on_hand_made_tables(tables):
    assert_same_features(build_features(tables, AS_OF, engine="pandas"),
                         build_features(tables, AS_OF, engine="duckdb"))


def test_engines_agree_on_synthetic_data(synthetic_tables):
    dates = snapshot_dates([2022, 2023], weeks=(10, 30))
    Xp, yp = build_training_frame(synthetic_tables, dates, engine="pandas")
    Xd, yd = build_training_frame(synthetic_tables, dates,
                                  engine=DuckDBEngine(memory_limit="500MB", threads=1))
    assert len(Xp) > 300
    # the data must exercise every feature, or the comparison proves little
    informative = [c for c in Xp.columns if Xp[c].notna().any()]
    assert {"attendance_trend_8w", "attendance_change_baseline", "grade_point_change",
            "days_since_concern", "teacher_academic_rating"} <= set(informative)
    assert_same_features(Xp, Xd)
    pd.testing.assert_series_equal(yp, yd)


def test_duckdb_reads_parquet_and_csv_paths(tables, tmp_path):
    expected = build_features(tables, AS_OF, engine="pandas")
    paths = dict(tables)
    tables["attendance"].to_parquet(tmp_path / "attendance.parquet")
    tables["grades"].to_csv(tmp_path / "grades.csv", index=False)
    part = tmp_path / "concerns"
    part.mkdir()
    tables["concerns"].iloc[:2].to_parquet(part / "a.parquet")
    tables["concerns"].iloc[2:].to_parquet(part / "b.parquet")
    paths["attendance"] = str(tmp_path / "attendance.parquet")
    paths["grades"] = tmp_path / "grades.csv"
    paths["concerns"] = part
    assert_same_features(build_features(paths, AS_OF), expected)  # auto -> duckdb
    assert_same_features(build_features(paths, AS_OF, engine="pandas"), expected)
    # the labels read how far the data reach from the files too
    pd.testing.assert_series_equal(build_labels(paths, AS_OF, horizon_days=200),
                                   build_labels(tables, AS_OF, horizon_days=200))


def test_auto_engine_choice(tables, monkeypatch):
    from dropoutrisk.features import _build

    assert _build._choose("auto", {"attendance": tables["attendance"]}) == "pandas"
    assert _build._choose("auto", {"attendance": "x.parquet"}) == "duckdb"
    monkeypatch.setattr(_build, "AUTO_DUCKDB_ROWS", 10)
    assert _build._choose("auto", {"attendance": tables["attendance"]}) == "duckdb"


_DUCKDB_ONLY = [r"\bQUALIFY\b", r"\bFILTER\s*\(", r"GROUP BY ALL", r"\bEXCLUDE\b", r"::",
                r"\bdate_diff\b", r"\bdatediff\b", r"\bLIST\b", r"\bSTRUCT\b", r"\bstarts_with\b",
                r"\bINTERVAL\b", r"\bLIKE\b"]


@pytest.mark.parametrize("name", ["ATTENDANCE_SQL", "GRADES_SQL", "ASSESSMENTS_SQL",
                                  "CONCERNS_SQL", "ACTIVITY_SQL"])
def test_feature_sql_is_portable(name):
    text = getattr(_sql, name)
    for pattern in _DUCKDB_ONLY:
        assert not re.search(pattern, text, flags=re.IGNORECASE), (name, pattern)
    spark = _sql.render(text, windows_for(AS_OF), _sql.SPARK, (("cog_", "cognitive_score"),))
    assert "date_diff" not in spark and "{" not in spark
    if "{days_before}" in text:
        assert "datediff(DATE '2024-11-04', day)" in spark


@pytest.mark.parametrize("table", ["attendance", "grades", "assessments", "concerns", "activity"])
def test_spark_rendering_gives_the_same_features(tables, table):
    """Run the text rendered for Spark on DuckDB, with Spark's datediff/date_add as macros."""
    from dropoutrisk.features._duckdb_engine import DuckDBSession

    cat = default_catalogue()
    w = windows_for(AS_OF)
    with DuckDBSession({table: tables[table]}, cat) as session:
        expected = session.compute(w, enrolled_at(tables, w))[table]
        con = session.con
        con.execute("CREATE MACRO spark_datediff(a, b) AS date_diff('day', b, a)")
        con.execute("CREATE MACRO spark_date_add(d, n) AS CAST(d + n AS DATE)")
        sql = _sql.render(_sql.QUERIES[table], w, _sql.SPARK, cat.item_groups)
        assert "date_diff" not in sql
        sql = sql.replace("datediff(", "spark_datediff(").replace("date_add(", "spark_date_add(")
        got = con.execute(sql).df().set_index("student_id").astype("float64")
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_index_type=False)


def test_feature_sql_is_what_the_engine_runs(tables):
    import duckdb

    from dropoutrisk.features import feature_sql

    con = duckdb.connect()
    con.register("concerns", tables["concerns"])
    got = con.execute(feature_sql(AS_OF)["concerns"]).df().set_index("student_id")
    assert got.loc["s1", "days_since_concern"] == 15.0
    with pytest.raises(ValueError, match="dialect='oracle'"):
        feature_sql(AS_OF, dialect="oracle")


def test_csv_attendance_with_text_flags(tables, tmp_path):
    expected = build_features(tables, AS_OF, engine="pandas")
    tables["attendance"].to_csv(tmp_path / "attendance.csv", index=False)
    paths = {**tables, "attendance": tmp_path / "attendance.csv"}
    for engine in ("pandas", "duckdb"):
        assert_same_features(build_features(paths, AS_OF, engine=engine), expected)


def test_folder_of_tables(tables, tmp_path):
    expected = build_features(tables, AS_OF, engine="pandas")
    for name, frame in tables.items():
        if name == "grades":
            frame.to_csv(tmp_path / f"{name}.csv", index=False)
        else:
            frame.to_parquet(tmp_path / f"{name}.parquet")
    assert_same_features(build_features(tmp_path, AS_OF), expected)
    (tmp_path / "attendance_weekly.csv").write_text("student_id\n")
    with pytest.raises(DataError, match="read_tables"):
        build_features(str(tmp_path), AS_OF)


@pytest.mark.parametrize(("table", "column", "value"), [
    ("attendance", "absent_minutes", float("inf")),
    ("attendance", "late_minutes", 1e12),
    ("assessments", "value", float("-inf")),
])
def test_unsummable_values_in_files_are_a_data_error(tables, tmp_path, table, column, value):
    """Files reach DuckDB unvalidated; a value its exact sums cannot hold names the table."""
    frame = tables[table].copy()
    frame.loc[frame.index[-1], column] = value  # a row that enters the features
    frame.to_parquet(tmp_path / f"{table}.parquet")
    paths = {**tables, table: tmp_path / f"{table}.parquet"}
    with pytest.raises(OutOfRangeError, match=f"Table '{table}': a value the feature sums"):
        build_features(paths, AS_OF, engine="duckdb")


def test_a_folder_with_a_table_twice_or_in_another_format_is_refused(tables, tmp_path):
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    tables["grades"].to_csv(tmp_path / "grades.csv", index=False)
    with pytest.raises(DataError, match="grades.csv and grades.parquet"):
        build_features(tmp_path, AS_OF)
    (tmp_path / "grades.csv").unlink()
    (tmp_path / "concerns.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="concerns.xlsx"):
        build_features(tmp_path, AS_OF)
