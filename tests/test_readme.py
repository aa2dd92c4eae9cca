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


RESULTS = Path(__file__).parents[1] / "benchmarks" / "results"


def _bench_small_figures(doc: dict) -> list[str]:
    """The phrases of the README's bench_small row, from the benchmark's JSON."""
    sizes = sorted(doc["sizes"], key=int)
    model = [doc["sizes"][n]["summary"]["minus_logistic"]["model"] for n in sizes]
    fixed = doc["sizes"][sizes[0]]["summary"]["minus_logistic"]["model_fixed_300"]

    def medians(metric):
        return " / ".join(f"{m[metric]['median_difference']:+.3f}" for m in model)

    def below(metric):
        return " / ".join(str(m[metric]["seeds_below_beyond_noise"]) for m in model)

    return [
        f"ROC-AUC median {medians('roc_auc')}",
        f"recall@10% {medians('recall_at_10pct')}",
        f"below logistic beyond noise in {below('roc_auc')} seeds on ROC-AUC and "
        f"{below('recall_at_10pct')} on recall",
        f"fixed 300 rounds at {int(sizes[0]):,} students: ROC-AUC "
        f"{fixed['roc_auc']['median_difference']:+.3f}",
        f"{doc['sizes'][sizes[0]]['summary']['seeds']} seeds each",
    ]


#: Benchmarks whose README row is checked against their committed JSON output.
CHECKED_ROWS = {"bench_small": _bench_small_figures}


def test_benchmark_rows_agree_with_the_committed_json():
    """Each figure lives in one place, the README table, and is the one the script printed."""
    import json

    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(bench_\w+)\.py`", line)
        if match:
            rows.setdefault(match.group(1), []).append(line)
    committed = sorted(p.stem for p in RESULTS.glob("*.json"))
    assert committed, "no committed benchmark outputs in benchmarks/results/"
    for name in committed:
        assert name in CHECKED_ROWS, f"{name}.json is committed but its README row is not checked"
        doc = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
        row = " ".join(rows.get(name, []))
        assert f"benchmarks/results/{name}.json" in row, f"the {name} row does not cite its JSON"
        missing = [phrase for phrase in CHECKED_ROWS[name](doc) if phrase not in row]
        assert not missing, f"README {name} row disagrees with {name}.json: {missing}"
