"""CI executes every notebook: they import dropoutrisk, run top to bottom and render their plots."""

import ast
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))

#: One notebook per user of DESIGN.md, each with the plots it must render.
EXPECTED_IMAGES = {"quickstart.ipynb": 3, "weekly_job.ipynb": 1, "auditor.ipynb": 3,
                   "researcher.ipynb": 2}


def _code(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_every_user_has_a_notebook():
    assert {p.name for p in NOTEBOOKS} >= set(EXPECTED_IMAGES)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_renders_its_plots(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # the kernel's own inline backend, so that figures become image outputs
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= EXPECTED_IMAGES.get(path.name, 1), path.name
    text = "".join(o.get("text", "") for o in outputs)
    assert "Traceback" not in text  # a command-line step that failed unexpectedly
    assert sum(1 for o in outputs if o.get("output_type") == "execute_result") >= 4


def _statements(source):
    """The Python of a cell, with shell (``!``) and magic (``%``) lines left out."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("!", "%"))]
    return ast.walk(ast.parse("\n".join(lines)))


def test_notebooks_hold_no_logic():
    """Cells call the library: no functions, classes, loops or branches live in notebooks."""
    assert NOTEBOOKS, "no notebooks found"
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For,
              ast.While, ast.If, ast.With, ast.Try)
    for path in NOTEBOOKS:
        for cell in _code(path):
            found = [type(node).__name__ for node in _statements(cell.source)
                     if isinstance(node, banned)]
            assert not found, (path.name, found, cell.source[:80])
