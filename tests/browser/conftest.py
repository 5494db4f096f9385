"""Browser fixtures: Debian's chromium driven by Playwright, against the real API server.

Playwright never downloads a browser here: it launches /usr/bin/chromium (`make browsers`
installs it where apt-get is available). Without chromium or Playwright every test in this
folder reports itself skipped with that reason.

    async def test_something(live_server, page, artifacts):
        await page.goto(f"{live_server.base_url}/docs")
        ...
        await page.screenshot(path=artifacts / "something.png")

`page` blocks every request that leaves the loopback interface (listed in `blocked_requests`)
and saves a screenshot of the last page to tests/artifacts/browser/<test>.png at the end.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.live_server import ARTIFACTS, LiveServer, start_api_server

CHROMIUM = os.environ.get("NPS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _why_no_browser() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no chromium at {CHROMIUM}: `make browsers` installs Debian's package"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make setup)"
    return None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/browser: screenshots and logs, kept after the run."""
    path = ARTIFACTS / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """One headless chromium for the session (a fresh profile of its own)."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            # Playwright gives the browser a new, empty user-data-dir under this folder.
            downloads_path=tmp_path_factory.mktemp("chromium-downloads"),
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def blocked_requests() -> list[str]:
    """URLs the page tried to reach off the loopback interface (all aborted)."""
    return []


@pytest.fixture
async def page(
    browser: Any, blocked_requests: list[str], artifacts: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A page in a fresh context; no request leaves the machine; screenshot kept at the end."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})

    async def route(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            await route.continue_()
            return
        blocked_requests.append(route.request.url)
        await route.abort("internetdisconnected")

    await context.route("**/*", route)
    page = await context.new_page()
    try:
        yield page
    finally:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        if not page.is_closed():
            await page.screenshot(path=artifacts / f"{name}.png", full_page=True)
        await context.close()


@pytest.fixture(scope="session")
def live_server(database_url: str, redis_url: str, artifacts: Path) -> Iterator[LiveServer]:
    """The real API (granian, one worker) on a free loopback port, on the test servers."""
    reason = _why_no_browser()
    if reason:  # not worth starting a server for tests that will skip
        pytest.skip(reason)
    log = artifacts / "live-server.log"
    with start_api_server(database_url, redis_url, log, drain_interval_s="0.2") as server:
        yield server
    shutil.copy(log, artifacts / "live-server.last.log")
