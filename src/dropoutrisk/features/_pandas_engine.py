"""The pandas engine: event-window features for small, in-memory tables.

Each function mirrors one query of :mod:`dropoutrisk.features._sql` step by
step (same filters, same running sums, same formulas). Minutes are summed as
whole :data:`~dropoutrisk.features._sql.UNITS_PER_MINUTE` and the weekly
attendance rates are added in week order, as in the SQL, so the attendance
features come out with the same bits as DuckDB's; the others agree to
floating-point rounding. Every function returns one row per student that has
events before ``as_of``, indexed by student_id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dropoutrisk.features._catalogue import Catalogue
from dropoutrisk.features._custom import custom_by_table, pandas_values
from dropoutrisk.features._inputs import Windows
from dropoutrisk.features._sql import (
    BEFORE_START_DAYS,
    MAX_RUN_GAP_DAYS,
    TREND_WEEKS,
    UNITS_PER_MINUTE,
)
from dropoutrisk.schema import GRADE_POINTS

CORE_PREFIXES: tuple[str, ...] = ("SVE", "SVA", "ENG", "MAT")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    out = num / den.where(den > 0)
    return out.astype("float64")


def _before(frame: pd.DataFrame, w: Windows) -> pd.DataFrame:
    return frame.loc[frame["date"] < pd.Timestamp(w.as_of)]


def _days_before(dates: pd.Series, w: Windows) -> pd.Series:
    return (pd.Timestamp(w.as_of) - dates).dt.days.astype("int64")


def _units(minutes: pd.Series) -> pd.Series:
    """Minutes as whole units, ``FLOOR(m * UNITS_PER_MINUTE + 0.5)`` as in the SQL.

    Kept as float64: the units and their sums are integers below 2**53, so every
    sum is exact and equals the SQL's BIGINT sum.
    """
    return np.floor(minutes.astype("float64") * UNITS_PER_MINUTE + 0.5)


def _in_order(terms: list[np.ndarray]) -> np.ndarray:
    """``((t0 + t1) + t2) + ...``, the order the SQL adds the weekly terms in."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _starts(frame: pd.DataFrame, enrolled: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s rows of enrolled students, with their ``start`` and ``baseline_end``.

    The inner join of the SQL (``JOIN enrolment``).
    """
    e = enrolled.set_index("student_id")
    pos = e.index.get_indexer(frame["student_id"])
    keep = pos >= 0
    frame = frame.loc[keep]
    pos = pos[keep]
    return frame.assign(start=e["start"].to_numpy()[pos],
                        baseline_end=e["baseline_end"].to_numpy()[pos])


def attendance_daily(
    att: pd.DataFrame, w: Windows, enrolled: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per student and day inside the windows (lessons summed).

    Minutes are in whole units (:func:`_units`). Students are integer codes here
    (grouping by codes is much cheaper than by strings on long logs); the second
    value maps a code back to its student_id. Only enrolled students are kept,
    each with the ``start`` and ``baseline_end`` of its windows.
    """
    keep = (att["date"] >= pd.Timestamp(w.attendance_start)) & (att["date"] < pd.Timestamp(w.as_of))
    att = _starts(att.loc[keep], enrolled)
    codes, students = pd.factorize(att["student_id"])
    excused = att["excused"]
    known = excused.notna().to_numpy()
    unexcused = (excused == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    absent = att["absent_minutes"]
    sched = att["scheduled_minutes"]
    sched_pos = sched > 0
    late = att["late_minutes"]
    absent_u = _units(absent)
    rows = pd.DataFrame({
        "student_id": codes,
        "date": att["date"].to_numpy(),
        "sched": _units(sched),
        "absent": absent_u,
        "absent_known": absent_u.where(known),
        "absent_unexcused": absent_u.where(known).where(~known | unexcused, 0.0),
        "late_count": np.where(late > 0, 1.0, np.where(late.notna(), 0.0, np.nan)),
        "late_minutes": _units(late),
        "absent_lessons": (sched_pos & (absent >= sched)).astype("float64"),
        "present_lessons": (sched_pos & (absent < sched)).astype("float64"),
    })
    daily = rows.groupby(["student_id", "date"], sort=True).sum(min_count=1).reset_index()
    per_code = att[["start", "baseline_end"]].groupby(codes, sort=True).first()
    daily = daily.join(per_code, on="student_id")
    return daily, np.asarray(students, dtype=object)


def attendance_features(att: pd.DataFrame, w: Windows, enrolled: pd.DataFrame) -> pd.DataFrame:
    """The attendance features (``ATTENDANCE_SQL``)."""
    daily, students = attendance_daily(att, w, enrolled)
    ts = pd.Timestamp
    out = pd.DataFrame(index=pd.Index(daily["student_id"].unique(), name="student_id"))

    year = daily.loc[daily["date"] >= daily["start"]].drop(columns=["start", "baseline_end"])
    g = year.drop(columns="date").groupby("student_id", sort=False).sum(min_count=1)
    out["attendance_rate"] = 1.0 - _ratio(g["absent"], g["sched"])
    out["unexcused_share"] = _ratio(g["absent_unexcused"], g["absent_known"])
    out["late_count"] = g["late_count"]
    out["late_minutes"] = g["late_minutes"] / UNITS_PER_MINUTE

    recent = daily.loc[daily["date"] >= ts(w.d4w)]
    in2 = recent["date"] >= ts(w.d2w)
    r = pd.DataFrame({
        "student_id": recent["student_id"],
        "sched_4w": recent["sched"],
        "absent_4w": recent["absent"],
        "sched_2w": recent["sched"].where(in2),
        "absent_2w": recent["absent"].where(in2),
    }).groupby("student_id", sort=False).sum(min_count=1)
    out["attendance_rate_2w"] = 1.0 - _ratio(r["absent_2w"], r["sched_2w"])
    out["attendance_rate_4w"] = 1.0 - _ratio(r["absent_4w"], r["sched_4w"])

    base = daily.loc[(daily["date"] >= daily["start"]) & (daily["date"] < daily["baseline_end"])]
    b = base.groupby("student_id", sort=False)[["sched", "absent"]].sum()
    base_rate = 1.0 - _ratio(b["absent"], b["sched"])
    change = out["attendance_rate_4w"] - base_rate.reindex(out.index)
    ends = daily.groupby("student_id", sort=False)["baseline_end"].first().reindex(out.index)
    out["attendance_change_baseline"] = change.where(ends <= ts(w.d4w))

    # Weekly series: week 7 is the 7 days before as_of, week 0 the oldest of eight.
    last8 = daily.loc[daily["date"] >= ts(w.d8w)]
    wk = pd.DataFrame({
        "student_id": last8["student_id"],
        "x": 7 - (_days_before(last8["date"], w) - 1) // 7,
        "sched": last8["sched"],
        "absent": last8["absent"],
    }).groupby(["student_id", "x"], sort=True).sum()
    wk = wk.loc[wk["sched"] > 0]
    rates = (1.0 - wk["absent"] / wk["sched"]).unstack("x")
    rates = rates.reindex(index=out.index, columns=range(TREND_WEEKS))
    out["attendance_trend_8w"], out["attendance_volatility"] = _trend_and_volatility(rates)

    out["longest_absence_streak_days"] = _longest_streak(year).reindex(out.index)
    out.index = pd.Index(students[out.index.to_numpy(dtype="int64")], name="student_id")
    return out


def _trend_and_volatility(rates: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Slope and volatility of the weekly rates (columns 0..7, NaN for no lessons).

    The running sums are built as ``ATTENDANCE_SQL`` builds them: one week at a
    time in week order, over the weeks with lessons (slope) and over the
    changes between two such consecutive weeks (volatility).
    """
    y = rates.to_numpy(dtype="float64")
    has = ~np.isnan(y)
    weeks = range(y.shape[1])
    dy = {k: np.where(has[:, k] & has[:, k - 1], y[:, k] - y[:, k - 1], np.nan)
          for k in weeks if k > 0}
    sums = pd.DataFrame({
        "n": has.sum(1).astype("float64"),
        "sx": (has * np.arange(y.shape[1])).sum(1).astype("float64"),
        "sxx": (has * np.arange(y.shape[1]) ** 2).sum(1).astype("float64"),
        "sy": _in_order([np.where(has[:, k], y[:, k], 0.0) for k in weeks]),
        "sxy": _in_order([np.where(has[:, k], k * y[:, k], 0.0) for k in weeks]),
    }, index=rates.index)
    changes = pd.DataFrame({
        "n": sum((~np.isnan(d)).astype("int64") for d in dy.values()).astype("float64"),
        "s": _in_order([np.where(np.isnan(d), 0.0, d) for d in dy.values()]),
        "ss": _in_order([np.where(np.isnan(d), 0.0, d * d) for d in dy.values()]),
    }, index=rates.index)
    return slope_from_sums(sums), std_from_sums(changes)


def slope_from_sums(s: pd.DataFrame) -> pd.Series:
    """OLS slope from running sums (n, Σx, Σy, Σxy, Σx²); NaN with fewer than 3 points."""
    den = s["n"] * s["sxx"] - s["sx"] * s["sx"]
    slope = (s["n"] * s["sxy"] - s["sx"] * s["sy"]) / den.where(den != 0)
    return slope.where(s["n"] >= 3).astype("float64")


def std_from_sums(s: pd.DataFrame) -> pd.Series:
    """Sample standard deviation from running sums (n, Σd, Σd²); NaN with fewer than 2."""
    var = (s["ss"] - s["s"] * s["s"] / s["n"]) / (s["n"] - 1).where(s["n"] >= 2)
    return np.sqrt(var.clip(lower=0.0)).astype("float64")


def _longest_streak(year: pd.DataFrame) -> pd.Series:
    """Longest run of fully absent school days (see ``ATTENDANCE_SQL``).

    A day is fully absent with an absent lesson and no attended one. A run goes
    on over days without lessons, and ends at a day with an attended lesson or
    after a break of more than ``MAX_RUN_GAP_DAYS`` calendar days.
    """
    days = year.loc[(year["absent_lessons"] > 0) | (year["present_lessons"] > 0)]
    present = (days["present_lessons"] > 0).astype("int64")
    # present days so far, per student; days come sorted by student and date
    seen_present = present.groupby(days["student_id"], sort=False).cumsum()
    full = days.loc[present == 0, ["student_id", "date"]].assign(p=seen_present[present == 0])
    by_student = full.groupby("student_id", sort=False)
    gap = (full["date"] - by_student["date"].shift()).dt.days
    start = gap.isna() | (gap > MAX_RUN_GAP_DAYS) | (full["p"] != by_student["p"].shift())
    run = start.astype("int64").groupby(full["student_id"], sort=False).cumsum()
    longest = run.groupby([full["student_id"], run], sort=False).size().groupby(level=0).max()
    school = pd.Index(days["student_id"].unique())
    return longest.reindex(school, fill_value=0).astype("float64")


def grade_features(grades: pd.DataFrame, w: Windows) -> pd.DataFrame:
    g = _before(grades, w)
    g = g.assign(points=g["grade"].map(GRADE_POINTS).astype("float64"))
    latest = g.sort_values(["student_id", "course", "date", "grade"], kind="mergesort")
    latest = latest.drop_duplicates(["student_id", "course"], keep="last")
    course = latest["course"].str.upper()
    core = np.zeros(len(latest), dtype=bool)
    for p in CORE_PREFIXES:
        core |= course.str.startswith(p).to_numpy()
    failed = (latest["grade"] == "F").to_numpy()
    cs = pd.DataFrame({
        "student_id": latest["student_id"],
        "n": 1.0,
        "failed": failed.astype("float64"),
        "core_failed": (failed & core).astype("float64"),
        "ungraded": (latest["grade"] == "-").astype("float64"),
        "points": latest["points"],
    }).groupby("student_id", sort=False)
    sums = cs[["n", "failed", "ungraded"]].sum()
    out = pd.DataFrame(index=pd.Index(sums.index, name="student_id"))
    out["failed_courses"] = sums["failed"]
    out["failed_core_course"] = cs["core_failed"].max()
    out["ungraded_share"] = sums["ungraded"] / sums["n"]
    out["grade_point_mean"] = cs["points"].mean()

    graded = g.loc[g["points"].notna()]
    term = graded["date"].dt.year * 2 + (graded["date"].dt.month >= 7).astype("int64")
    tm = (
        pd.DataFrame({"student_id": graded["student_id"], "term": term, "p": graded["points"]})
        .groupby(["student_id", "term"], sort=True)["p"].mean()
        .reset_index()
    )
    tm["r"] = tm.groupby("student_id", sort=False)["term"].rank(method="first", ascending=False)
    last = tm.loc[tm["r"] == 1].set_index("student_id")["p"]
    prev = tm.loc[tm["r"] == 2].set_index("student_id")["p"]
    out["grade_point_change"] = (last - prev.reindex(last.index)).reindex(out.index)
    return out.astype("float64")


def assessment_features(assess: pd.DataFrame, w: Windows, catalogue: Catalogue) -> pd.DataFrame:
    a = _before(assess, w)
    a = a.loc[a["value"].notna()]
    items = pd.Series(a["item"].unique())
    feature_of = {it: catalogue.item_feature(it) for it in items}
    a = a.assign(feature=a["item"].map(feature_of)).dropna(subset=["feature"])
    latest = a.sort_values(["student_id", "item", "date", "value"], kind="mergesort")
    latest = latest.drop_duplicates(["student_id", "item"], keep="last")
    out = latest.pivot_table(index="student_id", columns="feature", values="value",
                             aggfunc="mean")
    out.columns.name = None
    features = sorted({f for _, f in catalogue.item_groups})
    return out.reindex(columns=features).astype("float64")


def concern_features(concerns: pd.DataFrame, w: Windows) -> pd.DataFrame:
    c = _before(concerns, w)
    days = _days_before(c["date"], w)
    frame = pd.DataFrame({
        "student_id": c["student_id"],
        "concerns_30d": (c["date"] >= pd.Timestamp(w.d30)).astype("float64"),
        "concerns_90d": (c["date"] >= pd.Timestamp(w.d90)).astype("float64"),
        "days_since_concern": days.astype("float64"),
    }).groupby("student_id", sort=False)
    out = frame[["concerns_30d", "concerns_90d"]].sum()
    out["days_since_concern"] = frame["days_since_concern"].min()
    return out.astype("float64")


def activity_features(act: pd.DataFrame, w: Windows, enrolled: pd.DataFrame) -> pd.DataFrame:
    """The activity features (``ACTIVITY_SQL``): one row per enrolled student."""
    ts = pd.Timestamp
    a = act.loc[(act["date"] < ts(w.as_of)) & (act["count"] > 0)]
    a = _starts(a, enrolled)
    since = a["date"] >= a["start"]
    n = _units(a["count"])
    days_before = _days_before(a["date"], w)
    x = 7 - (days_before - 1) // 7
    in4 = since & (a["date"] >= ts(w.d4w))
    before = (~since) & (a["date"] >= a["start"] - pd.Timedelta(days=BEFORE_START_DAYS))
    parts = {
        "n_all": n.where(since),
        "n_2w": n.where(since & (a["date"] >= ts(w.d2w))),
        "n_4w": n.where(in4),
        "n_before": n.where(before),
        "n_b": n.where(since & (a["date"] < a["baseline_end"])),
        "days_since": days_before.where(since).astype("float64"),
    }
    in8 = since & (a["date"] >= ts(w.d8w))
    for k in range(TREND_WEEKS):
        parts[f"w{k}"] = n.where(in8 & (x == k))
    frame = pd.DataFrame(parts).assign(student_id=a["student_id"].to_numpy())
    g = frame.groupby("student_id", sort=False)
    sums = g[[c for c in parts if c != "days_since"]].sum(min_count=1)
    sums["days_since"] = g["days_since"].min()
    sums["days_4w"] = (
        a.loc[in4, ["student_id", "date"]].drop_duplicates().groupby("student_id").size()
    )
    e = enrolled.set_index("student_id")
    sums = sums.reindex(e.index)
    out = pd.DataFrame(index=pd.Index(e.index, name="student_id"))
    out["activity_count"] = sums["n_all"].fillna(0.0) / UNITS_PER_MINUTE
    out["activity_count_2w"] = sums["n_2w"].fillna(0.0) / UNITS_PER_MINUTE
    out["activity_count_4w"] = sums["n_4w"].fillna(0.0) / UNITS_PER_MINUTE
    out["activity_days_4w"] = sums["days_4w"].fillna(0.0).astype("float64")
    out["days_since_activity"] = sums["days_since"].fillna(
        e["days_since_start"].astype("float64"))
    out["activity_before_start"] = sums["n_before"].fillna(0.0) / UNITS_PER_MINUTE
    since_start = e["days_since_start"].to_numpy()
    weekly = pd.DataFrame({
        k: np.where(since_start >= 7 * (TREND_WEEKS - k),
                    sums[f"w{k}"].fillna(0.0).to_numpy() / UNITS_PER_MINUTE, np.nan)
        for k in range(TREND_WEEKS)
    }, index=out.index)
    out["activity_trend_8w"], _ = _trend_and_volatility(weekly)
    change = (out["activity_count_4w"] / 28.0
              - sums["n_b"].fillna(0.0) / UNITS_PER_MINUTE / 14.0)
    out["activity_change_baseline"] = change.where(e["baseline_ok"] == 1)
    return out.astype("float64")


def run(
    events: dict[str, pd.DataFrame], w: Windows, catalogue: Catalogue, enrolled: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Compute every event group whose table is present, for the students of ``enrolled``."""
    out: dict[str, pd.DataFrame] = {}
    if "activity" in events:
        out["activity"] = activity_features(events["activity"], w, enrolled)
    if "attendance" in events:
        out["attendance"] = attendance_features(events["attendance"], w, enrolled)
    if "grades" in events:
        out["grades"] = grade_features(events["grades"], w)
    if "assessments" in events:
        out["assessments"] = assessment_features(events["assessments"], w, catalogue)
    if "concerns" in events:
        out["concerns"] = concern_features(events["concerns"], w)
    for name, indicators in custom_by_table(catalogue).items():
        if name in events:
            out[f"custom:{name}"] = pandas_values(name, events[name], indicators,
                                                  pd.Timestamp(w.as_of), enrolled)
    return out
