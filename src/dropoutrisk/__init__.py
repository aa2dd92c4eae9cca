"""dropoutrisk: calibrated, explainable early warning of school dropout.

The public surface is small and re-exported here; everything else lives in
private modules. Importing the package does nothing but define names: heavy
dependencies (LightGBM, MLflow, DuckDB) load on first use of the function
or class that needs them.

Examples
--------
>>> import dropoutrisk
>>> "snapshot_dates" in dropoutrisk.__all__
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

# public name -> module that defines it
_PUBLIC: dict[str, str] = {
    "school_year_start": "dropoutrisk.schema",
    "snapshot_dates": "dropoutrisk.schema",
}

__all__ = sorted(_PUBLIC) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from dropoutrisk.schema import school_year_start as school_year_start
    from dropoutrisk.schema import snapshot_dates as snapshot_dates


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'dropoutrisk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
