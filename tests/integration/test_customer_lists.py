"""Reward and rescue lists on GET /v1/customers and its export: filters, indexes, isolation."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg

from domain.customers import CATEGORY_RANK, CustomerFilter, FollowupState, Trend
from domain.nps import Category, classify
from infra.postgres.customer_lists import changed_query
from infra.postgres.pool import create_pool
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.retention import apply_tenant
from tests.conftest import POOLED, make_tenant, post_batch


def _answer(survey: str, customer: str, score: int, days_ago: float) -> dict:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "survey_id": survey,
        "score": score,
        "customer_id": customer,
        "answered_at": at.isoformat(),
    }


async def _ids(client, tenant, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    r = await client.get(f"/v1/customers?{query}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return sorted(c["customer_id"] for c in r.json()["data"])


async def test_promoters_answered_in_a_period_for_rewards(app_client, tenant, survey_id) -> None:
    ids = await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, "recent-fan", 10, 1),
            _answer(survey_id, "old-fan", 9, 40),
            _answer(survey_id, "critic", 3, 1),
            _answer(survey_id, "turned", 5, 3),
            _answer(survey_id, "turned", 10, 2),  # excluded below: latest standing is the 5
        ],
    )
    r = await app_client.patch(
        f"/v1/responses/{ids[4]}", json={"excluded": True, "reason": "test"}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    week_ago = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    assert await _ids(app_client, tenant, "category=promoter") == ["old-fan", "recent-fan"]
    assert await _ids(app_client, tenant, f"category=promoter&from={week_ago}") == ["recent-fan"]
    old = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
    assert await _ids(app_client, tenant, f"category=promoter&to={old}") == ["old-fan"]
    assert await _ids(app_client, tenant, "category=detractor") == ["critic", "turned"]


async def test_detractors_by_the_state_of_their_case(
    app_client, tenant, survey_id, database_url
) -> None:
    await post_batch(
        app_client,
        tenant,
        [_answer(survey_id, c, 2, 0.1) for c in ("waiting", "handled", "late")]
        + [_answer(survey_id, "happy", 10, 0.1)],
    )
    cases = (await app_client.get("/v1/followups", headers=tenant.headers)).json()["data"]
    by_customer = {c["customer_id"]: c["id"] for c in cases}
    r = await app_client.patch(
        f"/v1/followups/{by_customer['handled']}",
        json={"status": "closed", "resolution": "Refunded"},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    conn = await asyncpg.connect(database_url)
    try:  # a deadline in the past, as 48 hours later would make it
        await conn.execute(
            "UPDATE followups SET due_at = now() - interval '1 hour'"
            " WHERE tenant_id = $1 AND id = $2",
            uuid.UUID(tenant.id),
            uuid.UUID(by_customer["late"]),
        )
    finally:
        await conn.close()
    r = await app_client.patch(
        "/v1/settings", json={"followup_categories": ["passive"]}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    await post_batch(app_client, tenant, [_answer(survey_id, "nobody-on-it", 1, 0.05)])
    detractors = "category=detractor&followup="
    assert await _ids(app_client, tenant, detractors + "none") == ["nobody-on-it"]
    assert await _ids(app_client, tenant, detractors + "open") == ["late", "waiting"]
    assert await _ids(app_client, tenant, detractors + "overdue") == ["late"]
    assert await _ids(app_client, tenant, detractors + "closed") == ["handled"]
    listed = (
        await app_client.get(f"/v1/customers?{detractors}overdue", headers=tenant.headers)
    ).json()
    (late,) = listed["data"]
    assert late["followup_status"] == "open" and late["followup_overdue"] is True


async def test_trend_down_lists_customers_whose_category_got_worse(
    app_client, tenant, survey_id
) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, "fan-to-critic", 10, 5),
            _answer(survey_id, "fan-to-critic", 3, 1),
            _answer(survey_id, "fan-to-passive", 9, 5),
            _answer(survey_id, "fan-to-passive", 8, 1),
            _answer(survey_id, "won-back", 2, 5),
            _answer(survey_id, "won-back", 10, 1),
            _answer(survey_id, "steady", 9, 5),
            _answer(survey_id, "steady", 10, 1),
            _answer(survey_id, "once", 0, 1),
        ],
    )
    assert await _ids(app_client, tenant, "trend=down") == ["fan-to-critic", "fan-to-passive"]
    assert await _ids(app_client, tenant, "trend=up") == ["won-back"]
    assert await _ids(app_client, tenant, "trend=down&category=detractor") == ["fan-to-critic"]
    body = (await app_client.get("/v1/customers?trend=down", headers=tenant.headers)).json()
    assert {c["previous_category"] for c in body["data"]} == {"promoter"}


async def test_erased_customers_and_other_tenants_never_appear(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, "erase-me", 10, 2),
            _answer(survey_id, "erase-me", 2, 1),
            _answer(survey_id, "stays", 10, 1),
        ],
    )
    assert await _ids(app_client, tenant, "trend=down") == ["erase-me"]
    assert (
        await app_client.delete("/v1/customers/erase-me", headers=tenant.headers)
    ).status_code == 200
    assert await _ids(app_client, tenant, "trend=down") == []
    assert await _ids(app_client, tenant, "category=detractor") == []
    other = await make_tenant(app_client, admin_headers)
    assert await _ids(app_client, other, "category=promoter") == []
    r = await app_client.get("/v1/exports/customers?category=promoter", headers=other.headers)
    assert r.status_code == 200 and r.text.strip().count("\n") == 0  # the header only


async def test_retention_takes_an_anonymised_answer_out_of_the_trend(
    app_client, tenant, survey_id, database_url
) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, "long-time-fan", 10, 500),
            _answer(survey_id, "long-time-fan", 2, 1),
            _answer(survey_id, "recent", 10, 3),
            _answer(survey_id, "recent", 3, 1),
        ],
    )
    assert await _ids(app_client, tenant, "trend=down") == ["long-time-fan", "recent"]
    r = await app_client.patch(
        "/v1/settings", json={"retention_months": 12}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    pool = await create_pool(database_url, size=2, transaction_pooler=POOLED)
    try:
        assert (
            await apply_tenant(
                PgUnitOfWorkFactory(pool), uuid.UUID(tenant.id), now=datetime.now(UTC)
            )
            == 1
        )
    finally:
        await pool.close()
    # The 500-day-old promoter answer is no longer theirs: no previous answer, no trend.
    assert await _ids(app_client, tenant, "trend=down") == ["recent"]
    assert await _ids(app_client, tenant, "category=detractor") == ["long-time-fan", "recent"]


async def test_export_streams_the_filtered_list_as_csv_and_ndjson(
    app_client, tenant, survey_id
) -> None:
    await post_batch(
        app_client,
        tenant,
        [_answer(survey_id, '=HYPERLINK("x")', 10, 1), _answer(survey_id, "critic", 2, 1)],
    )
    r = await app_client.get("/v1/exports/customers?category=promoter", headers=tenant.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["customer_id"] for row in rows] == ['\'=HYPERLINK("x")']
    assert rows[0]["latest_category"] == "promoter" and rows[0]["followup_status"] == ""
    r = await app_client.get(
        "/v1/exports/customers?format=ndjson&category=detractor", headers=tenant.headers
    )
    (line,) = r.text.strip().splitlines()
    assert '"customer_id":"critic"' in line and '"followup_status":"open"' in line


async def test_bad_filters_are_problems_naming_the_field(app_client, tenant) -> None:
    cases = {
        "category=fan": "category",
        "followup=maybe": "followup",
        "trend=sideways": "trend",
        "from=2026-02-30": "from",
        "to=yesterday": "to",
        "from=2026-03-02&to=2026-03-01": "from",
    }
    for path in ("/v1/customers", "/v1/exports/customers"):
        for query, field in cases.items():
            r = await app_client.get(f"{path}?{query}", headers=tenant.headers)
            assert r.status_code == 422, (path, query, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["errors"][0]["field"] == field, (path, query, r.json())


async def test_sql_category_rank_is_the_domain_rule(database_url) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for score in range(11):
            rank = await conn.fetchval("SELECT nps_category_rank($1::smallint)", score)
            assert rank == CATEGORY_RANK[classify(score)], score
    finally:
        await conn.close()


async def _plan(conn: asyncpg.Connection, flt: CustomerFilter) -> str:
    sql, args = changed_query(uuid.uuid4(), flt, (None, None), datetime.now(UTC))
    rows = await conn.fetch(f"EXPLAIN {sql}", *args, 50)
    return "\n".join(r[0] for r in rows)


async def test_each_filter_is_served_by_an_index(database_url) -> None:
    """With sequential scans priced out (the test tables are tiny), the plan shows which
    index serves each filter: never a scan of all answers."""
    conn = await asyncpg.connect(database_url)
    try:
        # One transaction: behind a transaction pooler a session SET would reach one server
        # connection of the pool (and stay there), the EXPLAINs perhaps another.
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SET LOCAL enable_seqscan = off")
        promoters = await _plan(
            conn, CustomerFilter(category=Category.PROMOTER, answered_from=date(2026, 1, 1))
        )
        assert "customers_by_category" in promoters, promoters
        down = await _plan(conn, CustomerFilter(trend=Trend.DOWN))
        assert "customers_trending_down" in down, down
        at_risk = await _plan(
            conn, CustomerFilter(category=Category.DETRACTOR, followup=FollowupState.NONE)
        )
        assert "customers_by_category" in at_risk, at_risk
        assert "followups_tenant_id_response_id_key" in at_risk, at_risk
        for plan in (promoters, down, at_risk):
            assert "Seq Scan on responses" not in plan, plan
        await tx.rollback()
    finally:
        await conn.close()
