"""Map the Open University Learning Analytics Dataset (OULAD) onto dropoutrisk's canonical tables.

OULAD (Kuzilek, Hlosta and Zdrahal, *Scientific Data* 4, 170171, 2017; CC BY 4.0) holds
22 module presentations of the Open University, 32,593 student registrations and
10.6 million rows of daily clicks in the virtual learning environment (VLE). Nothing
from it is in this repository: give the folder of its Parquet files.

Usage::

    python examples/oulad/oulad.py --oulad PATH/oulad/parquet --out oulad-tables
    dropoutrisk train --data oulad-tables --cohorts 2013 --days 14,30,60,90 \\
        --indicators examples/oulad/indicators.toml --out oulad-model
    dropoutrisk evaluate --model oulad-model --data oulad-tables --cohorts 2014 --out oulad-eval

The mapping (one student is one registration: a student on a module presentation):

- ``students``: ``student_id`` = ``<id_student>-<module>-<presentation>``; ``cohort`` =
  the presentation's year (2013 or 2014: train on 2013, test on 2014); ``school_id`` =
  the module; ``start_date`` = the presentation's start. OULAD gives days relative to
  the start only; its paper says presentations coded B start in February and J in
  October, so this mapping puts them on 1 February and 1 October. ``gender`` as the
  legal gender; the other columns stay under their own names for the indicator file
  (``studied_credits``, ``num_of_prev_attempts``, ``registered_days_before_start`` =
  minus ``date_registration``, ``imd_band``, ``age_band``, ``disability``,
  ``highest_education``).
- ``activity``: VLE clicks per student, site and day, with the site's ``activity_type``
  as ``kind`` (clicks before the start are kept: they count as "before the start").
- ``grades``: each submitted assessment as a course (``TMA1752``), its score as a letter
  (85+ A, 70+ B, 55+ C, 47+ D, 40+ E, below 40 F: 40 is the Open University's pass
  mark), dated on its submission day; marking delays are not in the data.
- ``assessments``: the same scores as items ``oulad_tma``, ``oulad_cma`` and
  ``oulad_exam`` (values 0-100), for the indicator file's mean scores, and
  ``oulad_days_early``: for each TMA or CMA handed in (not banked), the days between the
  submission and the deadline (negative when late), dated on the submission day.
- ``concerns``: a missed deadline (a TMA or CMA with a deadline and no submission on or
  before it) is a concern of category ``missed_tma`` or ``missed_cma`` on its deadline
  (one per student, day and category, as the schema's key asks).
- ``outcomes``: Withdrawn with an unregistration day is a ``dropout`` on that day;
  Pass and Distinction are ``completed``, and Fail ``no_diploma``, on the last day of
  the presentation. The 93 Withdrawn registrations without a day are left out (their
  label is unknown), and so are registrations withdrawn before the start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

#: Start months of the presentation codes (OULAD paper: B = February, J = October).
START_MONTH = {"B": 2, "J": 10}


def presentation_start(code: str) -> pd.Timestamp:
    """``"2013J"`` -> 2013-10-01."""
    return pd.Timestamp(int(code[:4]), START_MONTH[code[4]], 1)


def letter(score: pd.Series) -> pd.Series:
    """An OULAD score (0-100) as a grade letter; 40 is the pass mark."""
    bins = [-1, 39.999, 46.999, 54.999, 69.999, 84.999, 101]
    return pd.cut(score, bins, labels=["F", "E", "D", "C", "B", "A"]).astype(object)


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.parquet"
    if not path.exists():
        raise SystemExit(f"error: {path} does not exist; --oulad must be the folder of the "
                         f"OULAD Parquet files ({name}.parquet, studentVle_ds/, ...).")
    return pd.read_parquet(path)


def _keys(frame: pd.DataFrame) -> pd.Series:
    return (frame["id_student"].astype("int64").astype(str) + "-" + frame["code_module"]
            + "-" + frame["code_presentation"])


def students_and_outcomes(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The students and outcomes tables, and each registration's start and length."""
    info = _read(folder, "studentInfo")
    reg = _read(folder, "studentRegistration")
    courses = _read(folder, "courses")
    frame = info.merge(reg, on=["code_module", "code_presentation", "id_student"], how="left")
    frame = frame.merge(courses, on=["code_module", "code_presentation"], how="left")
    frame["student_id"] = _keys(frame)
    starts = {c: presentation_start(c) for c in frame["code_presentation"].unique()}
    frame["start"] = frame["code_presentation"].map(starts)
    withdrawn = frame["final_result"] == "Withdrawn"
    unknown = withdrawn & frame["date_unregistration"].isna()
    before = frame["date_unregistration"] < 0
    frame = frame.loc[~unknown & ~(withdrawn & before)].reset_index(drop=True)
    withdrawn = frame["final_result"] == "Withdrawn"

    students = pd.DataFrame({
        "student_id": frame["student_id"],
        "cohort": frame["code_presentation"].str[:4].astype("int64"),
        "school_id": frame["code_module"],
        "start_date": frame["start"],
        "gender": frame["gender"].map({"F": "female", "M": "male"}),
        "studied_credits": frame["studied_credits"].astype("float64"),
        "num_of_prev_attempts": frame["num_of_prev_attempts"].astype("float64"),
        "registered_days_before_start": -frame["date_registration"].astype("float64"),
        "imd_band": frame["imd_band"].replace({"10-20": "10-20%"}),
        "age_band": frame["age_band"],
        "disability": frame["disability"].map({"Y": True, "N": False}).astype("boolean"),
        "highest_education": frame["highest_education"],
    })
    end = frame["start"] + pd.to_timedelta(frame["module_presentation_length"], unit="D")
    day = frame["start"] + pd.to_timedelta(frame["date_unregistration"].fillna(0), unit="D")
    event = frame["final_result"].map({"Withdrawn": "dropout", "Pass": "completed",
                                      "Distinction": "completed", "Fail": "no_diploma"})
    outcomes = pd.DataFrame({"student_id": frame["student_id"], "event": event,
                             "date": day.where(withdrawn, end)})
    spans = frame[["student_id", "code_module", "code_presentation", "id_student", "start"]]
    return students, outcomes, spans


def write_activity(folder: Path, spans: pd.DataFrame, out: Path) -> int:
    """VLE clicks as ``activity`` (written by DuckDB: 10.6M rows never become a frame)."""
    import duckdb

    vle_ds = folder / "studentVle_ds"
    if not vle_ds.exists():
        raise SystemExit(f"error: {vle_ds} does not exist (the partitioned studentVle).")
    con = duckdb.connect()
    con.register("spans", spans.assign(id_student=spans["id_student"].astype("int64")))
    con.register("vle", _read(folder, "vle"))
    glob = str(vle_ds / "**" / "*.parquet").replace("'", "''")
    target = str(out / "activity.parquet").replace("'", "''")
    con.execute(f"""
        COPY (
            SELECT s.student_id,
                   CAST(CAST(s.start AS DATE) + CAST(v.date AS INTEGER) AS DATE) AS date,
                   COALESCE(l.activity_type, 'unknown') AS kind,
                   CAST(v.sum_click AS DOUBLE) AS count
            FROM read_parquet('{glob}', hive_partitioning = true) v
            JOIN spans s ON s.id_student = CAST(v.id_student AS BIGINT)
                        AND s.code_module = v.code_module
                        AND s.code_presentation = v.code_presentation
            LEFT JOIN vle l ON l.id_site = v.id_site
            ORDER BY s.student_id, date, kind
        ) TO '{target}' (FORMAT parquet)
    """)
    n = con.execute(f"SELECT COUNT(*) FROM read_parquet('{target}')").fetchall()[0][0]
    con.close()
    return int(n)


def assessment_tables(folder: Path, spans: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Grades, assessment items and missed deadlines (as concerns)."""
    items = _read(folder, "assessments")
    scores = _read(folder, "studentAssessment")
    key = spans.assign(id_student=spans["id_student"].astype("int64"))
    sub = scores.assign(id_student=scores["id_student"].astype("int64")).merge(
        items, on="id_assessment").merge(key, on=["id_student", "code_module",
                                                  "code_presentation"])
    sub = sub.loc[sub["score"].notna() & sub["date_submitted"].notna()]
    day = sub["start"] + pd.to_timedelta(sub["date_submitted"], unit="D")
    kind = sub["assessment_type"]
    grades = pd.DataFrame({
        "student_id": sub["student_id"].to_numpy(), "date": day.to_numpy(),
        "course": (kind + sub["id_assessment"].astype("int64").astype(str)).to_numpy(),
        "grade": letter(sub["score"]).to_numpy(),
    }).drop_duplicates(["student_id", "course", "date"])
    assessments = pd.DataFrame({
        "student_id": sub["student_id"].to_numpy(), "date": day.to_numpy(),
        "item": ("oulad_" + kind.str.lower()).to_numpy(), "value": sub["score"].to_numpy(),
    })
    # how many days before its deadline an assignment was handed in (negative: late), known
    # on the day it was handed in; banked results from an earlier presentation are left out
    timed = sub["assessment_type"].isin(["TMA", "CMA"]) & sub["date"].notna() & (
        sub["is_banked"] != 1)
    early = pd.DataFrame({
        "student_id": sub.loc[timed, "student_id"].to_numpy(), "date": day[timed].to_numpy(),
        "item": "oulad_days_early",
        "value": (sub.loc[timed, "date"] - sub.loc[timed, "date_submitted"]).to_numpy(float),
    })
    assessments = pd.concat([assessments, early], ignore_index=True).drop_duplicates(
        ["student_id", "item", "date"])

    # missed deadlines: every (registration, TMA/CMA with a deadline) without a submission
    # on or before it (a banked result counts as submitted)
    due = items.loc[items["assessment_type"].isin(["TMA", "CMA"]) & items["date"].notna()]
    pairs = key.merge(due, on=["code_module", "code_presentation"])
    handed = scores.assign(id_student=scores["id_student"].astype("int64"))
    pairs = pairs.merge(handed[["id_student", "id_assessment", "date_submitted", "is_banked"]],
                        on=["id_student", "id_assessment"], how="left")
    missed = pairs["date_submitted"].isna() | (
        (pairs["date_submitted"] > pairs["date"]) & (pairs["is_banked"] != 1))
    late = pairs.loc[missed]
    # the schema keeps one concern per (student, day, category): two deadlines of one kind
    # on the same day are one missed-deadline day
    concerns = pd.DataFrame({
        "student_id": late["student_id"].to_numpy(),
        "date": (late["start"] + pd.to_timedelta(late["date"], unit="D")).to_numpy(),
        "category": ("missed_" + late["assessment_type"].str.lower()).to_numpy(),
    }).drop_duplicates()
    return {"grades": grades, "assessments": assessments, "concerns": concerns}


def convert(oulad: str | Path, out: str | Path) -> dict[str, int]:
    """Write the canonical tables of the OULAD Parquet folder ``oulad`` into ``out``.

    Returns the row count of each table written.
    """
    folder, out = Path(oulad), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    students, outcomes, spans = students_and_outcomes(folder)
    counts = {"students": len(students), "outcomes": len(outcomes)}
    students.to_parquet(out / "students.parquet", index=False)
    outcomes.to_parquet(out / "outcomes.parquet", index=False)
    for name, frame in assessment_tables(folder, spans).items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
        counts[name] = len(frame)
    counts["activity"] = write_activity(folder, spans, out)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oulad", required=True,
                        help="Folder of the OULAD Parquet files (studentInfo.parquet, ...).")
    parser.add_argument("--out", required=True, help="Folder to write the canonical tables to.")
    args = parser.parse_args(argv)
    counts = convert(args.oulad, args.out)
    for name, n in counts.items():
        print(f"{name}: {n:,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
