"""Scheduled digests: settings, and exactly one `digest.ready` event per period."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from api.digest_delivery import renderer
from domain.digest import DigestPorts
from domain.results import StoredHistograms
from infra.comment_terms import StopWordLemmaAnalyzer
from infra.digest_scheduler import DigestScheduler
from infra.postgres.decisions import TargetCache
from infra.postgres.pool import create_pool
from infra.postgres.uow import PgUnitOfWorkFactory
from tests.conftest import POOLED, make_tenant, post_batch


async def test_settings_hold_the_digest_schedule(app_client, tenant) -> None:
    r = await app_client.get("/v1/settings", headers=tenant.headers)
    assert r.json()["digest"] == {
        "enabled": False,
        "period": "week",
        "weekday": 1,
        "hour": 8,
        "dimensions": [],
    }
    body = {"digest": {"period": "month", "weekday": 5, "hour": 17, "dimensions": ["team"]}}
    r = await app_client.patch("/v1/settings", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text
    want = {"enabled": True, "period": "month", "weekday": 5, "hour": 17, "dimensions": ["team"]}
    assert r.json()["digest"] == want
    r = await app_client.patch(
        "/v1/settings", json={"followup_sla_hours": 24}, headers=tenant.headers
    )
    assert r.json()["digest"] == want  # left out: kept
    r = await app_client.get("/v1/digests/week", headers=tenant.headers)
    assert r.json()["dimensions"] == ["team"]  # the schedule's, when none is asked for
    r = await app_client.get("/v1/digests/week?dimension=region", headers=tenant.headers)
    assert r.json()["dimensions"] == ["region"]


async def test_bad_schedules_are_problems_naming_the_field(app_client, tenant) -> None:
    cases = {
        "weekday": {"weekday": 8},
        "hour": {"hour": -1},
        "period": {"period": "year"},
        "dimensions": {"dimensions": ["Team!"]},
        "colour": {"colour": "red"},
    }
    for field, digest in cases.items():
        r = await app_client.patch("/v1/settings", json={"digest": digest}, headers=tenant.headers)
        assert r.status_code in (400, 422), (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (field, r.text)
    r = await app_client.get("/v1/settings", headers=tenant.headers)
    assert r.json()["digest"]["enabled"] is False  # nothing stored


def _ports(pool: asyncpg.Pool) -> DigestPorts:
    """The digest's ports on this test's own pool (the app's pools live on its own loop)."""
    uow = PgUnitOfWorkFactory(pool)
    stored_histograms = StoredHistograms(uow)
    return DigestPorts(
        uow=uow,
        counters=stored_histograms,
        stored_histograms=stored_histograms,
        target_cache=TargetCache(),
        analyzer=StopWordLemmaAnalyzer(),
    )


async def _events(database_url: str, tenant_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT data FROM webhook_events WHERE tenant_id = $1 AND type = 'digest.ready'",
            uuid.UUID(tenant_id),
        )
    finally:
        await conn.close()


async def test_each_period_is_sent_once_however_many_processes_run(
    app_client, admin_headers, tenant, survey_id, database_url
) -> None:
    now = datetime.now(UTC)
    await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 3,
                "comment": "Zu teuer",
                "answered_at": (now - timedelta(minutes=5)).isoformat(),
            }
        ],
    )
    r = await app_client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/digest", "events": ["digest.ready"]},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    r = await app_client.patch(
        "/v1/settings", json={"digest": {"weekday": 1, "hour": 8}}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    quiet = await make_tenant(app_client, admin_headers)  # no schedule: never sent
    monday = now.date() - timedelta(days=now.weekday())
    next_monday = datetime.combine(monday + timedelta(days=7), datetime.min.time(), UTC)
    due = next_monday + timedelta(hours=9)  # past 08:00 of the next Monday (UTC tenant)
    pools = [await create_pool(database_url, size=3, transaction_pooler=POOLED) for _ in range(3)]
    try:
        schedulers = [
            DigestScheduler(PgUnitOfWorkFactory(p), render=renderer(_ports(p))) for p in pools
        ]
        # Other tests' tenants may have schedules of their own: count this tenant's events.
        await schedulers[2].run_once(due - timedelta(hours=2))  # 07:00: too early
        assert await _events(database_url, tenant.id) == []
        await asyncio.gather(*(s.run_once(due) for s in schedulers))
        assert len(await _events(database_url, tenant.id)) == 1
        await asyncio.gather(*(s.run_once(due + timedelta(days=1)) for s in schedulers))
    finally:
        for p in pools:
            await p.close()
    (event,) = await _events(database_url, tenant.id)
    data = json.loads(event["data"])
    assert data["period"] == "week" and data["from"] == monday.isoformat()
    assert data["nps"]["total"] == 1 and data["detractor_comments"][0]["comment"] == "Zu teuer"
    assert await _events(database_url, quiet.id) == []
