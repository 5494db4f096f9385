"""The one dependency rule: domain imports only the standard library and msgspec."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_THIRD_PARTY = {"msgspec"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_domain_imports_only_stdlib_msgspec_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"domain", "__future__"}
    bad = {
        f"{p.relative_to(ROOT)}: {name}"
        for p in _modules("domain")
        for name in _imports(p)
        if name not in allowed
    }
    assert not bad, bad


def test_infra_never_imports_api() -> None:
    bad = [str(p.relative_to(ROOT)) for p in _modules("infra") if "api" in _imports(p)]
    assert not bad, bad


def test_api_touches_infra_only_in_the_composition_root() -> None:
    roots = {"api/app.py", "api/cli.py", "api/serve.py"}
    bad = [
        str(p.relative_to(ROOT))
        for p in _modules("api")
        if "infra" in _imports(p) and str(p.relative_to(ROOT)) not in roots
    ]
    assert not bad, bad
