"""Command line: ``dropoutrisk <command>``.

Each command lives in its own private module and registers itself on the
shared Typer app when imported below.
"""

from dropoutrisk.cli import (  # noqa: F401  (register commands)
    _audit,
    _backtest,
    _demo,
    _drift,
    _evaluate,
    _explain,
    _follow_up,
    _predict,
    _spec,
    _synth,
    _train,
    _validate,
)
from dropoutrisk.cli._app import app, main

__all__ = ["app", "main"]
