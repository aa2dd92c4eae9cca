"""``dropoutrisk follow-up``: the follow-up list from the weekly runs' records, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import app
from dropoutrisk.cli._cohorts import parse_date, warnings_to_stderr
from dropoutrisk.cli._options import TablesFolder

#: The files ``follow-up`` writes into ``--out`` (and may replace on a later run).
OUTPUT_FILES = ("students.csv", "summary.csv", "follow-up.run.json")

_HELP = (
    "List the students flagged in earlier 'predict' runs at --as-of, per school: when first "
    "flagged, whether and when an intervention was recorded (the interventions table), the days "
    "since the flag without one, and attendance, grades and concerns before vs since the flag. "
    "Writes --out/students.csv (student-level: for staff only), summary.csv (per school, no ids, "
    "cells under 10 suppressed) and follow-up.run.json (counts only), atomically."
)


@app.command("follow-up", help=_HELP)
def follow_up_command(
    runs: Annotated[Path, typer.Option(
        "--runs", help="Folder searched (recursively) for the *.run.json records of 'predict'.")],
    data: TablesFolder,
    as_of: Annotated[str, typer.Option("--as-of", help="Day of the follow-up (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    within_days: Annotated[int, typer.Option(
        "--within-days", min=0, help="An intervention this many days after the flag is in time.")]
    = 14,
    window_days: Annotated[int, typer.Option(
        "--window-days", min=1, help="Days before the flag that 'before' covers.")] = 28,
) -> None:
    from dropoutrisk._atomic import check_folder_replaceable, write_folder
    from dropoutrisk.cli._predict import _input_hashes
    from dropoutrisk.followup import follow_up
    from dropoutrisk.io import read_tables

    day = parse_date(as_of, "--as-of")
    if not runs.is_dir():
        raise typer.BadParameter(f"{str(runs)!r} is not a folder of run records.",
                                 param_hint="--runs")
    try:
        check_folder_replaceable(out, OUTPUT_FILES, "a follow-up")
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None
    predictions, sources = _read_runs(runs)
    with warnings_to_stderr() as seen:
        tables = dict(read_tables(data, combine_attendance=False))
        tables.pop("truth", None)
        result = follow_up(predictions, tables, day, follow_up_days=within_days,
                           window_days=window_days)
    record = {**result.record, "inputs": {**sources, **_input_hashes(data, None)},
              "warnings": list(seen)}
    students = result.students
    files = {
        "students.csv": students.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d"),
        "summary.csv": result.summary.to_csv(index=False, lineterminator="\n"),
        "follow-up.run.json": json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False,
                                         default=str) + "\n",
    }
    try:
        write_folder(out, files)
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {str(out)!r}: {exc.strerror or exc}.",
                                 param_hint="--out") from None
    counts = result.record["counts"]
    typer.echo(
        f"Follow-up at {day.isoformat()} from {len(result.record['runs'])} runs: "
        f"{counts['flagged']} flagged students in {counts['schools']} schools, "
        f"{counts['followed_up']} with an intervention ({counts['followed_up_in_time']} within "
        f"{within_days} days), {counts['without_intervention']} without. Written to {out}"
    )


def _read_runs(folder: Path) -> tuple[list[Any], dict[str, str]]:
    """The prediction tables the run records point to, each checked against its sha256."""
    import pandas as pd

    from dropoutrisk._atomic import sha256_file
    from dropoutrisk.errors import DataError

    tables, sources = [], {}
    for record_path in sorted(folder.rglob("*.run.json")):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(table=str(record_path), problem=f"the run record cannot be read ({exc})",
                            fix="Remove or restore the file") from None
        if record.get("format") != "dropoutrisk-run-record" or "output" not in record:
            continue  # another command's record
        output = record["output"]
        # predict writes the file beside its record; the recorded path is the fallback
        path = record_path.parent / Path(output["path"]).name
        if not path.is_file():
            path = Path(output["path"])
        if not path.is_file():
            raise DataError(
                table=str(record_path), column="output.path",
                problem=f"the predictions file {output['path']!r} of this run is missing",
                fix="Keep each predictions file beside its run record, or remove the record")
        digest = sha256_file(path)
        if digest != output.get("sha256"):
            raise DataError(
                table=str(path), problem="the predictions file differs from the one its run "
                "record describes (sha256 mismatch)",
                fix="Restore the file that predict wrote, or remove the run record")
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(
            path, dtype={"student_id": str, "school_id": str})
        for column in ("as_of", "model_id", "tier"):
            if column in frame and isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype(str)
        tables.append(frame)
        sources[str(path)] = digest
    if not tables:
        raise DataError(table=str(folder), problem="no run record of 'predict' was found",
                        allowed="*.run.json files written by dropoutrisk predict",
                        fix="Point --runs at the folder the weekly predict job writes to")
    return tables, sources
