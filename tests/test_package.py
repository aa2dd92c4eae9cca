"""The package surface: nothing happens at import time, names resolve lazily."""

import subprocess
import sys

import dropoutrisk


def test_all_names_resolve():
    for name in dropoutrisk.__all__:
        assert getattr(dropoutrisk, name) is not None


def test_unknown_attribute_raises_attribute_error():
    try:
        dropoutrisk.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light_and_side_effect_free():
    code = (
        "import sys, logging; import dropoutrisk; "
        "heavy = [m for m in ('lightgbm', 'mlflow', 'duckdb', 'shap', 'matplotlib') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert not logging.getLogger().handlers, logging.getLogger().handlers; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("dropoutrisk").joinpath("py.typed").is_file()
