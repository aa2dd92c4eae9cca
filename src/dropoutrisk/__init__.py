"""dropoutrisk: calibrated, explainable early warning of school dropout.

The public surface is small and re-exported here; everything else lives in
private modules. Its one list is the stub ``__init__.pyi``, which type
checkers read; this module reads the same imports from it, without running
them, and resolves each name on first use. Importing the package does
nothing but define names: heavy dependencies (LightGBM, MLflow, DuckDB) load
on first use of the function or class that needs them.

Examples
--------
>>> import dropoutrisk
>>> "snapshot_dates" in dropoutrisk.__all__
True
"""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path
from typing import Any

from dropoutrisk._version import __version__ as __version__


@functools.cache
def _public() -> dict[str, str]:
    """Public name -> the module it comes from, as the stub ``__init__.pyi`` imports it."""
    stub = Path(__file__).with_name("__init__.pyi").read_text(encoding="utf-8")
    return {
        alias.asname or alias.name: str(node.module)
        for node in ast.parse(stub).body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def __getattr__(name: str) -> Any:
    if name == "__all__":
        value: Any = sorted(_public())
    elif name in _public():
        value = getattr(importlib.import_module(_public()[name]), name)
    else:
        raise AttributeError(f"module 'dropoutrisk' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_public()))
