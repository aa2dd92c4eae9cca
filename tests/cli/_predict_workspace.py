"""The predict tests' view of the session workspace (``tests/cli/conftest.py``).

The data folder and the bundle are the session's (``synth`` and ``train`` run
once per session); this adds the prediction date and the tables read back,
so that the predict tests do not train a bundle of their own.
"""

AS_OF = "2024-10-01"

_CACHE: dict = {}


def shared_workspace(workspace) -> dict:
    """``root``, ``data``, ``model`` and ``tables`` (the canonical tables, without truth).

    Each call returns a new dict (a test module may add keys); the tables are
    read once per session and must not be changed.
    """
    if "tables" not in _CACHE:
        from dropoutrisk.io import read_tables

        tables = read_tables(workspace["data"], combine_attendance=False)
        _CACHE["tables"] = {name: t for name, t in tables.items() if name != "truth"}
    return {"root": workspace["root"], "data": workspace["data"], "model": workspace["model"],
            "tables": _CACHE["tables"]}
