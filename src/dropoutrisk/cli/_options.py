"""The options several commands share, declared once (type, flag and help).

A command takes them as ``model: ModelFolder``, ``threshold: Threshold = None``
and so on, so that the same option reads the same in every ``--help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "DATA_HELP",
    "By",
    "Capacity",
    "Cohorts",
    "DataInput",
    "Days",
    "FlagRate",
    "HorizonDays",
    "ModelFolder",
    "NBoot",
    "Pseudonymise",
    "Seed",
    "SpecFile",
    "TablesFolder",
    "Threshold",
    "Weeks",
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
#: ``--cohorts`` of canonical tables (a wide table has none).
Cohorts = Annotated[
    str | None,
    typer.Option("--cohorts", help="Cohorts: 2024, 2023-2024 or 2022,2024 (canonical tables; "
                 "required without --spec)."),
]
#: ``--weeks`` and ``--days``: the snapshots of canonical tables.
Weeks = Annotated[
    str | None,
    typer.Option("--weeks", help="Snapshot weeks of the school year, e.g. 6,10,20; default: "
                 "as the model was trained (audit: the first)."),
]
Days = Annotated[
    str | None,
    typer.Option("--days", help="Snapshots at days after each student's start, e.g. 14,30; "
                 "default: as the model was trained, when it was trained that way."),
]
#: ``--horizon-days`` where the training horizon is the default.
HorizonDays = Annotated[
    int | None,
    typer.Option("--horizon-days", min=1, help="Label horizon; default: the training one."),
]
#: The operating point's options (checked together by OperatingPoint).
Threshold = Annotated[
    float | None,
    typer.Option("--threshold", help="Flag students whose probability is at or above this."),
]
Capacity = Annotated[
    int | None,
    typer.Option("--capacity", help="Flag the K highest-risk students (per --by group)."),
]
By = Annotated[
    str | None,
    typer.Option("--by", help="Column for a capacity per group, e.g. school_id."),
]
FlagRate = Annotated[
    float | None,
    typer.Option("--flag-rate", help="Flag this share of the students (0 to 1), those with "
                 "the highest estimated risk."),
]
#: The bootstrap of ``evaluate`` and ``audit``.
NBoot = Annotated[
    int,
    typer.Option("--n-boot", min=0, help="Bootstrap replicates of the intervals; 0 = point "
                 "estimates only."),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed (the same seed gives the same result).")]
#: ``--pseudonymise``: keyed hashes instead of student ids.
Pseudonymise = Annotated[
    bool,
    typer.Option("--pseudonymise", help="Replace student ids by keyed hashes (HMAC-SHA256; key "
                 "from the environment variable DROPOUTRISK_PSEUDONYM_KEY, never stored)."),
]
