"""``dropoutrisk spec init``: a draft dataset spec for a wide table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app

spec_app = typer.Typer(help="Dataset specs of wide tables (one row per student).",
                       no_args_is_help=True)
app.add_typer(spec_app, name="spec")


@spec_app.command(
    "init",
    help=(
        "Write a draft dataset spec for a wide table: every column with its guessed kind "
        "(numeric, binary, categorical with its categories), dimension background and "
        "actionable = false until you say otherwise; id-like, date-like and constant columns "
        "and likely leaks (a column that almost equals the label) under drop, with notes. "
        "The draft trains as it is (with the background features on); comments say what to "
        "check.\n\n" + EXIT_CODES_HELP
    ),
)
def init(
    table: Annotated[Path, typer.Argument(help="The wide table: .csv or .parquet.")],
    label: Annotated[str, typer.Option("--label", help="The label column.")],
    positive: Annotated[
        list[str], typer.Option("--positive", help="A label value meaning dropout (repeatable).")
    ],
    id_column: Annotated[
        str | None, typer.Option("--id", help="The student id column.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Spec file to write (default: print it).")
    ] = None,
    sep: Annotated[str | None, typer.Option("--sep", help="CSV separator (default: guessed).")]
    = None,
    encoding: Annotated[str, typer.Option("--encoding", help="CSV encoding.")] = "utf-8-sig",
) -> None:
    import pandas as pd

    from dropoutrisk._atomic import write_text
    from dropoutrisk.errors import DatasetSpecError
    from dropoutrisk.features._spec_draft import draft_spec

    if not table.is_file():
        raise typer.BadParameter(f"{str(table)!r} does not exist.", param_hint="TABLE")
    read: dict[str, str] = {}
    if table.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(table)
    elif table.suffix.lower() in (".csv", ".txt", ".tsv"):
        try:
            sep = sep if sep is not None else _guess_sep(table, encoding)
            frame = pd.read_csv(table, sep=sep, encoding=encoding)
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DatasetSpecError(table=table.name, problem=f"the file cannot be read ({exc})",
                                   fix="Pass --sep and --encoding") from None
        read = {"sep": sep, "encoding": encoding}
    else:
        raise typer.BadParameter(f"{table.name}: a wide table is a .csv or .parquet file.",
                                 param_hint="TABLE")
    text = draft_spec(frame, label, positive, id_column=id_column,
                      name=table.stem.replace(" ", "_") or "my_table", read=read)
    if out is None:
        print(text, end="")
        return
    write_text(out, text)
    print(f"Draft spec for {len(frame.columns)} columns written to {out}; check the dimensions, "
          "actionable and risk directions before relying on it.")


def _guess_sep(table: Path, encoding: str) -> str:
    """The separator that splits the first lines into the same number of fields, most of them.

    Quoted fields are read as quoted, so a header holding a separator, a quote or a tab does not
    mislead it (``csv.Sniffer`` can be, by a header such as ``"/``). Falls back to ``,``.
    """
    import csv
    import itertools

    with open(table, encoding=encoding, newline="") as fh:
        sample = list(itertools.islice(fh, 50))
    best, best_width = ",", 1
    for candidate in (",", ";", "\t", "|"):
        try:
            widths = {len(row) for row in csv.reader(sample, delimiter=candidate) if row}
        except csv.Error:
            continue
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = candidate, width
    return best
