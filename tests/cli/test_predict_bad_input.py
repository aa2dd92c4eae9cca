"""Bad input never loses data: ``dropoutrisk predict`` on broken exports, models and paths.

Every case runs the command line in process and checks the documented exit
code, a message that names the problem, no traceback, and that a previous
output (and its run record) is left byte for byte as it was, with no
temporary file beside it. Safe repairs (a Latin-1 file, a ';' file with
decimal commas, a percentage in a fraction column, events after as_of) exit 0
and leave a warning in the run record.
"""

import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropoutrisk.cli._predict import run_record_path

from ._predict_workspace import AS_OF, shared_workspace

PREVIOUS = b"previous output\n"
PREVIOUS_RECORD = b'{"previous": true}\n'

@pytest.fixture(scope="module")
def small(tmp_path_factory, workspace):
    """A small, valid data folder (60 students with all their events) and the model."""
    from dropoutrisk.features import build_features
    from dropoutrisk.io import write_tables
    from dropoutrisk.models import load_model

    ws = shared_workspace(workspace)
    tables = ws["tables"]
    # 60 students spread over the cohorts enrolled at AS_OF (2022-2024), first id S2022-000001
    pool = tables["students"].query("cohort >= 2022").sort_values("student_id")["student_id"]
    ids = set(pool.iloc[::len(pool) // 60][:60])
    small = {name: t[t["student_id"].isin(ids)].reset_index(drop=True)
             for name, t in tables.items()}
    root = tmp_path_factory.mktemp("bad_input")
    write_tables(small, root / "data")
    features = build_features(small, AS_OF, catalogue=load_model(ws["model"]).catalogue)
    return {"data": root / "data", "model": ws["model"], "features": features.reset_index()}


# --------------------------------------------------------------------------- helpers


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet")


def _rewrite(folder: Path, table: str, fn, *, csv: bool = False, **csv_kwargs) -> None:
    frame = fn(_read(folder, table))
    (folder / f"{table}.parquet").unlink()
    mixed = any(frame[c].dtype == object and frame[c].map(type).nunique() > 1 for c in frame)
    if csv or mixed:  # a text value in a number column: what a spreadsheet export looks like
        frame.to_csv(folder / f"{table}.csv", index=False, **csv_kwargs)
    else:
        frame.to_parquet(folder / f"{table}.parquet", index=False)


def _set(column, row, value):
    def fn(df):
        df = df.astype({column: object}) if not isinstance(value, int | float) else df
        df.loc[row, column] = value
        return df

    return fn


def _features_file(env, fn=lambda f: f, name="features.parquet"):
    path = env["tmp"] / name
    frame = fn(env["small"]["features"].copy())
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return ["--features", path]


@dataclass
class Case:
    id: str
    code: int
    words: tuple[str, ...]
    setup: Any = None  # (env) -> list of extra argv replacing "--data <folder>", or None
    args: tuple = ()
    record_words: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def _data(fn):
    def setup(env):
        fn(env["data"])
        return None

    return setup


def _model(fn):
    def setup(env):
        copy = env["tmp"] / "model"
        shutil.copytree(env["small"]["model"], copy)
        fn(copy)
        env["model"] = copy
        return None

    return setup


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _latin1_students(folder):
    df = _read(folder, "students")
    df["school_id"] = df["school_id"].str.replace("SCH", "Skola Åby-")
    (folder / "students.parquet").unlink()
    (folder / "students.csv").write_bytes(df.to_csv(index=False).encode("latin-1"))


def _semicolon_students(folder):
    df = _read(folder, "students")
    (folder / "students.parquet").unlink()
    df.to_csv(folder / "students.csv", index=False, sep=";", decimal=",")


def _percent_in_fraction(folder):
    att = _read(folder, "attendance")
    (folder / "attendance.parquet").unlink()
    daily = att.groupby(["student_id", "date"], as_index=False)[
        ["scheduled_minutes", "absent_minutes"]].sum()
    daily["absence_fraction"] = (100 * daily["absent_minutes"] / daily["scheduled_minutes"])
    daily["absence_fraction"] = daily["absence_fraction"].round(1).clip(0, 100)
    daily.loc[0, "absence_fraction"] = 25.0  # at least one value that can only be a percentage
    daily[["student_id", "date", "absence_fraction"]].to_csv(
        folder / "attendance_export.csv", index=False)


def _empty_students(folder):
    df = _read(folder, "students").iloc[:0]
    (folder / "students.parquet").unlink()
    df.to_csv(folder / "students.csv", index=False)


def _future_attendance(folder):
    att = _read(folder, "attendance")
    late = att.iloc[:3].assign(date=pd.to_datetime(["2031-06-01", "2031-06-02", "2031-06-03"]))
    pd.concat([att, late]).to_parquet(folder / "attendance.parquet", index=False)


def _read_only_dir(env):
    ro = env["tmp"] / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    env["out"] = ro / "scores.parquet"
    return None


def _parent_is_file(env):
    (env["tmp"] / "afile").write_text("x")
    env["out"] = env["tmp"] / "afile" / "scores.parquet"
    return None


def _out_is_folder(env):
    (env["tmp"] / "scores.parquet").mkdir()
    env["out"] = env["tmp"] / "scores.parquet"
    return None


CASES = [
    # missing files and columns
    Case("no-data-folder", 2, ("does not exist", "--data"),
         setup=lambda env: ["--data", env["tmp"] / "nowhere"]),
    Case("no-students-file", 2, ("students", "students.parquet or students.csv"),
         setup=_data(lambda d: (d / "students.parquet").unlink())),
    Case("students-without-school_id", 2, ("students", "school_id"),
         setup=_data(lambda d: _rewrite(d, "students", lambda f: f.drop(columns="school_id")))),
    Case("students-without-cohort", 2, ("students", "cohort"),
         setup=_data(lambda d: _rewrite(d, "students", lambda f: f.drop(columns="cohort")))),
    Case("attendance-without-absent_minutes", 2, ("attendance",),
         setup=_data(lambda d: _rewrite(d, "attendance",
                                        lambda f: f.drop(columns="absent_minutes")))),
    Case("grades-without-grade", 2, ("grades", "grade"),
         setup=_data(lambda d: _rewrite(d, "grades", lambda f: f.drop(columns="grade")))),
    # wrong types and encodings
    Case("cohort-as-text", 2, ("students", "cohort", "'twenty'"),
         setup=_data(lambda d: _rewrite(d, "students", _set("cohort", 2, "twenty")))),
    Case("unparseable-date", 2, ("attendance", "date", "2024-13-45"),
         setup=_data(lambda d: _rewrite(d, "attendance", _set("date", 4, "2024-13-45")))),
    Case("minutes-as-text", 2, ("attendance", "scheduled_minutes", "'sixty'"),
         setup=_data(lambda d: _rewrite(d, "attendance", _set("scheduled_minutes", 1, "sixty")))),
    Case("corrupt-parquet", 2, ("grades.parquet", "cannot be read"),
         setup=_data(lambda d: (d / "grades.parquet").write_bytes(b"PAR1 not really"))),
    Case("empty-csv-file", 2, ("concerns.csv", "empty"),
         setup=_data(lambda d: ((d / "concerns.parquet").unlink(),
                                (d / "concerns.csv").write_bytes(b""))),),
    Case("latin1-csv-repaired", 0, (), setup=_data(_latin1_students),
         record_words=("TextEncodingWarning", "students.csv")),
    Case("semicolon-csv-repaired", 0, (), setup=_data(_semicolon_students),
         record_words=("students.csv is separated by ';'",)),
    # out-of-range values
    Case("negative-absence", 2, ("attendance", "absent_minutes", "-30"),
         setup=_data(lambda d: _rewrite(d, "attendance", _set("absent_minutes", 3, -30.0)))),
    Case("absent-more-than-scheduled", 2, ("attendance", "absent_minutes", "scheduled_minutes"),
         setup=_data(lambda d: _rewrite(d, "attendance", lambda f: f.assign(
             absent_minutes=f["absent_minutes"].where(f.index != 0, f["scheduled_minutes"] + 5))))),
    Case("absence-above-a-week", 2, ("attendance", "absent_minutes", "99999", "0 to 10080"),
         setup=_data(lambda d: _rewrite(d, "attendance", _set("absent_minutes", 0, 99999.0)))),
    Case("percentage-in-fraction-column-repaired", 0, (), setup=_data(_percent_in_fraction),
         record_words=("UnitMismatchWarning", "absence_fraction")),
    # duplicates, unknown categories, missing keys
    Case("duplicate-student", 2, ("students", "student_id", "already has", "'S2022-000001'"),
         setup=_data(lambda d: _rewrite(d, "students", lambda f: pd.concat([f, f.iloc[[0]]])))),
    Case("unknown-grade", 2, ("grades", "grade", "'G'"),
         setup=_data(lambda d: _rewrite(d, "grades", _set("grade", 2, "G")))),
    Case("unknown-programme-type", 2, ("students", "programme_type", "'astronaut'"),
         setup=_data(lambda d: _rewrite(d, "students", _set("programme_type", 1, "astronaut")))),
    Case("missing-school-id", 2, ("students", "school_id", "1 row has no school_id"),
         setup=_data(lambda d: _rewrite(d, "students", _set("school_id", 3, None)))),
    Case("event-for-unknown-student", 2, ("grades", "student_id", "unknown student ids", "'X999'"),
         setup=_data(lambda d: _rewrite(d, "grades", _set("student_id", 0, "X999")))),
    # dates after as_of: dropped with a warning
    Case("events-after-as_of-dropped", 0, (), setup=_data(_future_attendance),
         record_words=("EventsAfterAsOfWarning", "Dropped events dated on or after as_of")),
    # empty tables
    Case("empty-students", 2, ("students",), setup=_data(_empty_students)),
    Case("nobody-enrolled", 2, ("no student is enrolled at 2000-01-01",),
         args=("--as-of", "2000-01-01")),
    # options
    Case("bad-as_of", 2, ("--as-of", "'2024-02-30' is not a date"), args=("--as-of", "2024-02-30")),
    Case("threshold-above-1", 2, ("--threshold",), args=("--threshold", "1.5")),
    Case("capacity-zero", 2, ("--capacity",), args=("--capacity", "0")),
    Case("by-without-capacity", 2, ("--by", "only applies with capacity"),
         args=("--by", "school_id")),
    Case("by-unknown-column", 2, ("--by", "'region': not a column"),
         args=("--capacity", "2", "--by", "region")),
    Case("reasons-for-unknown", 2, ("--reasons-for", "'some'"), args=("--reasons-for", "some")),
    Case("data-and-features", 2, ("exactly one of --data",),
         setup=lambda env: ["--data", env["data"], *_features_file(env)]),
    # feature files
    Case("features-missing-file", 2, ("features", "does not exist"),
         setup=lambda env: ["--features", env["tmp"] / "none.parquet"]),
    Case("features-without-school_id", 2, ("features", "school_id"),
         setup=lambda env: _features_file(env, lambda f: f.drop(columns="school_id"))),
    Case("features-duplicate-student", 2, ("features", "student_id", "more than once"),
         setup=lambda env: _features_file(env, lambda f: pd.concat([f, f.iloc[[4]]]))),
    Case("features-text-in-numeric", 2, ("features", "attendance_rate_4w", "'lots'"),
         setup=lambda env: _features_file(
             env, _set("attendance_rate_4w", 2, "lots"), name="features.csv")),
    Case("features-other-as_of", 2, ("features", "as_of", "another date", "'2024-09-01'"),
         setup=lambda env: _features_file(env, lambda f: f.assign(as_of=pd.Timestamp("2024-09-01")))),
    Case("features-missing-model-column", 2, ("features", "attendance_rate_4w"),
         setup=lambda env: _features_file(env, lambda f: f.drop(columns="attendance_rate_4w"))),
    Case("features-corrupt", 2, ("features", "cannot be read"),
         setup=lambda env: ((env["tmp"] / "f.parquet").write_bytes(b"PAR1garbagePAR1"),
                            ["--features", env["tmp"] / "f.parquet"])[1]),
    # model problems
    Case("model-missing", 3, ("No model folder",),
         setup=lambda env: (env.update(model=env["tmp"] / "no-model"), None)[1]),
    Case("model-file-modified", 3, ("model.skops", "does not match"),
         setup=_model(lambda m: _flip_byte(m / "model.skops"))),
    Case("profile-modified", 3, ("profile.json", "does not match"),
         setup=_model(lambda m: (m / "profile.json").write_text("{}"))),
    Case("manifest-missing", 3, ("manifest.json",),
         setup=_model(lambda m: (m / "manifest.json").unlink())),
    Case("manifest-not-json", 3, ("manifest.json", "not valid JSON"),
         setup=_model(lambda m: (m / "manifest.json").write_text("{oops"))),
    # unusable output paths
    Case("out-bad-suffix", 2, ("--out", ".parquet or .csv"),
         setup=lambda env: (env.update(out=env["tmp"] / "scores.xlsx"), None)[1]),
    Case("out-parent-is-a-file", 2, ("--out", "is a file, not a folder"), setup=_parent_is_file),
    Case("out-is-a-folder", 2, ("--out", "is a folder"), setup=_out_is_folder),
]
if hasattr(os, "geteuid") and os.geteuid() != 0:  # root ignores permission bits
    CASES.append(Case("out-read-only-folder", 2, ("--out", "not writable"), setup=_read_only_dir))


def test_at_least_30_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, small, tmp_path, capsys, run):
    data = tmp_path / "data"
    shutil.copytree(small["data"], data)
    work = tmp_path / "work"
    work.mkdir()
    env = {"data": data, "tmp": work, "small": small, "model": small["model"],
           "out": tmp_path / "outdir" / "scores.parquet"}
    source = case.setup(env) if case.setup else None
    if source is None:
        source = ["--data", env["data"]]
    out = env["out"]
    previous = {}
    if out.parent.is_dir() is False and not out.parent.exists():
        out.parent.mkdir(parents=True)
    if out.parent.is_dir() and os.access(out.parent, os.W_OK) and not out.exists():
        out.write_bytes(PREVIOUS)
        run_record_path(out).write_bytes(PREVIOUS_RECORD)
        previous = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    argv = ["predict", "--model", env["model"], *source, "--as-of", AS_OF, "--out", out, *case.args]
    code = run(argv)
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert code == case.code, err
    assert "Traceback" not in captured.err + captured.out
    for words in case.words:
        assert words in err, err
    if case.code == 0:
        record = json.loads(run_record_path(out).read_text())
        text = " ".join(record["warnings"])
        for words in case.record_words:
            assert words in text, text
        assert pd.read_parquet(out)["student_id"].is_unique
    elif previous:
        assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == previous
    if out.parent.is_dir():
        assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- fuzz

_MUTATIONS = st.sampled_from(["drop", "text", "negative", "none", "duplicate", "huge", "empty"])


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    table=st.sampled_from(["students", "attendance", "grades"]),
    mutation=_MUTATIONS,
    column_pick=st.integers(0, 20),
    row_pick=st.integers(0, 50),
    as_csv=st.booleans(),
)
def test_fuzzed_tables_exit_0_or_2_and_never_leave_partial_files(
        small, tmp_path_factory, table, mutation, column_pick, row_pick, as_csv, run):
    root = tmp_path_factory.mktemp("fuzz")
    data = root / "data"
    shutil.copytree(small["data"], data)
    frame = _read(data, table)
    column = frame.columns[column_pick % len(frame.columns)]
    row = row_pick % len(frame)
    if mutation == "drop":
        frame = frame.drop(columns=column)
    elif mutation == "duplicate":
        frame = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
    elif mutation == "empty":
        frame = frame.iloc[:0]
    else:
        value = {"text": "??", "negative": -1, "none": None, "huge": 10**12}[mutation]
        frame = frame.astype({column: object})
        frame.loc[row, column] = value
    (data / f"{table}.parquet").unlink()
    if as_csv:
        frame.to_csv(data / f"{table}.csv", index=False)
    else:
        frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(
            data / f"{table}.parquet", index=False)
    out = root / "out" / "scores.csv"
    out.parent.mkdir()
    out.write_bytes(PREVIOUS)
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(["predict", "--model", small["model"], "--data", data, "--as-of", AS_OF,
                    "--out", out])
    assert code in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    names = sorted(p.name for p in out.parent.iterdir())
    if code == 2:
        assert names == ["scores.csv"] and out.read_bytes() == PREVIOUS
    else:
        assert names == ["scores.csv", "scores.csv.run.json"]
        assert out.read_bytes() != PREVIOUS
