"""The docs page works with no network: Swagger UI's assets come from the service itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.live_server import LiveServer


async def test_docs_render_their_operations_with_every_outside_request_blocked(
    live_server: LiveServer, page: Any, blocked_requests: list[str], artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{live_server.base_url}/docs", wait_until="networkidle")
    operations = page.locator(".opblock")
    await operations.first.wait_for(timeout=20_000)
    assert await operations.count() > 20
    assert await page.locator(".opblock-summary-path", has_text="/v1/nps").count() >= 1
    await page.screenshot(path=artifacts / "docs-offline.png", full_page=False)
    assert errors == []
    assert blocked_requests == []
