"""Shared steps of ``train``, ``evaluate`` and ``predict``: options, tables, cohort frames."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import typer

from dropoutrisk.models._train import cohort_frame

__all__ = [
    "cohort_frame",
    "created_at_from_env",
    "parse_cohorts",
    "parse_date",
    "parse_weeks",
    "pseudonym_key",
    "read_data",
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


def snapshots_of(weeks: str | None, days: str | None, trained: Mapping[str, Any], *,
                 first_only: bool = False) -> tuple[list[int], list[int] | None]:
    """The snapshot weeks (or days after each start) from the options, else as trained.

    ``first_only`` keeps the first trained snapshot only (one row per student).
    """
    if weeks and days:
        raise typer.BadParameter("give --weeks or --days, not both.", param_hint="--days")
    if days:
        return [], parse_days(days)
    if weeks:
        return parse_weeks(weeks), None
    trained_days = [int(d) for d in trained.get("days") or []]
    if trained_days:
        return [], trained_days[:1] if first_only else trained_days
    trained_weeks = [int(w) for w in trained.get("weeks") or ([10] if first_only else [6, 10, 20])]
    return (trained_weeks[:1] if first_only else trained_weeks), None


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
