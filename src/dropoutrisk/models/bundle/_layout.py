"""The bundle's layout: file names, the format, and how its JSON files are written."""

from __future__ import annotations

import re
from typing import Any

from dropoutrisk._json import dumps
from dropoutrisk.errors import ParameterError

#: The ``format`` field of every manifest.
BUNDLE_FORMAT = "dropoutrisk-model"
#: Bumped when the layout of the bundle changes in a way old readers cannot follow.
BUNDLE_FORMAT_VERSION = 1

MANIFEST_NAME = "manifest.json"
MODEL_NAME = "model.skops"
BASELINE_DIR = "baselines"

# distribution name -> manifest key; the first three must match in major.minor
CHECKED_VERSIONS = ("dropoutrisk", "scikit-learn", "lightgbm")

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ParameterError(parameter=what, message=
            f"{what} name {name!r} cannot be used as a file name: use letters, digits, "
            "'_', '-' and '.'."
        )


def dump_json(obj: Any) -> bytes:
    return (dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")
