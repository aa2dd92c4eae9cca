"""``dropoutrisk synth``: write synthetic cohorts as one Parquet file per table."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Annotated

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from dropoutrisk._atomic import atomic_path
from dropoutrisk.cli._app import app
from dropoutrisk.synthetic import EVENT_TABLES

#: Parquet settings: fixed so that the same seed gives the same bytes.
_PARQUET = {"compression": "zstd", "compression_level": 3, "use_dictionary": True}
_ALL_TABLES = ("students", *EVENT_TABLES, "outcomes", "truth")


def parse_cohorts(text: str) -> list[int]:
    """Parse ``2020-2024`` (inclusive), ``2020,2022`` or ``2021`` into years.

    Examples
    --------
    >>> parse_cohorts("2020-2023")
    [2020, 2021, 2022, 2023]
    >>> parse_cohorts("2021, 2023")
    [2021, 2023]
    """
    text = text.strip()
    m = re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", text)
    if m:
        first, last = int(m.group(1)), int(m.group(2))
        if last < first:
            raise typer.BadParameter(f"the range {text!r} runs backwards; write e.g. 2020-2024.",
                                     param_hint="--cohorts")
        return list(range(first, last + 1))
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(re.fullmatch(r"\d{4}", p) for p in parts):
        raise typer.BadParameter(
            f"{text!r} is not a cohort list; write a range like 2020-2024 or years like 2020,2022.",
            param_hint="--cohorts",
        )
    return [int(p) for p in parts]


def _arrow(df: pd.DataFrame) -> pa.Table:
    """Student-level frame to Arrow with calendar dates as ``date32``."""
    columns = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            columns[name] = pa.array(col.to_numpy().astype("datetime64[D]"), type=pa.date32())
        elif col.dtype == object:
            columns[name] = pa.array(col.tolist(), type=pa.string())
        else:
            columns[name] = pa.array(col.to_numpy(), from_pandas=True)
    return pa.table(columns)


def _write_table(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **_PARQUET)


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the Parquet files to.")],
    students: Annotated[
        int, typer.Option("--students", min=1, help="Total number of students over all cohorts.")
    ] = 2000,
    cohorts: Annotated[
        str, typer.Option("--cohorts", help="Cohort start years: 2020-2024 or 2020,2022.")
    ] = "2020-2023",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    schools: Annotated[int, typer.Option("--schools", min=1, help="Number of schools.")] = 20,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, help="Horizon of the truth labels.")
    ] = 365,
    canonical_only: Annotated[
        bool,
        typer.Option("--canonical-only", help="Every school writes canonical attendance rows."),
    ] = False,
    lesson_level: Annotated[
        bool,
        typer.Option("--lesson-level", help="Canonical attendance per lesson instead of per day."),
    ] = False,
    no_events: Annotated[
        bool,
        typer.Option("--no-events", help="Write only students, outcomes and truth."),
    ] = False,
    chunk_students: Annotated[
        int, typer.Option("--chunk-students", min=1, help="Students per streamed chunk.")
    ] = 20_000,
) -> None:
    """Generate synthetic cohorts with a known true risk and write one Parquet file per table.

    The same arguments and seed give byte-identical files. Event tables are
    streamed in chunks of students, so memory stays bounded.
    """
    from dropoutrisk.synthetic import make_cohorts

    years = parse_cohorts(cohorts)
    result = make_cohorts(
        students,
        years,
        n_schools=schools,
        random_state=seed,
        horizon_days=horizon_days,
        attendance_formats="canonical" if canonical_only else "mixed",
        attendance_level="lesson" if lesson_level else "day",
        include_events=not no_events,
    )
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name in ("students", "outcomes", "truth"):
        table = _arrow(result[name])
        _write_table(out / f"{name}.parquet", table)
        counts[name] = table.num_rows
    if not no_events:
        counts.update(_write_events(result, out, chunk_students))
    for name in _ALL_TABLES:  # files of an earlier run that this run did not write
        if name not in counts:
            with contextlib.suppress(FileNotFoundError):
                (out / f"{name}.parquet").unlink()
    width = max(len(n) for n in counts)
    typer.echo(
        f"Wrote {students} synthetic students (cohorts {', '.join(map(str, years))}) to {out}:"
    )
    for name in _ALL_TABLES:
        if name in counts:
            typer.echo(f"  {name + '.parquet':<{width + 8}} {counts[name]:>12,} rows")


def _write_events(result, out: Path, chunk_students: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        writers: dict[str, pq.ParquetWriter] = {}
        for chunk in result.iter_event_chunks(chunk_students=chunk_students):
            for name, table in chunk.items():
                if table.num_rows == 0:
                    continue
                if name not in writers:
                    tmp = stack.enter_context(atomic_path(out / f"{name}.parquet"))
                    writers[name] = stack.enter_context(
                        pq.ParquetWriter(tmp, table.schema, **_PARQUET)
                    )
                writers[name].write_table(table, row_group_size=1_000_000)
                counts[name] = counts.get(name, 0) + table.num_rows
                del table
    return counts


__all__ = ["parse_cohorts", "synth"]
