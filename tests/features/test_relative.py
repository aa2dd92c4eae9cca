"""Indicators relative to their group: percentile, ratio and difference among the students
of the same school (or cohort, or all) scored at the same as_of."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk.errors import IndicatorFileError, OptionalDataWarning, ParameterError
from dropoutrisk.features import (
    DuckDBEngine,
    _sql,
    build_features,
    build_training_frame,
    default_catalogue,
    load_indicators,
)
from dropoutrisk.features._custom import pandas_relative, peer_values, relative_indicators
from dropoutrisk.schema import snapshot_dates

from .feature_tables import AS_OF, assert_same_features
from .test_leakage import _inject_future


def _entry(name, relative, of, within=None, direction="lower"):
    source = {"relative": relative, "of": of}
    if within:
        source["within"] = within
    return {"name": name, "dimension": "behavioural", "actionable": True,
            "description_en": f"{of}, {relative}", "description_sv": f"{of}, {relative}",
            "risk_direction": direction, "source": source}


RELATIVE = [
    _entry("att4w_pct", "percentile", "attendance_rate_4w"),
    _entry("late_ratio", "ratio", "late_minutes", direction="higher"),
    _entry("att_diff", "difference", "attendance_rate"),
    _entry("att_pct_all", "percentile", "attendance_rate", within="all"),
    _entry("att_pct_cohort", "percentile", "attendance_rate_2w", within="cohort"),
]
NAMES = [e["name"] for e in RELATIVE]


@pytest.fixture(scope="module")
def catalogue():
    return load_indicators(RELATIVE)


def _group(values, school="A", start=0):
    """Students of one school with an attendance rate (over the last 4 weeks) each."""
    ids = [f"p{start + k:03d}" for k in range(len(values))]
    return ids, [school] * len(values), list(values)


def _peer_frame(values_by_school):
    ids, schools, vals = [], [], []
    for school, values in values_by_school.items():
        i, s, v = _group(values, school, start=len(ids))
        ids += i
        schools += s
        vals += v
    return pd.DataFrame({"school_id": schools, "cohort": 2024, "attendance_rate_4w": vals},
                        index=pd.Index(ids, name="student_id"))


def _relative(frame, entries):
    cat = load_indicators(entries)
    got = pandas_relative(peer_values(frame, relative_indicators(cat)), MIN_CELL)
    return got.pivot(index="student_id", columns="feature", values="relative_value").reindex(
        frame.index)


def test_values_by_hand():
    # school A: 12 students, two tied at the bottom and one without a value
    a = [0.5, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.9, 0.9, 0.95, 1.0, np.nan]
    # school B: 9 students with a value: below the small-cell rule
    b = [0.2] * 9
    frame = _peer_frame({"A": a, "B": b})
    got = _relative(frame, [_entry("p", "percentile", "attendance_rate_4w"),
                            _entry("r", "ratio", "attendance_rate_4w"),
                            _entry("d", "difference", "attendance_rate_4w")])
    n = 11  # with a value
    # mid-rank percentile: (lower + half the equal, counting oneself) / n
    assert got["p"].iloc[0] == pytest.approx((0 + 2 / 2) / n)
    assert got["p"].iloc[4] == pytest.approx((4 + 3 / 2) / n)  # 0.8, three of them
    assert got["p"].iloc[10] == pytest.approx((10 + 0.5) / n)
    median = 0.8  # the 6th of 11 sorted values
    assert got["r"].iloc[0] == pytest.approx(0.5 / median)
    assert got["d"].iloc[9] == pytest.approx(0.95 - median)
    assert got.iloc[11].isna().all()  # no value of its own
    assert got.iloc[12:].isna().all().all()  # 9 students with a value: suppressed
    # one more student makes the cell: 10 values reach MIN_CELL
    frame = _peer_frame({"A": a, "B": b + [0.4]})
    got = _relative(frame, [_entry("p", "percentile", "attendance_rate_4w")])
    assert got["p"].iloc[12:].notna().all() and MIN_CELL == 10
    assert got["p"].iloc[-1] == pytest.approx((9 + 0.5) / 10)


def test_ratio_needs_a_median_above_zero_and_an_even_median_is_the_mean_of_the_middle():
    frame = _peer_frame({"A": [0.0] * 6 + [1.0] * 4, "B": [1.0, 2.0, 3.0, 4.0] * 3})
    got = _relative(frame, [_entry("r", "ratio", "attendance_rate_4w"),
                            _entry("d", "difference", "attendance_rate_4w")])
    assert got["r"].iloc[:10].isna().all()  # median 0: no ratio
    assert got["d"].iloc[6] == 1.0
    assert got["d"].iloc[10] == pytest.approx(1.0 - 2.5)  # (2 + 3) / 2
    assert got["r"].iloc[13] == pytest.approx(4.0 / 2.5)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_built_features_by_hand(synthetic_tables, catalogue, engine):
    X = build_features(synthetic_tables, "2023-10-30", catalogue=catalogue, engine=engine)
    assert X[NAMES].notna().any().all()
    by_school = X.groupby("school_id", observed=True)
    rank = by_school["attendance_rate_4w"].rank(method="average")
    n = by_school["attendance_rate_4w"].transform("count")
    np.testing.assert_allclose(X["att4w_pct"], (rank - 0.5) / n, rtol=1e-12)
    median = by_school["late_minutes"].transform("median")
    np.testing.assert_allclose(X["late_ratio"], X["late_minutes"] / median.where(median > 0),
                               rtol=1e-12)
    np.testing.assert_allclose(X["att_diff"], X["attendance_rate"]
                               - by_school["attendance_rate"].transform("median"), rtol=1e-12)
    everyone = X["attendance_rate"].rank(method="average")
    np.testing.assert_allclose(X["att_pct_all"], (everyone - 0.5)
                               / X["attendance_rate"].count(), rtol=1e-12)
    by_cohort = X.groupby("cohort")["attendance_rate_2w"]
    np.testing.assert_allclose(X["att_pct_cohort"], (by_cohort.rank(method="average") - 0.5)
                               / by_cohort.transform("count"), rtol=1e-12)


def test_engines_give_the_same_bits(synthetic_tables, catalogue):
    dates = snapshot_dates([2022, 2023], weeks=(6, 20))
    Xp, _ = build_training_frame(synthetic_tables, dates, catalogue=catalogue, engine="pandas")
    Xd, _ = build_training_frame(synthetic_tables, dates, catalogue=catalogue,
                                 engine=DuckDBEngine(memory_limit="500MB", threads=2))
    assert Xp[NAMES].notna().sum().min() > 100
    assert_same_features(Xp, Xd, tol=0.0)


def test_each_snapshot_date_is_its_own_group(synthetic_tables, catalogue):
    # stacking two dates must give each date the values it has alone
    dates = snapshot_dates([2023], weeks=(6, 20))
    X, _ = build_training_frame(synthetic_tables, dates, catalogue=catalogue, engine="pandas")
    for d in sorted(X["as_of"].unique()):
        alone = build_features(synthetic_tables, pd.Timestamp(d), catalogue=catalogue,
                               engine="pandas")
        pd.testing.assert_frame_equal(X.loc[X["as_of"] == d, NAMES], alone[NAMES])


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("offset_days", [0, 40])
def test_future_events_change_nothing(tables, engine, offset_days):
    cat = load_indicators([_entry("clicks_pct", "percentile", "activity_count_2w", "all"),
                           _entry("att_diff", "difference", "attendance_rate", "all")])
    # the hand-made tables have five students: add peers to reach the small-cell rule
    tables = _with_peers(tables)
    clean = build_features(tables, AS_OF, catalogue=cat, engine=engine)
    assert clean[["clicks_pct", "att_diff"]].notna().any().all()
    leaky = build_features(_inject_future(tables, AS_OF + dt.timedelta(days=offset_days)),
                           AS_OF, catalogue=cat, engine=engine)
    pd.testing.assert_frame_equal(leaky, clean)
    # the same injection a day before as_of, for s1 and s2 only, moves them: the test can
    # see a leak (an injection for everyone would leave the ranks as they are)
    two = _inject_future({**tables, "students": tables["students"].iloc[:2]},
                         AS_OF - dt.timedelta(days=1))
    moved = build_features({**two, "students": tables["students"]}, AS_OF, catalogue=cat,
                           engine=engine)
    assert not moved["clicks_pct"].equals(clean["clicks_pct"])
    assert not moved["att_diff"].equals(clean["att_diff"])


def _with_peers(tables, n=12):
    """The hand-made tables plus ``n`` peers of s1 in school A with activity and attendance."""
    rng = np.random.default_rng(3)
    ids = [f"peer{k:02d}" for k in range(n)]
    students = pd.concat([tables["students"], pd.DataFrame({
        "student_id": ids, "cohort": 2024, "school_id": "A"})], ignore_index=True)
    days = pd.bdate_range("2024-09-02", "2024-11-01")
    activity = pd.concat([tables["activity"], pd.DataFrame({
        "student_id": np.repeat(ids, len(days)), "date": np.tile(days, n), "kind": "login",
        "count": rng.integers(0, 4, n * len(days)).astype(float)})], ignore_index=True)
    attendance = pd.concat([tables["attendance"], pd.DataFrame({
        "student_id": np.repeat(ids, len(days)), "date": np.tile(days, n),
        "scheduled_minutes": 300.0, "absent_minutes": rng.choice([0.0, 300.0], n * len(days),
                                                                  p=[0.9, 0.1]),
        "excused": True, "late_minutes": 0.0})], ignore_index=True)
    return {**tables, "students": students, "activity": activity, "attendance": attendance}


def test_a_students_value_depends_on_who_is_scored_with_them(synthetic_tables, catalogue):
    X = build_features(synthetic_tables, "2023-10-30", catalogue=catalogue, engine="pandas")
    school = X["school_id"].iloc[0]
    mates = X.index[X["school_id"] == school]
    everyone = synthetic_tables["students"]["student_id"]
    Y = build_features(_only(synthetic_tables, everyone[~everyone.isin(mates[1:len(mates) // 2])]), "2023-10-30", catalogue=catalogue, engine="pandas")
    kept = mates[0]
    own = [c for c in X.columns if c not in NAMES]
    # the student's own features stay; the ones relative to the school move
    pd.testing.assert_series_equal(X.loc[kept, own], Y.loc[kept, own])
    assert X.loc[kept, "att4w_pct"] != Y.loc[kept, "att4w_pct"]
    # a school scored alone with fewer than MIN_CELL students gets none
    few = X.index[X["school_id"] == school][: MIN_CELL - 1]
    Z = build_features(_only(synthetic_tables, few), "2023-10-30", catalogue=catalogue, engine="duckdb")
    assert Z[["att4w_pct", "late_ratio", "att_diff"]].isna().all().all()


def _only(tables, ids):
    """The tables of the students ``ids`` only."""
    keep = set(ids)
    return {name: t.loc[t["student_id"].isin(keep)] for name, t in tables.items()}


def test_left_out_with_the_feature_they_compare(tables):
    cat = load_indicators([_entry("clicks_pct", "percentile", "activity_count_2w")])
    del tables["activity"]
    with pytest.warns(OptionalDataWarning) as caught:
        X = build_features(tables, AS_OF, catalogue=cat)
    gone = [w for w in caught if w.category is OptionalDataWarning][0].message.sources
    assert gone["clicks_pct"] == "the activity table" == gone["activity_count_2w"]
    assert X["clicks_pct"].isna().all()


def test_a_subset_without_the_compared_feature_is_refused(tables, catalogue):
    sub = catalogue.subset(["attendance_rate", "att4w_pct"])
    with pytest.raises(ParameterError, match=r"att4w_pct \(of 'attendance_rate_4w'\)"):
        build_features(tables, AS_OF, catalogue=sub)


@pytest.mark.parametrize(("source", "problem"), [
    ('{ relative = "percentile", of = "no_such_feature" }', "no_such_feature"),
    ('{ relative = "percentile", of = "gender" }', "categorical"),
    ('{ relative = "percentile", of = "x0" }', "itself relative"),
    ('{ relative = "percentile" }', "needs of"),
    ('{ relative = "rank", of = "attendance_rate" }', "relative"),
    ('{ relative = "ratio", of = "attendance_rate", within = "class" }', "within"),
    ('{ relative = "ratio", of = "attendance_rate", window_days = 14 }', "window_days"),
    ('{ table = "activity", relative = "ratio", of = "attendance_rate" }', "leave out table"),
    ('{ table = "activity", aggregate = "count", of = "attendance_rate" }', "relative indicators only"),
])
def test_bad_relative_indicators_name_the_indicator_and_field(tmp_path, source, problem):
    text = ""
    for name, src in (("x0", '{ relative = "percentile", of = "attendance_rate" }'),
                      ("x1", source)):
        text += (f'[[indicators]]\nname = "{name}"\ndimension = "behavioural"\n'
                 'actionable = true\ndescription_en = "X"\ndescription_sv = "X"\n'
                 f'risk_direction = "lower"\nsource = {src}\n\n')
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IndicatorFileError, match="x1") as err:
        load_indicators(path)
    assert problem in str(err.value)


def test_catalogue_fields_and_defaults(catalogue):
    ind = catalogue.get("att4w_pct")
    assert (ind.unit, ind.source_table) == ("percentile", "attendance")
    assert ind.window == "last 4 weeks; percentile within school_id at the same as_of"
    assert ind.template_en == "attendance_rate_4w, percentile: {value}."  # no median of a rank
    assert catalogue.get("late_ratio").unit == "fraction"
    assert catalogue.get("att_diff").unit == default_catalogue().get("attendance_rate").unit
    assert "`att4w_pct`" in catalogue.to_markdown()


def test_the_query_is_portable_and_the_spark_text_gives_the_same_values(synthetic_tables,
                                                                       catalogue):
    import re

    import duckdb

    from .test_engines import _DUCKDB_ONLY

    for dialect in (_sql.DUCKDB, _sql.SPARK):
        text = _sql.relative_sql(dialect)
        assert "{" not in text
        for pattern in _DUCKDB_ONLY:
            assert not re.search(pattern, text, flags=re.IGNORECASE), pattern
    X = build_features(synthetic_tables, "2023-10-30", catalogue=catalogue, engine="pandas")
    peers = peer_values(X, relative_indicators(catalogue))
    con = duckdb.connect()
    con.register("peer_values", peers)
    got = con.execute(_sql.relative_sql(_sql.SPARK)).df()
    want = pandas_relative(peers, MIN_CELL)
    key = ["feature", "student_id"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True)[["student_id", "feature", "relative_value"]],
        want.sort_values(key).reset_index(drop=True), check_dtype=False)


def _oulad_like(tables):
    """The peers' tables with the kinds, items, categories and columns of the OULAD mapping."""
    t = _with_peers(tables)
    rng = np.random.default_rng(5)
    students = t["students"].copy()
    n = len(students)
    students["studied_credits"] = rng.choice([30.0, 60.0, 120.0], n)
    students["num_of_prev_attempts"] = rng.integers(0, 2, n).astype(float)
    students["registered_days_before_start"] = rng.integers(-5, 90, n).astype(float)
    act = t["activity"].copy()
    act["kind"] = rng.choice(["forumng", "oucontent", "quiz", "homepage", "resource"], len(act))
    ids = students["student_id"].tolist()
    days = pd.to_datetime(["2024-09-20", "2024-10-11", "2024-10-25"])
    assess = pd.DataFrame({
        "student_id": np.repeat(ids, 9), "date": np.tile(np.repeat(days, 3), n),
        "item": np.tile(["oulad_tma", "oulad_cma", "oulad_days_early"], 3 * n),
        "value": rng.integers(-3, 80, 9 * n).astype(float)})
    concerns = pd.DataFrame({"student_id": ids[::2], "date": pd.Timestamp("2024-10-15"),
                             "category": "missed_tma"})
    return {**t, "students": students, "activity": act, "assessments": assess,
            "concerns": concerns}


def _shifted(tables, day, ids=None):
    """Every event row copied to ``day`` (for ``ids`` only, if given) with extreme values."""
    out = dict(tables)
    for name, column, value in (("activity", "count", 10_000.0), ("assessments", "value", -50.0),
                                ("concerns", None, None)):
        rows = tables[name] if ids is None else tables[name].loc[
            tables[name]["student_id"].isin(ids)]
        extra = rows.assign(date=pd.Timestamp(day))
        if column:
            extra[column] = value
        extra = extra.drop_duplicates([c for c in extra.columns if c != column])
        out[name] = pd.concat([tables[name], extra], ignore_index=True)
    return out


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_oulad_indicator_file_is_leak_free(tables, engine):
    """Every indicator of examples/oulad/indicators.toml ignores events on or after as_of."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "oulad" / "indicators.toml"
    cat = load_indicators(path)
    own = [i.name for i in cat.indicators if i.computation is not None
           and i.dimension != "background"]
    assert len(relative_indicators(cat)) >= 5
    data = _oulad_like(tables)
    clean = build_features(data, AS_OF, catalogue=cat, engine=engine)
    assert clean[own].notna().any().all(), clean[own].isna().all()[lambda s: s].index.tolist()
    for offset in (0, 30):
        later = build_features(_shifted(data, AS_OF + dt.timedelta(days=offset)), AS_OF,
                               catalogue=cat, engine=engine)
        pd.testing.assert_frame_equal(later, clean)
    # the same rows a day before as_of, for a few students, move every event-based indicator
    moved = build_features(_shifted(data, AS_OF - dt.timedelta(days=1), ["peer00", "peer03"]),
                           AS_OF, catalogue=cat, engine=engine)
    from_events = [i.name for i in cat.indicators if i.computation is not None
                   and i.computation.table in ("activity", "assessments", "concerns")]
    # (clicks before the start are, by definition, untouched by the day before as_of)
    rel_events = [i.name for i in relative_indicators(cat)
                  if cat.get(i.computation.of).source_table in ("activity", "assessments")
                  and i.computation.of != "activity_before_start"]
    unchanged = [c for c in from_events + rel_events if moved[c].equals(clean[c])]
    assert unchanged == []
