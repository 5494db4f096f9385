"""Text media types are written bare: Litestar appends "; charset=utf-8" to every one."""

from __future__ import annotations

import re
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "api"


def test_no_text_media_type_in_api_names_a_charset() -> None:
    """A charset written here would be sent twice (`text/html; charset=utf-8; charset=utf-8`)."""
    found = [
        f"{path.relative_to(API.parent)}: {match}"
        for path in sorted(API.rglob("*.py"))
        for match in re.findall(r"[\"']text/[^\"']*charset[^\"']*[\"']", path.read_text())
    ]
    assert found == []
