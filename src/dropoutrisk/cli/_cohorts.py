"""Shared steps of the commands: parsing options, reading ``--data`` (and ``--spec``), warnings."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

__all__ = [
    "check_out_folder",
    "created_at_from_env",
    "load_against",
    "parse_cohorts",
    "parse_date",
    "parse_weeks",
    "pseudonym_key",
    "snapshot_options",
    "read_data",
    "read_input",
    "warnings_to_stderr",
]

#: Tables in a data folder that are not canonical inputs (kept apart, never validated).
_NOT_INPUT = ("truth",)


def parse_cohorts(text: str, option: str = "--cohorts") -> list[int]:
    """``"2020-2022"`` -> [2020, 2021, 2022]; ``"2020,2022"`` -> [2020, 2022]; ``"2024"`` -> [2024]."""
    years: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d{4})\s*(?:-\s*(\d{4}))?", part)
        if not match:
            raise typer.BadParameter(
                f"{text!r} is not a cohort list; use a start year (2024), a range "
                "(2020-2022) or a comma list (2020,2022).",
                param_hint=option,
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first:
            raise typer.BadParameter(f"range {part!r} runs backwards.", param_hint=option)
        years.update(range(first, last + 1))
    return sorted(years)


def _whole_numbers(text: str, option: str, *, most: int, what: str, example: str) -> list[int]:
    """Sorted distinct whole numbers from ``0`` to ``most`` in a comma-separated ``text``."""
    try:
        values = sorted({int(v) for v in str(text).split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or any(v < 0 or v > most for v in values):
        raise typer.BadParameter(
            f"{text!r} is not a list of snapshot {what}, comma separated, e.g. {example}.",
            param_hint=option,
        )
    return values


def parse_weeks(text: str, option: str = "--weeks") -> list[int]:
    """``"6,10,20"`` -> [6, 10, 20]."""
    return _whole_numbers(text, option, most=52, example="6,10,20",
                          what="weeks; use whole weeks after the start of the school year")


def parse_days(text: str, option: str = "--days") -> list[int]:
    """``"14,30,60,90"`` -> [14, 30, 60, 90]: days after each student's start."""
    return _whole_numbers(text, option, most=3660, example="14,30,60,90",
                          what="days; use whole days after each student's start")


def snapshot_options(weeks: str | None, days: str | None) -> dict[str, list[int] | None]:
    """``--weeks`` and ``--days`` as the library's ``weeks=`` and ``days=`` (None: as trained)."""
    if weeks and days:
        raise typer.BadParameter("give --weeks or --days, not both.", param_hint="--days")
    return {"weeks": parse_weeks(weeks) if weeks else None,
            "days": parse_days(days) if days else None}


def check_out_folder(out: Path, files: Any, what: str) -> None:
    """Before any work: never replace a folder that is not an earlier run's ``files``."""
    from dropoutrisk._atomic import check_folder_replaceable

    try:
        check_folder_replaceable(out, files, what)
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None


def parse_date(text: str, option: str) -> dt.date:
    from dropoutrisk.errors import DateParseError
    from dropoutrisk.schema import parse_as_of

    try:
        return parse_as_of(str(text)).date()
    except DateParseError:
        raise typer.BadParameter(
            f"{text!r} is not a date; use YYYY-MM-DD.", param_hint=option
        ) from None


def created_at_from_env() -> dt.datetime | None:
    """The bundle timestamp from ``SOURCE_DATE_EPOCH`` (reproducible builds), if set."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except ValueError:
        raise typer.BadParameter(
            f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds."
        ) from None


@contextlib.contextmanager
def warnings_to_stderr() -> Iterator[list[str]]:
    """Show each warning as one plain line on stderr (no source lines), and collect them."""
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield seen
        finally:
            for w in caught:
                line = f"Warning ({w.category.__name__}): {' '.join(str(w.message).split())}"
                if line not in seen:
                    seen.append(line)
                    print(line, file=sys.stderr)


def read_data(folder: Path, as_of: Any = None) -> tuple[dict[str, Any], Any]:
    """Read and validate a folder of canonical tables; return ``(tables, truth or None)``."""
    from dropoutrisk.io import read_tables
    from dropoutrisk.schema import validate_tables

    # each attendance file keeps its name, so that validation messages name the file
    tables = dict(read_tables(folder, combine_attendance=False))
    truth = None
    for name in _NOT_INPUT:
        if name in tables:
            truth = tables.pop(name)
    if truth is None and (folder / "truth.parquet").is_file():
        import pandas as pd

        truth = pd.read_parquet(folder / "truth.parquet")
    return validate_tables(tables, as_of=as_of), truth


def read_input(data: Path, spec: Path | None, *, cohorts: str | None = None,
               as_of: Any = None) -> tuple[Any, Any, Any]:
    """``--data`` (and ``--spec``) read: ``(tables or wide table, dataset spec or None, truth)``.

    Canonical tables (a folder) are validated; a wide table file is read with
    its dataset spec. ``cohorts`` is the ``--cohorts`` text: required with
    canonical tables, refused with a wide table.
    """
    if spec is not None:
        from dropoutrisk.features import load_dataset_spec, read_wide_table

        if cohorts is not None:
            raise typer.BadParameter("--cohorts does not apply to a wide table (--spec): "
                                     "its rows are the table's.", param_hint="--cohorts")
        dataset_spec = load_dataset_spec(spec)
        return read_wide_table(data, dataset_spec), dataset_spec, None
    if data.is_file():
        raise typer.BadParameter(
            f"{str(data)!r} is a file: a wide table needs its dataset spec, --spec SPEC.toml; "
            "canonical tables are given as a folder.", param_hint="--data")
    tables, truth = read_data(data, as_of=as_of)
    return tables, None, truth


def load_against(path: Path) -> Any:
    """The ``--against`` bundle, verified like ``--model``; its errors name the option."""
    from dropoutrisk.errors import ModelError
    from dropoutrisk.models import load_bundle

    try:
        return load_bundle(path)
    except ModelError as exc:
        raise type(exc)(f"--against (the previous model): {exc}", path=exc.path) from exc


def pseudonym_key() -> str:
    """The pseudonymisation key, read here at the command line edge only, never stored."""
    from dropoutrisk.errors import PseudonymKeyError
    from dropoutrisk.fairness import PSEUDONYM_KEY_ENV

    key = os.environ.get(PSEUDONYM_KEY_ENV)
    if not key:
        raise PseudonymKeyError(
            table="pseudonymisation key",
            problem=f"--pseudonymise needs the environment variable {PSEUDONYM_KEY_ENV}",
            allowed="a secret of at least 16 bytes",
            fix=f"export {PSEUDONYM_KEY_ENV}=$(python -c \"import secrets; "
            "print(secrets.token_hex(32))\") and keep it in your secret store",
        )
    return key
