"""The README keeps its promises: the two commands first, the benchmark table from results.json."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest

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


# The Standard Webhooks specification's published test vector.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_HEADERS = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
VECTOR_BODY = b'{"test": 2432232314}'


def _snippet(language: str) -> str:
    section = README.split("### Verifying a webhook", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_python_verification_snippet_accepts_the_published_vector() -> None:
    scope: dict[str, object] = {}
    exec(_snippet("python"), scope)
    verify = scope["verify"]
    assert callable(verify)
    assert verify(VECTOR_SECRET, VECTOR_HEADERS, VECTOR_BODY, now=1614265330)
    assert not verify(VECTOR_SECRET, VECTOR_HEADERS, VECTOR_BODY + b" ", now=1614265330)
    assert not verify(VECTOR_SECRET, VECTOR_HEADERS, VECTOR_BODY, now=1614265330 + 301)
    rotated = VECTOR_HEADERS | {
        "webhook-signature": "v1,AAAA " + VECTOR_HEADERS["webhook-signature"]
    }
    assert verify(VECTOR_SECRET, rotated, VECTOR_BODY, now=1614265330)


def test_javascript_verification_snippet_accepts_the_published_vector(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    script = tmp_path / "verify.js"
    script.write_text(
        _snippet("javascript")
        + f"""
const headers = {json.dumps(VECTOR_HEADERS)};
const body = Buffer.from({json.dumps(VECTOR_BODY.decode())});
const ok = verify({json.dumps(VECTOR_SECRET)}, headers, body, 1614265330);
const longer = Buffer.concat([body, Buffer.from(" ")]);
const tampered = verify({json.dumps(VECTOR_SECRET)}, headers, longer, 1614265330);
const stale = verify({json.dumps(VECTOR_SECRET)}, headers, body, 1614265330 + 301);
console.log(JSON.stringify([ok, tampered, stale]));
"""
    )
    out = subprocess.run(
        [node, str(script)], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(out.stdout) == [True, False, False]


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_setting_is_in_the_settings_table_with_its_default() -> None:
    from infra.settings import Settings

    table = {
        cells[1].strip("`"): cells[2].strip("`")
        for line in _section("Settings").splitlines()
        if line.startswith("| `NPS_") and (cells := [c.strip() for c in line.split("|")])
    }
    defaults = {f"NPS_{f.name.upper()}": f.default for f in msgspec.structs.fields(Settings)}
    assert set(table) == set(defaults), "README settings table and infra.settings differ"
    for name, default in defaults.items():
        if default is None:
            continue  # generated or embedded: the table says so in words
        shown = str(int(default)) if isinstance(default, bool) else str(default)
        assert table[name] == shown, f"{name}: README says {table[name]}, the code {shown}"


def _is_operation(method: str, path: str) -> bool:
    """Whether the spec has `method` on a path template that `path` fills in."""
    spec = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    concrete = re.sub(r"\{[^}]+\}|<[^>]+>|\$\w+", "x", path)
    return any(
        re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), concrete) and method.lower() in item
        for template, item in spec["paths"].items()
    )


def test_every_operation_the_readme_names_is_in_the_spec() -> None:
    """`GET /v1/…` anywhere in the README, ids by any name, is an operation of the spec."""
    named = set(re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/(?:v1|health)/[^`?\s]*)", README))
    assert len(named) > 40
    for method, path in sorted(named):
        assert _is_operation(method, path), f"README names {method} {path}"


def test_every_curl_example_calls_an_operation_of_the_spec() -> None:
    calls = re.findall(r"curl -s (?:-X (\w+) )?\"?\$API(/(?:[^\s\"?<]|<[^>]*>)*)", README)
    assert len(calls) > 25
    for method, path in calls:
        assert _is_operation(method or "GET", path), f"curl example {method} {path}"


def _spec_properties() -> set[str]:
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((ROOT / "openapi" / "openapi.json").read_text()))
    return names


def test_every_json_field_in_the_readme_is_a_field_of_the_spec() -> None:
    """Bodies and answers shown in the README use the spec's field names (no stale ones)."""
    examples = re.findall(r"```(?:sh|json)\n(.*?)```", README, re.S)
    examples += re.findall(r"`([^`\n]*\{[^`\n]*)`", README)
    shown = {key for text in examples for key in re.findall(r'"([a-z][a-z0-9_]*)":', text)}
    free = {"team", "region", "plan", "de", "en"}  # segment dimensions, language codes
    assert len(shown) > 80
    assert shown - free <= _spec_properties(), sorted(shown - free - _spec_properties())


def test_the_readme_lists_exactly_the_spec_event_types() -> None:
    sentence = README.split("Event types: ", 1)[1].split("(`POST", 1)[0]
    listed = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", sentence))
    spec = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert listed == set(spec["components"]["schemas"]["EventType"]["enum"])
    assert listed == set(spec["webhooks"])
