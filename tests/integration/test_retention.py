"""retention_months: old answers lose comment and customer id, once a day, one process."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from infra.postgres.pool import create_pool
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.retention import apply_retention, apply_tenant
from tests.conftest import POOLED, nps_total, post_batch


def _answer(survey_id: str, customer: str, score: int, days_ago: int, comment: str) -> dict:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    return {
        "survey_id": survey_id,
        "score": score,
        "customer_id": customer,
        "comment": comment,
        "answered_at": at.isoformat(),
    }


@pytest.fixture
async def pool(database_url):  # type: ignore[no-untyped-def]
    p = await create_pool(database_url, size=4, transaction_pooler=POOLED)
    yield p
    await p.close()


async def _settings(client, tenant, body) -> object:  # type: ignore[no-untyped-def]
    return await client.patch("/v1/settings", json=body, headers=tenant.headers)


async def test_retention_months_is_validated_and_can_be_switched_off(app_client, tenant) -> None:
    for bad in (0, 601, "12", 1.5):
        r = await _settings(app_client, tenant, {"retention_months": bad})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "retention_months"
    assert (await app_client.get("/v1/settings", headers=tenant.headers)).json()[
        "retention_months"
    ] is None
    r = await _settings(app_client, tenant, {"retention_months": 12})
    assert r.status_code == 200 and r.json()["retention_months"] == 12
    r = await _settings(app_client, tenant, {"followup_sla_hours": 24})
    assert r.json()["retention_months"] == 12  # left out: kept
    r = await _settings(app_client, tenant, {"retention_months": None})
    assert r.json()["retention_months"] is None


async def test_old_answers_lose_personal_data_but_stay_counted_and_audited(
    app_client, tenant, survey_id, pool
) -> None:
    old = _answer(survey_id, "cus_old", 2, 400, "call me at 555-0100")
    recent = _answer(survey_id, "cus_new", 3, 30, "still waiting")
    both = _answer(survey_id, "cus_both", 9, 500, "great")
    both_new = _answer(survey_id, "cus_both", 10, 10, "even better")
    old_id, recent_id, _, _ = await post_batch(app_client, tenant, [old, recent, both, both_new])
    cases = (await app_client.get("/v1/followups?limit=500", headers=tenant.headers)).json()
    old_case = next(c for c in cases["data"] if c["response_id"] == old_id)
    r = await app_client.post(
        f"/v1/followups/{old_case['id']}/notes",
        json={"author": "li", "text": "called 555-0100, spoke to Ann"},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    total = await nps_total(app_client, tenant)
    await _settings(app_client, tenant, {"retention_months": 12})

    done = await apply_retention(PgUnitOfWorkFactory(pool), now=datetime.now(UTC))
    assert done[uuid.UUID(tenant.id)] == 2

    h = tenant.headers
    gone = (await app_client.get(f"/v1/responses/{old_id}", headers=h)).json()
    assert gone["customer_id"] is None and gone["comment"] is None and gone["score"] == 2
    kept = (await app_client.get(f"/v1/responses/{recent_id}", headers=h)).json()
    assert kept["customer_id"] == "cus_new" and kept["comment"] == "still waiting"
    note = (await app_client.get(f"/v1/followups/{old_case['id']}", headers=h)).json()["notes"]
    assert [n["text"] for n in note] == ["[redacted]"]
    assert await nps_total(app_client, tenant) == total  # scores stay counted
    assert (await app_client.get("/v1/customers/cus_old", headers=h)).status_code == 404
    both_profile = (await app_client.get("/v1/customers/cus_both", headers=h)).json()
    assert both_profile["responses_count"] == 1  # the recent answer keeps its id
    audit = (await app_client.get("/v1/audit", headers=h)).json()["data"]
    [entry] = [e for e in audit if e["action"] == "retention.applied"]
    assert entry["details"]["answers_anonymised"] == 2
    assert entry["details"]["notes_redacted"] == 1
    assert entry["details"]["retention_months"] == 12


async def test_retention_runs_once_a_day_by_one_process(
    app_client, tenant, survey_id, pool, database_url
) -> None:
    await post_batch(app_client, tenant, [_answer(survey_id, "c1", 5, 90, "old")])
    await _settings(app_client, tenant, {"retention_months": 1})
    tenant_id, now = uuid.UUID(tenant.id), datetime.now(UTC)
    other = await create_pool(database_url, size=2, transaction_pooler=POOLED)
    try:  # two processes at once: one does it, the other finds it held or done
        results = await asyncio.gather(
            apply_tenant(PgUnitOfWorkFactory(pool), tenant_id, now=now),
            apply_tenant(PgUnitOfWorkFactory(other), tenant_id, now=now),
        )
    finally:
        await other.close()
    assert sorted(results, key=lambda x: x is None) == [1, None]
    await post_batch(app_client, tenant, [_answer(survey_id, "c2", 5, 90, "later import")])
    assert await apply_tenant(PgUnitOfWorkFactory(pool), tenant_id, now=now) is None  # done today
    assert (
        await apply_tenant(PgUnitOfWorkFactory(pool), tenant_id, now=now + timedelta(days=1)) == 1
    )
    audit = (await app_client.get("/v1/audit", headers=tenant.headers)).json()["data"]
    assert [e["action"] for e in audit].count("retention.applied") == 2
