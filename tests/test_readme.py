"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_python_example_runs():
    block = re.search(r"## Python\n\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block, "the README lost its Python example"
    namespace: dict = {}
    exec(compile(block.group(1), str(README), "exec"), namespace)
    reasons = namespace["dr"].explain_students(
        namespace["model"], namespace["split"].X_test.head(20), lang="en"
    ).reasons
    assert len(reasons) > 0 and reasons["sentence"].str.len().min() > 10


def test_readme_quick_start_has_exactly_two_commands():
    text = README.read_text(encoding="utf-8")
    quick = text[text.index("## Quick start"):]
    first_block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1).split()
    assert first_block == ["make", "demo", "make", "test"]
