"""dropoutrisk synth: one Parquet file per table, byte-identical for the same seed."""

import shlex
from pathlib import Path

import pyarrow.parquet as pq

ARGS = ["synth", "--students", "300", "--cohorts", "2021-2022", "--seed", "9", "--schools", "5"]

def test_same_seed_gives_identical_files(tmp_path, capsys, run):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run([*ARGS, "--out", str(a)]) == 0
    out = capsys.readouterr().out
    assert str(a) in out and "attendance.parquet" in out
    assert run([*ARGS, "--out", str(b)]) == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(
        f"{n}.parquet"
        for n in (
            "students", "attendance", "attendance_daily", "attendance_weekly",
            "grades", "assessments", "concerns", "outcomes", "truth",
        )
    )  # fmt: skip
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert not [p for p in a.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_files_hold_the_tables(tmp_path, run):
    assert run([*ARGS, "--out", str(tmp_path), "--canonical-only", "--chunk-students", "100"]) == 0
    students = pq.read_table(tmp_path / "students.parquet")
    assert students.num_rows == 300
    att = pq.read_table(tmp_path / "attendance.parquet")
    assert str(att.schema.field("date").type) == "date32[day]"
    assert len(set(att.column("student_id").to_pylist())) == 300
    truth = pq.read_table(tmp_path / "truth.parquet").to_pandas()
    assert truth["label"].isna().any() and truth["true_risk"].between(0, 1).all()
    assert not (tmp_path / "attendance_daily.parquet").exists()


def test_no_events_writes_student_level_tables_only(tmp_path, run):
    (tmp_path / "attendance.parquet").write_bytes(b"stale")
    assert run([*ARGS, "--out", str(tmp_path), "--no-events"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "outcomes.parquet",
        "students.parquet",
        "truth.parquet",
    ]


def test_bad_cohorts_exit_2(tmp_path, capsys, run):
    assert run(["synth", "--cohorts", "2024-2020", "--out", str(tmp_path)]) == 2
    assert "runs backwards" in capsys.readouterr().err


def test_committed_sample_is_what_its_readme_command_makes(tmp_path, run):
    """data/synthetic/README.md gives the exact command; rerunning it gives the same bytes."""
    root = Path(__file__).resolve().parents[2]
    sample = root / "data" / "synthetic"
    readme = (sample / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("$ dropoutrisk synth"))
    argv = shlex.split(line)[2:]
    argv[argv.index("--out") + 1] = str(tmp_path)
    assert run(argv) == 0
    committed = sorted(p.name for p in sample.glob("*.parquet"))
    assert committed == sorted(p.name for p in tmp_path.glob("*.parquet"))
    for name in committed:
        assert (sample / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert sum((sample / n).stat().st_size for n in committed) < 15 * 2**20
