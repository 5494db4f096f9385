"""The survey widget in chromium: a page on another loopback origin embeds it from the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.widget_pages import (
    Site,
    Tenant,
    axe_results_summary,
    counted,
    serve_site,
    shop_page,
    stored_answers,
    tenant_with_widget,
)
from tests.live_server import ROOT, LiveServer, free_port

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 667}


@pytest.fixture(scope="module")
def shop() -> Iterator[Site]:
    with serve_site() as site:
        yield site


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Site]:
    """Another origin, not allowed by the publishable key."""
    with serve_site() as site:
        yield site


@pytest.fixture
def tenant(live_server: LiveServer, shop: Site) -> Tenant:
    return tenant_with_widget(live_server, [shop.origin])


def open_page(site: Site, live_server: LiveServer, tenant: Tenant, lang: str, **kw: str) -> str:
    path = f"/{lang}-{tenant.survey}.html"
    site.pages[path] = shop_page(
        live_server.base_url, key=tenant.publishable, survey=tenant.survey, lang=lang, **kw
    )
    return site.origin + path


async def check_axe(page: Any) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make node` runs npm ci")
    await page.add_script_tag(path=str(AXE))
    results = await page.evaluate("() => axe.run(document)")
    assert results["violations"] == [], axe_results_summary(results)


async def answer_with_keyboard(page: Any, score: int, comment: str) -> None:
    """Tab into the radio group, arrow to `score`, next, type, send: no mouse at all."""
    await page.keyboard.press("Tab")  # the close button comes first
    await page.keyboard.press("Tab")  # into the radio group: the first radio
    for _ in range(score):
        await page.keyboard.press("ArrowRight")
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.keyboard.type(comment)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")


async def test_keyboard_only_answer_is_stored_and_counted_once(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant, artifacts: Path
) -> None:
    await page.goto(open_page(shop, live_server, tenant, "en"))
    await page.wait_for_selector("aside.npsw fieldset")
    await check_axe(page)
    await page.screenshot(path=artifacts / "widget-en.png")
    await answer_with_keyboard(page, 6, "Delivery was late")
    await page.wait_for_selector("aside.npsw [role=status]")
    assert await page.inner_text("aside.npsw [role=status]") == "Thank you for your feedback!"
    await check_axe(page)
    assert await counted(live_server, tenant, 1) == 1
    answers = await stored_answers(live_server, tenant)
    assert [(a["score"], a["comment"], a["locale"]) for a in answers] == [
        (6, "Delivery was late", "en")
    ]
    await page.reload()
    await page.wait_for_timeout(500)
    assert await page.query_selector("aside.npsw") is None  # not shown again for 90 days


async def test_follow_up_question_depends_on_the_category_in_german(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant, artifacts: Path
) -> None:
    await page.goto(open_page(shop, live_server, tenant, "de"))
    await page.wait_for_selector("aside.npsw fieldset")
    assert "Wie wahrscheinlich" in await page.inner_text("aside.npsw legend")
    await page.screenshot(path=artifacts / "widget-de.png")
    await page.locator("aside.npsw").screenshot(path=artifacts / "widget-de-box.png")
    await page.click("aside.npsw label:nth-child(10)")  # score 9: a promoter
    await page.click("aside.npsw button[type=submit]")
    question = await page.inner_text("aside.npsw label.q")
    assert question == "Das freut uns! Was gefällt Ihnen am besten?"
    await check_axe(page)
    await page.screenshot(path=artifacts / "widget-de-follow-up.png")


async def test_widget_fits_a_phone_and_stays_accessible(
    live_server: LiveServer, browser: Any, shop: Site, tenant: Tenant, artifacts: Path
) -> None:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    try:
        await page.goto(open_page(shop, live_server, tenant, "de"))
        box = await (await page.wait_for_selector("aside.npsw")).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        await check_axe(page)
        await page.screenshot(path=artifacts / "widget-phone.png")
    finally:
        await context.close()


async def test_double_submission_and_a_retry_count_once(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant
) -> None:
    seen: list[str] = []

    async def lose_first_answer(route: Any) -> None:
        """The first answer reaches the API but its reply is lost: the widget retries."""
        seen.append(route.request.headers.get("idempotency-key", ""))
        if route.request.method == "POST" and len([s for s in seen if s]) == 1:
            await route.fetch()
            await route.abort("connectionreset")
            return
        await route.fallback()

    await page.route("**/v1/responses", lose_first_answer)
    await page.goto(open_page(shop, live_server, tenant, "en"))
    await page.click("aside.npsw label:nth-child(11)")
    await page.click("aside.npsw button[type=submit]")
    await page.fill("aside.npsw textarea", "Great")
    await page.dblclick("aside.npsw button[type=submit]")
    await page.wait_for_timeout(2500)  # the widget retries after one second
    keys = [s for s in seen if s]
    assert len(keys) == 2 and keys[0] == keys[1]  # one retry, the same Idempotency-Key
    assert await counted(live_server, tenant, 1) == 1
    assert len(await stored_answers(live_server, tenant)) == 1


async def test_a_page_on_another_origin_is_refused_by_cors_and_nothing_stored(
    live_server: LiveServer, page: Any, elsewhere: Site, tenant: Tenant
) -> None:
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    await page.goto(open_page(elsewhere, live_server, tenant, "en"))
    await page.click("aside.npsw label:nth-child(3)")
    await page.click("aside.npsw button[type=submit]")
    await page.click("aside.npsw button[type=submit]")
    await page.wait_for_timeout(2500)
    assert any("[nps widget]" in w for w in warnings), warnings  # fails silently, says why
    assert await page.query_selector("aside.npsw [role=status]") is not None
    assert await stored_answers(live_server, tenant) == []


async def fetch_in_page(page: Any, url: str, token: str) -> Any:
    return await page.evaluate(
        """async ([url, token]) => {
            try {
                const r = await fetch(url, {headers: {Authorization: "Bearer " + token}});
                return {status: r.status, body: await r.text()};
            } catch (e) { return {status: 0, body: String(e)}; }
        }""",
        [url, token],
    )


async def test_a_publishable_key_cannot_read_results_from_the_page(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant
) -> None:
    shop.pages["/blank.html"] = "<!doctype html><title>blank</title>"
    await page.goto(shop.origin + "/blank.html")
    r = await fetch_in_page(page, f"{live_server.base_url}/v1/nps", tenant.publishable)
    assert r["status"] == 403, r
    assert "publishable" in json.loads(r["body"])["detail"]


async def test_a_browser_token_reads_its_own_segment_and_is_refused_another(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant
) -> None:
    api = live_server.base_url
    async with httpx.AsyncClient(base_url=api, headers=tenant.secret, timeout=10) as c:
        for team, score in (("support", 10), ("support", 9), ("sales", 0)):
            body = {"survey_id": tenant.survey, "score": score, "segments": {"team": team}}
            (await c.post("/v1/responses", json=body)).raise_for_status()
        assert await counted(live_server, tenant, 3) == 3
        issued = await c.post(
            "/v1/tokens",
            json={"origins": [shop.origin], "segment": "team:support", "ttl_seconds": 300},
        )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    shop.pages["/team.html"] = "<!doctype html><title>team</title>"
    await page.goto(shop.origin + "/team.html")
    own = await fetch_in_page(page, f"{api}/v1/nps", token)
    assert own["status"] == 200, own
    assert json.loads(own["body"])["total"] == 2
    other = await fetch_in_page(page, f"{api}/v1/nps?segment=team:sales", token)
    assert other["status"] == 403, other


async def test_texts_are_overridable_per_survey(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant
) -> None:
    texts = json.dumps({"en": {"question": "Would you recommend Acme?", "next": "Continue"}})
    await page.goto(open_page(shop, live_server, tenant, "en", texts=texts))
    await page.wait_for_selector("aside.npsw fieldset")
    assert await page.inner_text("aside.npsw legend") == "Would you recommend Acme?"
    assert await page.inner_text("aside.npsw button[type=submit]") == "Continue"
    assert "Not at all likely" in await page.inner_text("aside.npsw")  # the rest built in
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Escape")  # Escape in the widget is a dismissal too...
    assert await page.query_selector("aside.npsw") is None
    await page.reload()
    await page.wait_for_timeout(500)
    assert await page.query_selector("aside.npsw") is None  # ...and is remembered
    await page.evaluate("npsWidget.open()")  # on demand it opens all the same
    assert await page.query_selector("aside.npsw") is not None


async def test_motion_only_for_visitors_who_do_not_ask_for_less(
    live_server: LiveServer, browser: Any, shop: Site, tenant: Tenant
) -> None:
    url = open_page(shop, live_server, tenant, "en")
    names = []
    for motion in ("reduce", "no-preference"):
        context = await browser.new_context(reduced_motion=motion)
        try:
            page = await context.new_page()
            await page.goto(url)
            await page.wait_for_selector("aside.npsw")
            names.append(
                await page.evaluate(
                    "getComputedStyle(document.querySelector('aside.npsw')).animationName"
                )
            )
        finally:
            await context.close()
    assert names == ["none", "npsw-in"]


async def test_an_unreachable_api_only_warns_and_never_breaks_the_page(
    live_server: LiveServer, page: Any, shop: Site, tenant: Tenant
) -> None:
    warnings: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    gone = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    extra = f"<script>window.npsWidgetSettings = {{api: '{gone}'}};</script>"
    await page.goto(open_page(shop, live_server, tenant, "en", extra=extra))
    await page.click("aside.npsw label:nth-child(5)")
    await page.click("aside.npsw button[type=submit]")
    await page.click("aside.npsw button[type=submit]")
    await page.wait_for_selector("aside.npsw [role=status]")
    await page.wait_for_timeout(2500)  # the one retry, then the warning
    assert errors == []
    assert any("unreachable" in w for w in warnings), warnings
    assert await page.evaluate("document.querySelector('h1').textContent") == "Shop"
