"""The options several commands share, declared once (type, flag, help and checks).

A command takes a single option as ``model: ModelFolder``, and a group of
options that go together as one parameter, ``flags: Flags``: a frozen
dataclass whose fields are the options (``--threshold``, ``--capacity``,
``--by``, ``--flag-rate``) and whose methods check them and turn them into
the library's arguments. :func:`command` (used in place of ``app.command``)
spreads each group's fields into the command's signature for Typer and hands
the command the group. The same option reads the same in every ``--help``,
and is checked in one place.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dropoutrisk.cli._app import app

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "DATA_HELP",
    "Bootstrap",
    "DataInput",
    "Flags",
    "HorizonDays",
    "ModelFolder",
    "Pseudonymise",
    "Rows",
    "SpecFile",
    "TablesFolder",
    "Tracking",
    "command",
]

#: ``--model``: the bundle folder to load.
ModelFolder = Annotated[Path, typer.Option("--model", help="Model folder written by 'train'.")]
#: ``--data``: a folder of canonical tables.
TablesFolder = Annotated[Path, typer.Option("--data", help="Folder of canonical tables.")]
#: The help of ``--data`` where a wide table (with ``--spec``) is accepted too.
DATA_HELP = ("Folder of canonical tables (Parquet or CSV), or with --spec a wide table file "
             "(.csv or .parquet).")
#: ``--data``: canonical tables, or a wide table with ``--spec``.
DataInput = Annotated[Path, typer.Option("--data", help=DATA_HELP)]
#: ``--spec``: the dataset spec of the wide table given with ``--data``.
SpecFile = Annotated[
    Path | None,
    typer.Option("--spec", help="Dataset spec (TOML): --data is then a wide table file."),
]
#: ``--horizon-days`` where the training horizon is the default.
HorizonDays = Annotated[
    int | None,
    typer.Option("--horizon-days", min=1, help="Label horizon; default: the training one."),
]
#: ``--pseudonymise``: keyed hashes instead of student ids.
Pseudonymise = Annotated[
    bool,
    typer.Option("--pseudonymise", help="Replace student ids by keyed hashes (HMAC-SHA256; key "
                 "from the environment variable DROPOUTRISK_PSEUDONYM_KEY, never stored)."),
]


def command(name: str, *, help: str) -> Callable[[F], F]:
    """``app.command(name, help=...)`` for a function that may take option groups.

    A parameter annotated with an option group class (a dataclass such as
    :class:`Flags`) is replaced, in the signature Typer reads, by the group's
    fields; the function is called with the group built from them.
    """
    def register(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        groups: dict[str, type] = {}
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            kind = inspect.Parameter.KEYWORD_ONLY
            if dataclasses.is_dataclass(param.annotation):
                group = typing.cast(type, param.annotation)
                groups[param.name] = group
                hints = typing.get_type_hints(group, include_extras=True)
                params += [inspect.Parameter(f.name, kind, default=f.default,
                                             annotation=hints[f.name])
                           for f in dataclasses.fields(group)]
            else:
                params.append(param.replace(kind=kind))

        @functools.wraps(func)
        def run(**options: Any) -> Any:
            for name_, group in groups.items():
                fields = [f.name for f in dataclasses.fields(group)]
                options[name_] = group(**{f: options.pop(f) for f in fields})
            return func(**options)

        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name, help=help)(run)
        return func

    return register


@dataclasses.dataclass(frozen=True)
class Rows:
    """The labelled rows of ``evaluate`` and ``audit``: cohorts at snapshots, or a wide table."""

    cohorts: Annotated[str | None, typer.Option(
        "--cohorts", help="Cohorts: 2024, 2023-2024 or 2022,2024 (canonical tables; required "
        "without --spec).")] = None
    spec: SpecFile = None
    weeks: Annotated[str | None, typer.Option(
        "--weeks", help="Snapshot weeks of the school year, e.g. 6,10,20; default: as the model "
        "was trained (audit: the first).")] = None
    days: Annotated[str | None, typer.Option(
        "--days", help="Snapshots at days after each student's start, e.g. 14,30; default: as "
        "the model was trained, when it was trained that way.")] = None
    horizon_days: HorizonDays = None

    def options(self) -> dict[str, Any]:
        """``cohorts``, ``weeks``, ``days`` and ``horizon_days`` for the library, checked."""
        from dropoutrisk.cli._cohorts import parse_cohorts, snapshot_options

        if self.spec is None and self.cohorts is None:
            raise typer.BadParameter("--cohorts is required with canonical tables (a folder); "
                                     "a wide table file takes --spec instead.",
                                     param_hint="--cohorts")
        cohorts = None if self.cohorts is None else parse_cohorts(self.cohorts)
        return {"cohorts": cohorts, "horizon_days": self.horizon_days,
                **snapshot_options(self.weeks, self.days)}

    def read(self, data: Path) -> tuple[Any, Any, Any]:
        """``--data`` read as these options say: ``(tables or table, dataset spec, truth)``."""
        from dropoutrisk.cli._cohorts import read_input

        return read_input(data, self.spec, cohorts=self.cohorts)

    def describe(self, cohorts: Any, spec: Any) -> str:
        """What the rows are, for the command's summary line."""
        return (f"cohorts {cohorts}" if spec is None
                else f"the wide table of spec {spec.name!r}")


@dataclasses.dataclass(frozen=True)
class Flags:
    """The operating point: ``--threshold``, ``--capacity`` (per ``--by``) or ``--flag-rate``."""

    threshold: Annotated[float | None, typer.Option(
        "--threshold", help="Flag students whose probability is at or above this.")] = None
    capacity: Annotated[int | None, typer.Option(
        "--capacity", help="Flag the K highest-risk students (per --by group).")] = None
    by: Annotated[str | None, typer.Option(
        "--by", help="Column for a capacity per group, e.g. school_id.")] = None
    flag_rate: Annotated[float | None, typer.Option(
        "--flag-rate", help="Flag this share of the students (0 to 1), those with the highest "
        "estimated risk.")] = None

    def point(self) -> Any:
        """The :class:`~dropoutrisk.models.OperatingPoint` (None: the model's own flags).

        Checked here, before any work; an error names its option.
        """
        from dropoutrisk.models import OperatingPoint

        return OperatingPoint.from_options(threshold=self.threshold, capacity=self.capacity,
                                           by=self.by, flag_rate=self.flag_rate)


@dataclasses.dataclass(frozen=True)
class Bootstrap:
    """The bootstrap of ``evaluate`` and ``audit``: replicates and seed."""

    n_boot: Annotated[int, typer.Option(
        "--n-boot", min=0, help="Bootstrap replicates of the intervals; 0 = point estimates "
        "only.")] = 1000
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the bootstrap (the same seed gives the same intervals).")] = 0

    def options(self) -> dict[str, int]:
        """``n_boot`` and ``random_state`` for the library."""
        return {"n_boot": self.n_boot, "random_state": self.seed}


@dataclasses.dataclass(frozen=True)
class Tracking:
    """MLflow logging of the run (``train``, ``evaluate``, ``backtest``)."""

    use_mlflow: Annotated[bool, typer.Option(
        "--mlflow", help="Log the run to MLflow (SQLite in the working folder).")] = False
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow tracking URI; implies --mlflow.")] = None

    @property
    def wanted(self) -> bool:
        """Whether the run is logged."""
        return self.use_mlflow or self.tracking_uri is not None
