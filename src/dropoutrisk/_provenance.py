"""Which software produced a result: the one package list and version collector.

The model bundle's manifest, the run record of a scoring run and the pip
requirements of the MLflow model all record the same packages, read here.
This module imports no other dropoutrisk module but :mod:`dropoutrisk._version`.
"""

from __future__ import annotations

import platform
from importlib import metadata

from dropoutrisk._version import __version__

__all__ = ["PACKAGES", "package_versions"]

#: The installed distributions whose versions are recorded beside dropoutrisk's.
PACKAGES: tuple[str, ...] = (
    "numpy", "pandas", "pyarrow", "scikit-learn", "lightgbm", "skops", "duckdb", "shap",
)


def package_versions() -> dict[str, str | None]:
    """Python's, dropoutrisk's and each of :data:`PACKAGES`' version (``None``: not installed).

    Examples
    --------
    >>> versions = package_versions()
    >>> sorted(versions)[:3], versions["dropoutrisk"] == __version__
    (['dropoutrisk', 'duckdb', 'lightgbm'], True)
    """
    versions: dict[str, str | None] = {
        "python": platform.python_version(), "dropoutrisk": __version__,
    }
    for dist in PACKAGES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
