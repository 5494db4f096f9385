"""GET /v1/digests/{period}: JSON, Markdown and HTML on real PostgreSQL and Redis."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.conftest import make_tenant, post_batch

NOW = datetime.now(UTC) - timedelta(hours=1)
DAY = NOW.date()
MONDAY = DAY - timedelta(days=DAY.weekday())


def _week(survey: str, at: datetime, support: int, sales: int) -> list[dict]:
    out = []
    for i in range(20):
        t = (at - timedelta(minutes=i)).isoformat()
        out.append(
            {
                "survey_id": survey,
                "score": support,
                "answered_at": t,
                "segments": {"team": "support"},
                "comment": f"Die Wartezeit an der Hotline war zu lang, Fall {i}",
            }
        )
        out.append(
            {
                "survey_id": survey,
                "score": sales,
                "answered_at": t,
                "segments": {"team": "sales"},
                "comment": "Friendly staff and competent advice <script>alert(1)</script>",
            }
        )
    return out


async def _setup(client, tenant, survey: str) -> None:  # type: ignore[no-untyped-def]
    await post_batch(client, tenant, _week(survey, NOW, support=2, sales=10))
    await post_batch(client, tenant, _week(survey, NOW - timedelta(days=7), support=9, sales=10))
    r = await client.post(
        "/v1/changes",
        json={"title": "New phone menu", "effective_on": MONDAY.isoformat()},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.put("/v1/targets", json={"nps": 30}, headers=tenant.headers)
    assert r.status_code in (200, 201), r.text


async def test_weekly_digest_as_json(app_client, tenant, survey_id) -> None:
    await _setup(app_client, tenant, survey_id)
    r = await app_client.get(f"/v1/digests/week?date={DAY}&dimension=team", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    d = r.json()
    assert d["from"] == MONDAY.isoformat() and d["to"] == (MONDAY + timedelta(days=6)).isoformat()
    assert d["nps"]["total"] == 40 and d["nps"]["nps"] == 0.0 and d["nps"]["ci95"]
    assert d["previous"]["total"] == 40 and d["previous"]["nps"] == 100.0
    assert d["change"]["difference"] == -100.0 and d["change"]["significant"] is True
    assert d["nps"]["target"] == 30 and d["nps"]["target_met"] == "no"
    flagged = {(s["value"], s["flag"]) for s in d["flagged_segments"]}
    assert flagged == {("support", "below"), ("sales", "above")}
    assert "hotline" in [t["term"] for t in d["themes"]["detractors"]]
    assert d["themes"]["detractors"][0]["quote"]["score"] == 2
    assert len(d["detractor_comments"]) == 5 and len(d["promoter_comments"]) == 5
    newest = [q["answered_at"] for q in d["detractor_comments"]]
    assert newest == sorted(newest, reverse=True)
    assert d["followups"]["opened"] == 20  # one case per detractor answer of the week
    assert [c["title"] for c in d["changes"]] == ["New phone menu"]
    assert d["changes"][0]["decision"] == "worsened"
    assert len(d["history"]) == 12 and d["history"][-1]["from"] == MONDAY.isoformat()
    assert d["history"][-2]["total"] == 40


async def test_monthly_digest_covers_the_calendar_month(app_client, tenant, survey_id) -> None:
    await _setup(app_client, tenant, survey_id)
    r = await app_client.get(f"/v1/digests/month?date={DAY}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["from"] == DAY.replace(day=1).isoformat() and d["period"] == "month"
    assert d["flagged_segments"] == [] and d["dimensions"] == []
    assert len(d["history"]) == 12 and d["history"][0]["from"].endswith("-01")


async def test_markdown_pastes_into_chat(app_client, tenant, survey_id) -> None:
    await _setup(app_client, tenant, survey_id)
    r = await app_client.get(
        f"/v1/digests/week?date={DAY}&dimension=team",
        headers={**tenant.headers, "Accept": "text/markdown"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    text = r.text
    assert text.startswith("**NPS huddle digest: Week ")
    assert "**NPS 0.0 (95 % interval" in text and "a real change" in text
    assert "Target 30.0: not met" in text
    assert "support: NPS -100.0" in text.replace("team = ", "")
    assert "<script>" not in text and "\\<script\\>" in text  # markup neutralised
    assert "|" not in text.replace("\\|", "")  # no tables: chat tools do not render them


async def test_html_is_one_self_contained_escaped_page(app_client, tenant, survey_id) -> None:
    await _setup(app_client, tenant, survey_id)
    r = await app_client.get(
        f"/v1/digests/week?date={DAY}&dimension=team",
        headers={**tenant.headers, "Accept": "text/html"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert page.startswith("<!doctype html>") and "<svg" in page and "polygon" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # no external asset
    assert "<script" not in page and "&lt;script&gt;" in page
    assert 'name="viewport"' in page and "@media print" in page
    assert "New phone menu" in page


async def test_tenants_see_only_their_own_digest(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await _setup(app_client, tenant, survey_id)
    other = await make_tenant(app_client, admin_headers)
    d = (await app_client.get(f"/v1/digests/week?date={DAY}", headers=other.headers)).json()
    assert d["nps"]["total"] == 0 and d["detractor_comments"] == [] and d["changes"] == []
    assert d["followups"]["opened"] == 0


async def test_erased_and_excluded_comments_stay_out(app_client, tenant, survey_id) -> None:
    ids = await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 1,
                "comment": "Geheimnis Alpha",
                "customer_id": "c1",
                "answered_at": NOW.isoformat(),
            },
            {
                "survey_id": survey_id,
                "score": 1,
                "comment": "Geheimnis Beta",
                "answered_at": NOW.isoformat(),
            },
        ],
    )
    await app_client.delete("/v1/customers/c1", headers=tenant.headers)
    await app_client.patch(
        f"/v1/responses/{ids[1]}", json={"excluded": True, "reason": "t"}, headers=tenant.headers
    )
    r = await app_client.get(f"/v1/digests/week?date={DAY}", headers=tenant.headers)
    assert "Geheimnis" not in r.text
    assert r.json()["nps"]["total"] == 1  # the erased answer still counts, anonymously


async def test_bad_input_is_a_problem_naming_the_field(app_client, tenant) -> None:
    cases = {
        "/v1/digests/year": "period",
        "/v1/digests/week?date=2026-13-01": "date",
        "/v1/digests/week?dimension=Team!": "dimension",
        "/v1/digests/week?" + "&".join(f"dimension=d{i}" for i in range(6)): "dimension",
    }
    for path, field in cases.items():
        r = await app_client.get(path, headers=tenant.headers)
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field, (path, r.json())
