"""The options several commands share, declared once (type, flag and help).

A command takes them as ``model: ModelFolder``, ``threshold: Threshold = None``
and so on, so that the same option reads the same in every ``--help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["By", "Capacity", "HorizonDays", "ModelFolder", "TablesFolder", "Threshold"]

#: ``--model``: the bundle folder to load.
ModelFolder = Annotated[Path, typer.Option("--model", help="Model folder written by 'train'.")]
#: ``--data``: a folder of canonical tables.
TablesFolder = Annotated[Path, typer.Option("--data", help="Folder of canonical tables.")]
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
