"""The HTML huddle digest in a real headless chromium: self-contained, phone-sized, printable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.live_server import LiveServer

NOW = datetime.now(UTC) - timedelta(hours=1)


def _tenant_with_a_fortnight(server: LiveServer) -> str:
    """A tenant with two weeks of answers, a target and a change; returns its API key."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        t = client.post(
            "/v1/admin/tenants", json={"name": "Digest"}, headers=server.admin_headers
        ).json()
        key = client.post(
            f"/v1/admin/tenants/{t['id']}/keys",
            json={"name": "browser", "scopes": ["responses:write", "results:read", "manage"]},
            headers=server.admin_headers,
        ).json()["key"]
        auth = {"Authorization": f"Bearer {key}"}
        survey = client.post(
            "/v1/surveys", json={"name": "Huddle", "kind": "relational"}, headers=auth
        ).json()["id"]
        answers = []
        for week, (support, sales) in enumerate(((2, 10), (9, 9))):
            for i in range(15):
                at = (NOW - timedelta(days=7 * week, minutes=i)).isoformat()
                answers += [
                    {
                        "survey_id": survey,
                        "score": support,
                        "answered_at": at,
                        "segments": {"team": "support"},
                        "comment": "Die Wartezeit an der Hotline war viel zu lang",
                    },
                    {
                        "survey_id": survey,
                        "score": sales,
                        "answered_at": at,
                        "segments": {"team": "sales"},
                        "comment": "Friendly staff, competent advice <b>really</b>",
                    },
                ]
        r = client.post("/v1/responses/batch", json={"responses": answers}, headers=auth)
        assert r.status_code == 200, r.text
        monday = NOW.date() - timedelta(days=NOW.date().weekday())
        client.post(
            "/v1/changes",
            json={"title": "New phone menu", "effective_on": monday.isoformat()},
            headers=auth,
        ).raise_for_status()
        client.put("/v1/targets", json={"nps": 30}, headers=auth).raise_for_status()
    return str(key)


async def test_digest_page_renders_offline_on_a_phone_and_in_print(
    live_server: LiveServer, page: Any, blocked_requests: list[str], artifacts: Path
) -> None:
    key = _tenant_with_a_fortnight(live_server)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.set_extra_http_headers({"Authorization": f"Bearer {key}"})
    url = f"{live_server.base_url}/v1/digests/week?date={NOW.date()}&dimension=team"
    response = await page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert await page.title() == (await page.locator("h1").inner_text())
    assert await page.locator("svg polygon").count() == 1  # the interval band
    assert await page.locator("svg circle").count() == 2  # the two weeks with answers
    assert await page.locator("svg line[stroke-dasharray]").count() == 1  # the change
    assert await page.locator(".bar i.below").count() == 1
    assert await page.locator("b", has_text="really").count() == 0  # comments are escaped
    await page.screenshot(path=artifacts / "digest-week-desktop.png", full_page=True)

    await page.set_viewport_size({"width": 390, "height": 844})
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390, f"the page is {overflow} px wide on a 390 px phone"
    chart = await page.locator("svg").bounding_box()
    assert chart is not None and chart["width"] <= 390
    await page.screenshot(path=artifacts / "digest-week-phone.png", full_page=True)

    await page.emulate_media(media="print")
    await page.pdf(path=str(artifacts / "digest-week.pdf"), format="A4")
    assert (artifacts / "digest-week.pdf").stat().st_size > 5_000
    assert errors == [] and blocked_requests == []
