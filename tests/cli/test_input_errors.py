"""Every documented input error of every command in README's CLI table exits 2, and names its option.

Each case runs the command line on the shared workspace with one thing wrong,
and checks the exit code (2 for invalid input, 3 for a model problem, as
README's exit-code table says), that stderr names the option or column at
fault, that no traceback is shown, and that nothing is written where the
command would write.
"""

import shutil
from dataclasses import dataclass

import pandas as pd
import pytest

AS_OF = "2024-10-01"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple  # "{data}", "{model}", "{out}", ... are filled in from the workspace
    names: tuple  # every one of these must be in stderr
    code: int = 2
    prepare: str | None = None  # the name of a function below that breaks a copy of something
    out: str = "out"  # the path that must not be written
    xfail: str | None = None


PREDICT = ("predict", "--model", "{model}", "--data", "{data}", "--as-of", AS_OF,
           "--out", "{out}.parquet")
EXPLAIN = ("explain", "--model", "{model}", "--data", "{data}", "--as-of", AS_OF,
           "--student", "{student}", "--out", "{out}.html")
EVALUATE = ("evaluate", "--model", "{model}", "--data", "{data}", "--cohorts", "2024",
            "--out", "{out}", "--n-boot", "0")
AUDIT = ("audit", "--model", "{model}", "--data", "{data}", "--cohorts", "2024",
         "--groups", "gender", "--out", "{out}", "--n-boot", "0")
TRAIN = ("train", "--data", "{data}", "--cohorts", "2021", "--out", "{out}",
         "--n-estimators", "5")

CASES = [
    # spec init: a draft spec for a wide table
    Case("spec-init-label-missing", ("spec", "init", "{wide}", "--label", "Outcome",
                                     "--positive", "1", "--out", "{out}.toml"),
         ("Outcome", "label"), prepare="wide_table", out="out.toml"),
    Case("spec-init-no-positive-row", ("spec", "init", "{wide}", "--label", "G3",
                                       "--positive", "Withdrawn", "--out", "{out}.toml"),
         ("G3", "Withdrawn"), prepare="wide_table", out="out.toml"),
    Case("spec-init-no-table", ("spec", "init", "{root}/none.csv", "--label", "G3",
                                "--positive", "1", "--out", "{out}.toml"),
         ("TABLE", "none.csv"), out="out.toml"),
    # synth
    Case("synth-cohorts-backwards", ("synth", "--students", "50", "--cohorts", "2024-2020",
                                     "--out", "{out}"), ("--cohorts",)),
    Case("synth-cohorts-text", ("synth", "--students", "50", "--cohorts", "soon",
                                "--out", "{out}"), ("--cohorts",)),
    Case("synth-cohorts-out-of-range", ("synth", "--students", "50", "--cohorts", "1800",
                                        "--out", "{out}"), ("--cohorts", "1800")),
    Case("synth-students-0", ("synth", "--students", "0", "--cohorts", "2024",
                              "--out", "{out}"), ("--students",)),
    # validate
    Case("validate-as-of-not-a-date", ("validate", "--data", "{data}", "--as-of", "2024-13-01"),
         ("--as-of",)),
    Case("validate-no-such-folder", ("validate", "--data", "{root}/nowhere"), ("nowhere",)),
    Case("validate-missing-column", ("validate", "--data", "{broken}"), ("school_id",),
         prepare="drop_school_id"),
    # train, canonical tables
    Case("train-cohorts-text", ("train", "--data", "{data}", "--cohorts", "twenty",
                                "--out", "{out}"), ("--cohorts",)),
    Case("train-no-cohorts", ("train", "--data", "{data}", "--out", "{out}"), ("--cohorts",)),
    Case("train-weeks-text", (*TRAIN, "--weeks", "6,x"), ("--weeks",)),
    Case("train-weeks-60", (*TRAIN, "--weeks", "60"), ("--weeks",)),
    Case("train-calib-cohort-not-later", (*TRAIN, "--calib-cohort", "2021"), ("--calib-cohort",)),
    Case("train-cohorts-without-rows", ("train", "--data", "{data}", "--cohorts", "2030",
                                        "--out", "{out}"), ("cohort",)),
    Case("train-missing-column", ("train", "--data", "{broken}", "--cohorts", "2021",
                                  "--out", "{out}"), ("school_id",), prepare="drop_school_id"),
    Case("train-out-not-a-model", ("train", "--data", "{data}", "--cohorts", "2021",
                                   "--out", "{notmodel}"), ("--out",), out="notmodel"),
    Case("train-horizon-0", (*TRAIN, "--horizon-days", "0"), ("--horizon-days",)),
    Case("train-data-a-file", ("train", "--data", "{data}/students.parquet", "--cohorts", "2021",
                               "--out", "{out}"), ("--data",)),
    # train, wide table
    Case("train-wide-cohorts", ("train", "--data", "{wide}", "--spec", "{spec}",
                                "--cohorts", "2021", "--out", "{out}"), ("--cohorts",),
         prepare="wide_table"),
    Case("train-wide-calib-share", ("train", "--data", "{wide}", "--spec", "{spec}",
                                    "--calib-share", "0.9", "--out", "{out}"), ("--calib-share",),
         prepare="wide_table"),
    Case("train-wide-spec-missing", ("train", "--data", "{wide}", "--spec", "{root}/none.toml",
                                     "--out", "{out}"), ("none.toml",), prepare="wide_table"),
    Case("train-wide-label-column-missing", ("train", "--data", "{wide}", "--spec", "{badspec}",
                                             "--out", "{out}"), ("G9",), prepare="wide_table"),
    Case("train-wide-one-label", ("train", "--data", "{onelabel}", "--spec", "{spec}",
                                  "--calib-share", "0", "--out", "{out}"), ("G3", "one label"),
         prepare="wide_table"),
    # evaluate
    Case("evaluate-cohorts-text", ("evaluate", "--model", "{model}", "--data", "{data}",
                                   "--cohorts", "last", "--out", "{out}"), ("--cohorts",)),
    Case("evaluate-weeks-text", (*EVALUATE, "--weeks", "ten"), ("--weeks",)),
    Case("evaluate-flag-rate-2", (*EVALUATE, "--flag-rate", "2"), ("--flag-rate",)),
    Case("evaluate-n-boot-negative", (*EVALUATE[:-2], "--n-boot", "-1"), ("--n-boot",)),
    Case("evaluate-cohorts-without-rows", ("evaluate", "--model", "{model}", "--data", "{data}",
                                           "--cohorts", "2030", "--out", "{out}"), ("cohort",)),
    Case("evaluate-unknown-model", ("evaluate", "--model", "{root}/nomodel", "--data", "{data}",
                                    "--cohorts", "2024", "--out", "{out}"), ("nomodel",), code=3),
    Case("evaluate-unknown-against", (*EVALUATE, "--against", "{root}/noprevious"),
         ("noprevious",), code=3),
    Case("evaluate-missing-column", ("evaluate", "--model", "{model}", "--data", "{broken}",
                                     "--cohorts", "2024", "--out", "{out}"), ("school_id",),
         prepare="drop_school_id"),
    # backtest
    Case("backtest-one-cohort", ("backtest", "--data", "{data}", "--cohorts", "2021",
                                 "--out", "{out}"), ("--cohorts", "at least two cohorts")),
    Case("backtest-cohorts-text", ("backtest", "--data", "{data}", "--cohorts", "recent",
                                   "--out", "{out}"), ("--cohorts",)),
    Case("backtest-weeks-text", ("backtest", "--data", "{data}", "--cohorts", "2021-2024",
                                 "--weeks", "ten", "--out", "{out}"), ("--weeks",)),
    Case("backtest-missing-column", ("backtest", "--data", "{broken}", "--cohorts", "2021-2024",
                                     "--out", "{out}"), ("school_id",), prepare="drop_school_id"),
    Case("backtest-no-origin", ("backtest", "--data", "{data}", "--cohorts", "2021-2022",
                                "--min-train-cohorts", "2", "--out", "{out}"),
         ("--min-train-cohorts", "no origin")),
    # predict
    Case("predict-as-of-not-a-date", ("predict", "--model", "{model}", "--data", "{data}",
                                      "--as-of", "2024-02-30", "--out", "{out}.parquet"),
         ("--as-of",), out="out.parquet"),
    Case("predict-capacity-0", (*PREDICT, "--capacity", "0"), ("--capacity",), out="out.parquet"),
    Case("predict-threshold-1.5", (*PREDICT, "--threshold", "1.5"), ("--threshold",),
         out="out.parquet"),
    Case("predict-threshold-and-capacity", (*PREDICT, "--threshold", "0.5", "--capacity", "5"),
         ("--threshold", "--capacity"), out="out.parquet"),
    Case("predict-by-unknown-column", (*PREDICT, "--capacity", "5", "--by", "house"),
         ("--by", "house"), out="out.parquet"),
    Case("predict-by-without-capacity", (*PREDICT, "--by", "school_id"), ("--by",),
         out="out.parquet"),
    Case("predict-reasons-for-some", (*PREDICT, "--reasons-for", "some"), ("--reasons-for",),
         out="out.parquet"),
    Case("predict-reasons-21", (*PREDICT, "--reasons", "21"), ("--reasons",), out="out.parquet"),
    Case("predict-chunk-size-0", (*PREDICT, "--chunk-size", "0"), ("--chunk-size",),
         out="out.parquet"),
    Case("predict-out-suffix", ("predict", "--model", "{model}", "--data", "{data}",
                                "--as-of", AS_OF, "--out", "{out}.xlsx"), ("--out",),
         out="out.xlsx"),
    Case("predict-no-source", ("predict", "--model", "{model}", "--as-of", AS_OF,
                               "--out", "{out}.parquet"), ("--data",), out="out.parquet"),
    Case("predict-no-features-file", ("predict", "--model", "{model}", "--features",
                                      "{root}/nofeatures.parquet", "--as-of", AS_OF,
                                      "--out", "{out}.parquet"), ("nofeatures",),
         out="out.parquet"),
    Case("predict-missing-column", ("predict", "--model", "{model}", "--data", "{broken}",
                                    "--as-of", AS_OF, "--out", "{out}.parquet"), ("school_id",),
         prepare="drop_school_id", out="out.parquet"),
    Case("predict-unknown-model", ("predict", "--model", "{root}/nomodel", "--data", "{data}",
                                   "--as-of", AS_OF, "--out", "{out}.parquet"), ("nomodel",),
         code=3, out="out.parquet"),
    Case("predict-corrupted-bundle", ("predict", "--model", "{corrupted}", "--data", "{data}",
                                      "--as-of", AS_OF, "--out", "{out}.parquet"),
         ("model.skops", "sha256"), code=3, prepare="corrupt_model", out="out.parquet"),
    # explain
    Case("explain-unknown-student", ("explain", "--model", "{model}", "--data", "{data}",
                                     "--as-of", AS_OF, "--student", "nobody",
                                     "--out", "{out}.html"), ("--student", "nobody"),
         out="out.html"),
    Case("explain-no-student", ("explain", "--model", "{model}", "--data", "{data}",
                                "--as-of", AS_OF, "--out", "{out}.html"), ("--student",),
         out="out.html"),
    Case("explain-lang-de", (*EXPLAIN, "--lang", "de"), ("--lang",), out="out.html"),
    Case("explain-format-pdf", (*EXPLAIN, "--format", "pdf"), ("--format",), out="out.html"),
    Case("explain-as-of-not-a-date", ("explain", "--model", "{model}", "--data", "{data}",
                                      "--as-of", "yesterday", "--student", "{student}",
                                      "--out", "{out}.html"), ("--as-of",), out="out.html"),
    Case("explain-capacity-0", (*EXPLAIN, "--capacity", "0"), ("--capacity",), out="out.html"),
    Case("explain-threshold-2", (*EXPLAIN, "--threshold", "2"), ("--threshold",),
         out="out.html"),
    Case("explain-by-unknown-column", (*EXPLAIN, "--capacity", "3", "--by", "house"),
         ("--by", "house"), out="out.html"),
    Case("explain-corrupted-bundle", ("explain", "--model", "{corrupted}", "--data", "{data}",
                                      "--as-of", AS_OF, "--student", "{student}",
                                      "--out", "{out}.html"), ("model.skops",), code=3,
         prepare="corrupt_model", out="out.html"),
    # audit
    Case("audit-unknown-group", (*AUDIT[:-4], "--groups", "house", "--out", "{out}"),
         ("house",)),
    Case("audit-cohorts-text", ("audit", "--model", "{model}", "--data", "{data}",
                                "--cohorts", "x", "--groups", "gender", "--out", "{out}"),
         ("--cohorts",)),
    Case("audit-weeks-99", (*AUDIT, "--weeks", "99"), ("--weeks",)),
    Case("audit-flag-rate-0", (*AUDIT, "--flag-rate", "0"), ("--flag-rate",)),
    Case("audit-capacity-0", (*AUDIT, "--capacity", "0"), ("--capacity",)),
    Case("audit-by-unknown-column", (*AUDIT, "--capacity", "5", "--by", "house"),
         ("--by", "house")),
    Case("audit-n-boot-negative", (*AUDIT[:-2], "--n-boot", "-5"), ("--n-boot",)),
    Case("audit-cohorts-without-rows", ("audit", "--model", "{model}", "--data", "{data}",
                                        "--cohorts", "2030", "--groups", "gender",
                                        "--out", "{out}"), ("cohort",)),
    Case("audit-unknown-model", ("audit", "--model", "{root}/nomodel", "--data", "{data}",
                                 "--cohorts", "2024", "--groups", "gender", "--out", "{out}"),
         ("nomodel",), code=3),
    # drift
    Case("drift-folder-without-as-of", ("drift", "--reference", "{data}", "--current", "{data}",
                                        "--out", "{out}"), ("--as-of",)),
    Case("drift-no-reference", ("drift", "--current", "{data}", "--as-of", AS_OF,
                                "--out", "{out}"), ("--reference", "--model")),
    Case("drift-foreign-out", ("drift", "--model", "{model}", "--current", "{data}",
                               "--as-of", AS_OF, "--out", "{notmodel}"), ("--out",),
         out="notmodel"),
    Case("drift-unknown-model", ("drift", "--model", "{root}/nomodel", "--current", "{data}",
                                 "--as-of", AS_OF, "--out", "{out}"), ("nomodel",), code=3),
    # demo
    Case("demo-students-10", ("demo", "--students", "10", "--out", "{out}"), ("--students",)),
]


def drop_school_id(ws, tmp):
    broken = tmp / "broken"
    shutil.copytree(ws["data"], broken)
    students = pd.read_parquet(broken / "students.parquet").drop(columns="school_id")
    students.to_parquet(broken / "students.parquet", index=False)
    return {"broken": broken}


def corrupt_model(ws, tmp):
    corrupted = tmp / "corrupted"
    shutil.copytree(ws["model"], corrupted)
    with open(corrupted / "model.skops", "ab") as fh:
        fh.write(b"\0")
    return {"corrupted": corrupted}


def wide_table(ws, tmp):
    frame = pd.DataFrame({"absences": [1, 5, 2, 9, 0, 3] * 20,
                          "G3": [12, 4, 15, 3, 18, 9] * 20})
    frame.to_csv(tmp / "wide.csv", index=False)
    spec = ('name = "t"\n[label]\ncolumn = "{label}"\nrule = "< 10"\n[features]\n'
            'absences = {{ dimension = "behavioural", actionable = true }}\n')
    (tmp / "spec.toml").write_text(spec.format(label="G3"), encoding="utf-8")
    (tmp / "badspec.toml").write_text(spec.format(label="G9"), encoding="utf-8")
    frame.assign(G3=15).to_csv(tmp / "onelabel.csv", index=False)  # nobody fails
    return {"wide": tmp / "wide.csv", "spec": tmp / "spec.toml", "badspec": tmp / "badspec.toml",
            "onelabel": tmp / "onelabel.csv"}


PREPARE = {"drop_school_id": drop_school_id, "corrupt_model": corrupt_model,
           "wide_table": wide_table}


@pytest.fixture(scope="module")
def student(workspace):
    students = pd.read_parquet(workspace["data"] / "students.parquet")
    return str(students.loc[students["cohort"] == 2024, "student_id"].iloc[0])  # enrolled


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.xfail(reason=c.xfail, strict=True)) if c.xfail else c
     for c in CASES],
    ids=[c.id for c in CASES],
)
def test_input_error_exits_with_its_code_and_names_the_option(case, workspace, student, run,
                                                              tmp_path, capsys):
    (tmp_path / "notmodel").mkdir()
    (tmp_path / "notmodel" / "mine.txt").write_text("not a model")
    paths = {"data": workspace["data"], "model": workspace["model"], "root": tmp_path,
             "out": tmp_path / "out", "notmodel": tmp_path / "notmodel", "student": student}
    if case.prepare:
        paths.update(PREPARE[case.prepare](workspace, tmp_path))
    argv = [str(a).format(**{k: str(v) for k, v in paths.items()}) for a in case.argv]
    capsys.readouterr()
    code = run(argv)
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err
    flat = "".join(err.split())  # messages wrap at 100 columns, also at hyphens
    for name in case.names:
        assert name.replace(" ", "") in flat, f"{name!r} not in: {err}"
    if case.out == "notmodel":
        assert [p.name for p in (tmp_path / "notmodel").iterdir()] == ["mine.txt"]
    else:
        assert not (tmp_path / case.out).exists()


def test_the_walk_covers_every_command_in_the_readme_table():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    table = readme.split("<!-- CLI-START -->")[1].split("<!-- CLI-END -->")[0]
    documented = {line.split("`")[1].split()[0] for line in table.splitlines()
                  if line.startswith("| `")}
    walked = {c.argv[0] for c in CASES}
    assert documented == walked, (sorted(documented - walked), sorted(walked - documented))
