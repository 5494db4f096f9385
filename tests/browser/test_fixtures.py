"""The browser fixtures themselves: chromium reaches the live server and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.live_server import LiveServer


async def test_page_reaches_the_live_server_and_no_outside_address(
    live_server: LiveServer, page: Any, blocked_requests: list[str], artifacts: Path
) -> None:
    response = await page.goto(f"{live_server.base_url}/health/live")
    assert response is not None and response.status == 200
    assert '"status":"ok"' in (await page.content()).replace(" ", "")
    outcome = await page.evaluate(
        """() => fetch("https://example.org/").then(() => "reached", () => "blocked")"""
    )
    assert outcome == "blocked"
    assert blocked_requests == ["https://example.org/"]
    await page.screenshot(path=artifacts / "fixture-health.png")
    assert (artifacts / "fixture-health.png").stat().st_size > 0
