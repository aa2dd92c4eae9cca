"""The ``dropoutrisk`` command-line application and its exit codes.

Exit codes
----------
0  success
1  anything unexpected
2  invalid input (the message names the table, column and rows)
3  a model problem (missing, tampered or incompatible model)
4  a drift check failed (only with ``--fail-on-drift``)
"""

from __future__ import annotations

import sys
import textwrap
import traceback
from typing import Annotated, Any

import typer

from dropoutrisk.errors import DataError, DriftError, ModelError, ParameterError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INVALID_INPUT = 2
EXIT_MODEL = 3
EXIT_DRIFT = 4

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 2 invalid input (the message names the table, column and rows); "
    "3 model problem (missing, tampered or incompatible); 4 drift check failed "
    "(with --fail-on-drift); 1 anything unexpected."
)

app = typer.Typer(
    name="dropoutrisk",
    help="Calibrated, explainable early warning of school dropout.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback on errors.")
    ] = False,
) -> None:
    _state["debug"] = debug


def _paragraph(prefix: str, exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return textwrap.fill(f"{prefix}: {text}", width=100)


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with the documented exit code."""
    usage_errors, aborts = _click_exception_types()
    argv = list(sys.argv[1:] if argv is None else argv)
    _state["debug"] = "--debug" in argv
    try:
        # With standalone_mode=False, a command's ``typer.Exit(n)`` comes back as a return value.
        rc = app(args=argv, prog_name="dropoutrisk", standalone_mode=False)
    except aborts:
        print("Aborted.", file=sys.stderr)
        sys.exit(EXIT_UNEXPECTED)
    except usage_errors as exc:
        exc.show()
        sys.exit(EXIT_INVALID_INPUT)
    except Exception as exc:
        code = _exit_code(exc)
        if code == EXIT_UNEXPECTED:  # the last line of defence: a bug
            _report(exc, f"Unexpected error ({type(exc).__name__})", code)
        message = exc.for_option(_option(argv, exc.parameter)) if isinstance(
            exc, ParameterError) else None
        _report(exc, _PREFIXES[code], code, message)
    sys.exit(rc if isinstance(rc, int) else EXIT_OK)


def _click_exception_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Usage-error and abort classes of click and of Typer's vendored click (Typer >= 0.20)."""
    import click

    usage: list[type[BaseException]] = [click.ClickException]
    aborts: list[type[BaseException]] = [click.exceptions.Abort, typer.Abort]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException
    except ImportError:  # pragma: no cover - older Typer uses click itself
        pass
    else:
        usage.append(VendoredClickException)
    return tuple(usage), tuple(aborts)


#: The error classes whose ``exit_code`` the command line exits with.
_CODED = (DataError, ParameterError, ModelError, DriftError)
_PREFIXES = {
    EXIT_INVALID_INPUT: "Invalid input",
    EXIT_MODEL: "Model problem",
    EXIT_DRIFT: "Drift check failed",
}


def _exit_code(exc: BaseException) -> int:
    """The exit code an error class declares; 1 for anything else (a bug)."""
    code = getattr(type(exc), "exit_code", None) if isinstance(exc, _CODED) else None
    return code if code in _PREFIXES else EXIT_UNEXPECTED


def _option(argv: list[str], parameter: str) -> str:
    """The command-line option of a library ``parameter`` in the invoked command.

    A library function spells its parameters as the command's own arguments
    (``calib_cohort`` is ``--calib-cohort``); an unknown name falls back to
    that spelling.
    """
    command: Any = typer.main.get_command(app)
    for word in (w for w in argv if not w.startswith("-")):  # the root takes flags only
        if command is None or not hasattr(command, "commands"):
            break
        command = command.commands.get(word)
    if command is not None:
        for param in command.params:
            if param.name == parameter and getattr(param, "opts", None):
                return str(max(param.opts, key=len))
    return "--" + parameter.replace("_", "-")


def _report(exc: BaseException, prefix: str, code: int, message: str | None = None) -> None:
    if _state["debug"]:
        traceback.print_exception(exc, file=sys.stderr)
    else:
        print(_paragraph(prefix, message if message is not None else exc), file=sys.stderr)
        if code == EXIT_UNEXPECTED:
            print("Run again with --debug for the traceback.", file=sys.stderr)
    sys.exit(code)
