"""Redocly (recommended) and Spectral (spectral:oas) accept the committed spec."""

from __future__ import annotations

import json
import re

from tests.contract.tools import ROOT, SPEC, run


def test_redocly_recommended_finds_no_error_and_no_unlisted_warning() -> None:
    result = run("redocly", "lint", str(SPEC.relative_to(ROOT)), "--format", "json")
    report = json.loads(result.stdout)
    problems = [
        f"{p['severity']} {p['ruleId']} {p['location'][0]['pointer']}: {p['message']}"
        for p in report["problems"]
        if not p.get("ignored")
    ]
    assert problems == [], "\n".join(problems)
    assert report["totals"]["errors"] == report["totals"]["warnings"] == 0
    ignores = ROOT / ".redocly.lint-ignore.yaml"
    text = ignores.read_text() if ignores.exists() else ""
    accepted = re.findall(r"^\s+- '(#/[^']+)'", text, re.M)
    assert report["totals"]["ignored"] == len(accepted), "an accepted warning matches nothing"
    assert result.returncode == 0, result.stderr


def test_spectral_oas_finds_nothing() -> None:
    result = run("spectral", "lint", str(SPEC), "--ruleset", ".spectral.yaml", "-f", "json")
    found = json.loads(result.stdout[: result.stdout.rindex("]") + 1])
    problems = [f"{r['code']} {'.'.join(map(str, r['path']))}: {r['message']}" for r in found]
    assert problems == [], "\n".join(problems)
    assert result.returncode == 0, result.stderr


def test_every_accepted_warning_states_its_reason() -> None:
    """A rule turned off, or a run of accepted locations, has a comment line right above."""
    for name, entry in (
        (".spectral.yaml", r"^\s+[\w-]+: off$"),
        (".redocly.lint-ignore.yaml", r"^\s+- '#"),
    ):
        path = ROOT / name
        lines = path.read_text().splitlines() if path.exists() else []
        for i, line in enumerate(lines):
            if re.match(entry, line):
                above = i - 1
                while re.match(entry, lines[above]):
                    above -= 1
                assert lines[above].strip().startswith("#"), f"{name}: no reason for {line!r}"
