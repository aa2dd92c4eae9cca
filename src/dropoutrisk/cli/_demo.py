"""``dropoutrisk demo``: the main job end to end on synthetic data.

It runs the same commands a user would type, in order, and prints where each
output went: synth -> validate -> train -> evaluate -> predict (with reasons)
-> explain one flagged student -> audit.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app


def _steps(out: Path, students: int, seed: int) -> list[tuple[str, list[str]]]:
    data, model = out / "data", out / "model"
    return [
        ("synthetic tables", ["synth", "--students", str(students), "--cohorts", "2020-2024",
                              "--seed", str(seed), "--out", str(data)]),
        ("validation report", ["validate", "--data", str(data), "--out", str(out / "validation.json")]),
        ("model bundle", ["train", "--data", str(data), "--cohorts", "2020-2022",
                          "--calib-cohort", "2023", "--seed", str(seed),
                          "--capacity", "10", "--by", "school_id", "--predict-weeks", "10",
                          "--out", str(model)]),
        ("out-of-time evaluation", ["evaluate", "--model", str(model), "--data", str(data),
                                    "--cohorts", "2024", "--out", str(out / "evaluation")]),
        ("predictions with reasons", ["predict", "--model", str(model), "--data", str(data),
                                      "--as-of", "2024-10-28", "--capacity", "10", "--by", "school_id",
                                      "--reasons", "4", "--out", str(out / "predictions.csv")]),
    ]


def _run(args: list[str]) -> None:
    print(f"\n$ dropoutrisk {shlex.join(args)}", flush=True)
    rc = app(args=args, prog_name="dropoutrisk", standalone_mode=False)
    if isinstance(rc, int) and rc != 0:
        raise SystemExit(rc)


@app.command(
    "demo",
    help=(
        "Run the main job end to end on synthetic data and print where every output went: "
        "synth, validate, train, evaluate, predict with reasons, explain the highest-risk "
        "flagged student, audit.\n\n" + EXIT_CODES_HELP
    ),
)
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for every output.")] = Path("demo-output"),
    students: Annotated[int, typer.Option("--students", min=500, help="Students over five cohorts.")] = 6000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the synthetic data and the model.")] = 7,
) -> None:
    import pandas as pd

    outputs: list[tuple[str, Path]] = []
    for label, args in _steps(out, students, seed):
        _run(args)
        outputs.append((label, Path(args[args.index("--out") + 1])))

    predictions = pd.read_csv(out / "predictions.csv", dtype={"student_id": str})
    flagged = predictions[predictions["flag"]].sort_values(
        ["probability", "student_id"], ascending=[False, True]
    )
    student = str((flagged if len(flagged) else predictions).iloc[0]["student_id"])
    data, model = out / "data", out / "model"
    for lang in ("sv", "en"):
        report = out / f"explanation_{lang}.html"
        _run(["explain", "--model", str(model), "--data", str(data), "--as-of", "2024-10-28",
              "--student", student, "--capacity", "10", "--by", "school_id", "--lang", lang,
              "--format", "html", "--out", str(report)])
        outputs.append((f"explanation of one flagged student ({lang})", report))
    _run(["explain", "--model", str(model), "--data", str(data), "--as-of", "2024-10-28",
          "--student", student, "--capacity", "10", "--by", "school_id", "--lang", "en",
          "--format", "json", "--out", str(out / "explanation.json")])
    outputs.append(("explanation (JSON)", out / "explanation.json"))
    _run(["audit", "--model", str(model), "--data", str(data), "--cohorts", "2024",
          "--groups", "gender,newly_arrived,special_support", "--n-boot", "300",
          "--seed", str(seed), "--out", str(out / "audit")])
    outputs.append(("fairness audit and model card", out / "audit"))

    width = max(len(label) for label, _ in outputs)
    print("\nDemo finished. Outputs:", file=sys.stdout)
    for label, path in outputs:
        print(f"  {label:<{width}}  {path}")
