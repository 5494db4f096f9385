"""The README keeps its promises: the two commands first, the benchmark table from results.json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.report import END, START, markdown

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    block = README.split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_performance_table_is_the_committed_results() -> None:
    results = json.loads((ROOT / "tests" / "bench" / "results.json").read_text())
    assert results["mode"] == "full"
    table = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == markdown(results).strip(), (
        "README table is stale: run `python -m tests.bench.report --readme`"
    )
