"""``dropoutrisk validate``: read a data folder, harmonise attendance, validate."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import app
from dropoutrisk.schema._validate import AS_OF_TABLES

_HELP = (
    "Check a folder of canonical tables (Parquet or CSV) against the data contract. "
    "Attendance files in another layout (attendance_*.parquet/csv) are harmonised first. "
    "Prints one line per table and exits 0 when the data are valid, 2 when they are not."
)


@app.command("validate", help=_HELP)
def validate(
    data: Annotated[Path, typer.Option("--data", help="Folder with the tables.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Drop events dated on or after this date (YYYY-MM-DD)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write a JSON report here (also when the data are invalid)."),
    ] = None,
) -> None:
    from dropoutrisk._version import __version__
    from dropoutrisk.errors import DataError
    from dropoutrisk.io import read_tables
    from dropoutrisk.schema import validate_tables

    report: dict[str, Any] = {
        "dropoutrisk_version": __version__,
        "data": str(data),
        "as_of": as_of,
        "valid": False,
        "tables": {},
        "warnings": [],
        "error": None,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = read_tables(data, combine_attendance=False)
            valid = validate_tables(raw, as_of=as_of)
        except DataError as exc:
            report["error"] = {"type": type(exc).__name__, "message": str(exc),
                               "table": exc.table, "column": exc.column}
            report["warnings"] = _messages(caught)
            _echo_warnings(report["warnings"])
            _write_report(out, report)
            if as_of is not None and exc.table == "as_of":  # the option, not the data
                raise typer.BadParameter(str(exc), param_hint="--as-of") from None
            raise
    report["warnings"] = _messages(caught)
    _echo_warnings(report["warnings"])

    for name, frame in valid.items():
        sources = {n: len(f) for n, f in raw.items() if n == name or n.startswith(name + "_")}
        rows_in = sum(sources.values())
        entry = {
            "rows_in": rows_in,
            "rows": len(frame),
            "dropped_after_as_of": rows_in - len(frame),
            "columns": [str(c) for c in frame.columns],
        }
        if len(sources) > 1 or name not in sources:
            entry["sources"] = sources
        report["tables"][name] = entry
        typer.echo(_summary_line(name, entry, as_of))
    report["valid"] = True
    _write_report(out, report)
    typer.echo(f"Valid: {len(valid)} tables in {data}" + (f"; report in {out}" if out else "."))


def _summary_line(name: str, entry: dict[str, Any], as_of: str | None) -> str:
    line = f"{name}: {entry['rows']} rows"
    if "sources" in entry:
        parts = ", ".join(f"{n} {k}" for n, k in entry["sources"].items())
        line += f" (from {parts})"
    if as_of is not None and name in AS_OF_TABLES:
        line += f", {entry['dropped_after_as_of']} dropped (dated on or after {as_of})"
    return line


def _messages(caught: list[warnings.WarningMessage]) -> list[str]:
    seen: list[str] = []
    for item in caught:
        text = f"{item.category.__name__}: {item.message}"
        if text not in seen:
            seen.append(text)
    return seen


def _echo_warnings(messages: list[str]) -> None:
    for text in messages:
        print(f"Warning: {text}", file=sys.stderr)


def _write_report(out: Path | None, report: dict[str, Any]) -> None:
    if out is None:
        return
    from dropoutrisk._atomic import write_text

    write_text(out, json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
