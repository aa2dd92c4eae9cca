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


def _stub_names() -> set[str]:
    import ast
    from importlib.resources import files

    tree = ast.parse(files("dropoutrisk").joinpath("__init__.pyi").read_text(encoding="utf-8"))
    return {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom)
            for a in node.names}


def test_the_stub_is_the_one_list_of_root_names():
    names = _stub_names()
    assert names == set(dropoutrisk.__all__)
    assert len(dropoutrisk.__all__) == len(names)
    assert names <= set(dir(dropoutrisk))
    assert {"save_model", "load_bundle", "DriftReport", "__version__"} <= names
    assert "oracle_metrics" not in names  # a synthetic-data tool: dropoutrisk.synthetic


def test_star_import_gives_exactly_the_public_names():
    namespace: dict = {}
    exec("from dropoutrisk import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(dropoutrisk.__all__)


def test_no_module_in_the_package_imports_the_root_package():
    import ast
    import pkgutil
    from pathlib import Path

    root = Path(dropoutrisk.__file__).parent
    submodules = {m.name for m in pkgutil.iter_modules([str(root)])}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "dropoutrisk" for a in node.names):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
            elif (isinstance(node, ast.ImportFrom) and node.module == "dropoutrisk"
                  and any(a.name not in submodules for a in node.names)):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, f"import the defining module instead of the root: {offenders}"


def test_version_has_one_home():
    from dropoutrisk import _version

    assert dropoutrisk.__version__ is _version.__version__
