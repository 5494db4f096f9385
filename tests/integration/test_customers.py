"""Customers: profile for CRMs, erasure of personal data with an audit entry, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import make_tenant, post_batch, verify_tenant


def _answer(survey: str, customer: str, score: int, days_ago: int, comment: str) -> dict:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "survey_id": survey,
        "score": score,
        "customer_id": customer,
        "comment": comment,
        "answered_at": at.isoformat(),
    }


async def test_profile_shows_latest_score_counts_and_history(app_client, tenant, survey_id) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, "cus 42/acme", 3, 20, "slow"),
            _answer(survey_id, "cus 42/acme", 9, 2, "much better"),
            _answer(survey_id, "someone-else", 10, 1, "great"),
        ],
    )
    r = await app_client.get("/v1/customers/cus%2042%2Facme", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer_id"] == "cus 42/acme" and body["responses_count"] == 2
    assert body["latest"]["score"] == 9 and body["latest"]["category"] == "promoter"
    assert body["latest"]["comment"] == "much better"
    assert [h["score"] for h in body["history"]] == [9, 3]
    assert body["first_answered_at"] < body["last_answered_at"]
    missing = await app_client.get("/v1/customers/nobody", headers=tenant.headers)
    assert missing.status_code == 404


async def test_erasure_removes_personal_data_keeps_scores_and_audits(
    app_client, tenant, survey_id, database_url, redis_url
) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, "cus-gdpr", 2, 3, "call me on 555-0100"),
            _answer(survey_id, "cus-gdpr", 10, 1, "thanks"),
        ],
    )
    before = (await app_client.get("/v1/nps", headers=tenant.headers)).json()
    r = await app_client.delete("/v1/customers/cus-gdpr", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["answers_anonymised"] == 2
    assert (
        await app_client.get("/v1/customers/cus-gdpr", headers=tenant.headers)
    ).status_code == 404
    listed = (await app_client.get("/v1/responses", headers=tenant.headers)).json()["data"]
    assert all(x["customer_id"] is None and x["comment"] is None for x in listed)
    after = (await app_client.get("/v1/nps", headers=tenant.headers)).json()
    assert after["total"] == before["total"] == 2 and after["nps"] == before["nps"]
    assert await verify_tenant(database_url, redis_url, tenant.id) == []
    audit = await app_client.get("/v1/audit", headers=tenant.headers)
    entries = audit.json()["data"]
    assert [e["action"] for e in entries] == ["customer.erased"]
    assert entries[0]["details"]["answers_anonymised"] == 2
    assert "cus-gdpr" not in audit.text and "555-0100" not in audit.text
    again = await app_client.delete("/v1/customers/cus-gdpr", headers=tenant.headers)
    assert again.status_code == 404


async def test_customers_and_audit_of_another_tenant_are_invisible(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, [_answer(survey_id, "shared-id", 8, 1, "ok")])
    await app_client.delete("/v1/customers/shared-id", headers=tenant.headers)
    await post_batch(app_client, tenant, [_answer(survey_id, "shared-id", 8, 1, "ok")])
    other = await make_tenant(app_client, admin_headers)
    assert (
        await app_client.get("/v1/customers/shared-id", headers=other.headers)
    ).status_code == 404
    assert (
        await app_client.delete("/v1/customers/shared-id", headers=other.headers)
    ).status_code == 404
    assert (await app_client.get("/v1/audit", headers=other.headers)).json()["data"] == []
    mine = await app_client.get("/v1/customers/shared-id", headers=tenant.headers)
    assert mine.status_code == 200


async def test_erasure_needs_the_manage_scope(app_client, admin_headers) -> None:
    reader = await make_tenant(app_client, admin_headers, scopes=["results:read"])
    r = await app_client.delete("/v1/customers/anyone", headers=reader.headers)
    assert r.status_code == 403


async def _feed(client, tenant, query: str = "") -> dict:  # type: ignore[no-untyped-def]
    r = await client.get(f"/v1/customers{query}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _all_pages(client, tenant, query: str) -> list[dict]:  # type: ignore[no-untyped-def]
    rows: list[dict] = []
    page = await _feed(client, tenant, query)
    rows += page["data"]
    while page["next_cursor"]:
        page = await _feed(client, tenant, f"{query}&cursor={page['next_cursor']}")
        rows += page["data"]
    return rows


async def test_change_feed_pages_in_change_order_and_shows_open_followups(
    app_client, tenant, survey_id
) -> None:
    since = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for customer, score in (("a", 9), ("b", 3), ("c", 7)):
        await post_batch(app_client, tenant, [_answer(survey_id, customer, score, 0, "")])
    page = await _feed(app_client, tenant, f"?updated_since={since}&limit=2")
    assert [c["customer_id"] for c in page["data"]] == ["a", "b"]
    b = page["data"][1]
    assert b["latest"]["score"] == 3 and b["responses_count"] == 1 and b["open_followups"] == 1
    # While the client pages: "a" answers again and "d" answers for the first time.
    await post_batch(
        app_client,
        tenant,
        [_answer(survey_id, "a", 10, 0, ""), _answer(survey_id, "d", 8, 0, "")],
    )
    rest = await _feed(app_client, tenant, f"?updated_since={since}&cursor={page['next_cursor']}")
    assert [c["customer_id"] for c in rest["data"]] == ["c", "a", "d"]
    assert rest["data"][1]["responses_count"] == 2 and rest["next_cursor"] is None
    stamps = [c["updated_at"] for c in page["data"] + rest["data"]]
    assert stamps == sorted(stamps)
    # A case change is a change of the customer too.
    case = (await app_client.get("/v1/followups", headers=tenant.headers)).json()["data"][0]
    last = rest["data"][-1]["updated_at"]
    await app_client.patch(
        f"/v1/followups/{case['id']}",
        json={"status": "closed", "resolution": "called"},
        headers=tenant.headers,
    )
    later = await _feed(app_client, tenant, f"?updated_since={last.replace('+00:00', 'Z')}")
    assert [(c["customer_id"], c["open_followups"]) for c in later["data"]][-1] == ("b", 0)
    profile = (await app_client.get("/v1/customers/b", headers=tenant.headers)).json()
    assert profile["open_followups"] == 0


async def test_a_change_committing_late_is_not_skipped(app_client, tenant, database_url) -> None:
    """A writer holding the tenant's stamp makes later writers wait, so commit order is
    stamp order: a page read meanwhile cannot pass over the late change."""
    import asyncio
    import uuid

    import asyncpg

    from infra.postgres.customers import touch_customers

    since = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    tenant_id = uuid.UUID(tenant.id)
    slow, fast = await asyncpg.connect(database_url), await asyncpg.connect(database_url)

    async def fast_writer() -> None:
        async with fast.transaction():
            await touch_customers(fast, tenant_id, ["fast"])

    try:
        tx = slow.transaction()
        await tx.start()
        await touch_customers(slow, tenant_id, ["slow-writer"])
        task = asyncio.create_task(fast_writer())
        await asyncio.sleep(0.3)
        assert not task.done()  # waits for the stamp holder to commit
        assert (await _feed(app_client, tenant, f"?updated_since={since}"))["data"] == []
        await tx.commit()
        await asyncio.wait_for(task, 10)
    finally:
        await slow.close()
        await fast.close()
    rows = await _all_pages(app_client, tenant, f"?updated_since={since}&limit=1")
    assert [c["customer_id"] for c in rows] == ["slow-writer", "fast"]
    assert rows[0]["latest"] is None and rows[0]["responses_count"] == 0


async def test_change_feed_drops_erased_customers_and_redacts_case_notes(
    app_client, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, [_answer(survey_id, "gone", 2, 0, "my phone is 555")])
    case = (await app_client.get("/v1/followups", headers=tenant.headers)).json()["data"][0]
    await app_client.post(
        f"/v1/followups/{case['id']}/notes",
        json={"author": "li", "text": "called 555, spoke to Ann"},
        headers=tenant.headers,
    )
    assert len((await _feed(app_client, tenant))["data"]) == 1
    assert (
        await app_client.delete("/v1/customers/gone", headers=tenant.headers)
    ).status_code == 200
    assert (await _feed(app_client, tenant))["data"] == []
    after = (await app_client.get(f"/v1/followups/{case['id']}", headers=tenant.headers)).json()
    assert after["customer_id"] is None and after["comment"] is None and after["score"] == 2
    assert [n["text"] for n in after["notes"]] == ["[redacted]"]


async def test_change_feed_refuses_bad_input_and_other_tenants_see_nothing(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, [_answer(survey_id, "mine", 9, 0, "")])
    for query, field in (
        ("?updated_since=yesterday", "updated_since"),
        ("?updated_since=2026-01-01T00:00:00", "updated_since"),
        ("?cursor=abc", "cursor"),
        ("?limit=0", "limit"),
    ):
        r = await app_client.get(f"/v1/customers{query}", headers=tenant.headers)
        assert r.status_code in (400, 422) and field in r.text, (query, r.text)
    intruder = await make_tenant(app_client, admin_headers)
    assert (await _feed(app_client, intruder))["data"] == []


async def test_excluding_an_answer_is_a_change_of_its_customer(
    app_client, tenant, survey_id
) -> None:
    [answer] = await post_batch(app_client, tenant, [_answer(survey_id, "cus-ex", 3, 0, "")])
    first = (await _feed(app_client, tenant))["data"]
    assert [c["customer_id"] for c in first] == ["cus-ex"]
    since = first[0]["updated_at"].replace("+00:00", "Z")
    r = await app_client.patch(
        f"/v1/responses/{answer}",
        json={"excluded": True, "reason": "test answer"},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    later = (await _feed(app_client, tenant, f"?updated_since={since}"))["data"]
    assert [c["customer_id"] for c in later] == ["cus-ex"]
    stamp = datetime.fromisoformat
    assert stamp(later[0]["updated_at"]) > stamp(first[0]["updated_at"])


async def test_a_note_on_a_case_is_a_change_of_its_customer(app_client, tenant, survey_id) -> None:
    await post_batch(app_client, tenant, [_answer(survey_id, "cus-note", 2, 0, "")])
    first = (await _feed(app_client, tenant))["data"]
    assert [c["customer_id"] for c in first] == ["cus-note"]
    since = first[0]["updated_at"].replace("+00:00", "Z")
    case = (await app_client.get("/v1/followups", headers=tenant.headers)).json()["data"][0]
    r = await app_client.post(
        f"/v1/followups/{case['id']}/notes",
        json={"author": "maria", "text": "Called, refund agreed"},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    later = (await _feed(app_client, tenant, f"?updated_since={since}"))["data"]
    assert [c["customer_id"] for c in later] == ["cus-note"]
    stamp = datetime.fromisoformat
    assert stamp(later[0]["updated_at"]) > stamp(first[0]["updated_at"])


async def test_latest_is_the_newest_answer_not_excluded_in_profile_feed_and_filters(
    app_client, tenant, survey_id
) -> None:
    older, newer = await post_batch(
        app_client,
        tenant,
        [_answer(survey_id, "cus-lx", 10, 3, "great"), _answer(survey_id, "cus-lx", 2, 1, "bad")],
    )
    r = await app_client.patch(
        f"/v1/responses/{newer}", json={"excluded": True, "reason": "test"}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    profile = (await app_client.get("/v1/customers/cus-lx", headers=tenant.headers)).json()
    assert profile["latest"]["score"] == 10 and profile["responses_count"] == 2
    assert [h["score"] for h in profile["history"]] == [2, 10]  # history keeps both
    feed = (await _feed(app_client, tenant))["data"]
    assert [(c["customer_id"], c["latest"]["score"]) for c in feed] == [("cus-lx", 10)]
    promoters = (await _feed(app_client, tenant, "?category=promoter"))["data"]
    assert [c["latest"]["category"] for c in promoters] == ["promoter"]
    r = await app_client.patch(
        f"/v1/responses/{older}", json={"excluded": True, "reason": "test"}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    profile = (await app_client.get("/v1/customers/cus-lx", headers=tenant.headers)).json()
    feed = (await _feed(app_client, tenant))["data"]
    assert profile["latest"] is None and [c["latest"] for c in feed] == [None]


async def test_standing_kept_from_the_customer_row_equals_one_computed_from_every_answer(
    app_client, tenant, survey_id, database_url
) -> None:
    """New answers move a customer's latest and previous answer from the customer row
    alone; backdated answers, several of one customer in a batch, single answers running
    side by side and exclusions in between must leave what the answers themselves say."""
    import asyncio
    import random

    import asyncpg

    rnd = random.Random(11)
    customers = [f"c{i}" for i in range(12)]

    def item() -> dict:
        return _answer(
            survey_id, rnd.choice(customers), rnd.randint(0, 10), rnd.randint(0, 60), "x"
        )

    ids: list[str] = []
    for _ in range(6):
        ids += await post_batch(app_client, tenant, [item() for _ in range(rnd.randint(1, 15))])
        singles = await asyncio.gather(
            *[
                app_client.post("/v1/responses", json=item(), headers=tenant.headers)
                for _ in range(5)
            ]
        )
        ids += [r.json()["id"] for r in singles]
        for rid in rnd.sample(ids, 2):
            r = await app_client.patch(
                f"/v1/responses/{rid}", json={"excluded": True}, headers=tenant.headers
            )
            assert r.status_code == 200, r.text
    conn = await asyncpg.connect(database_url)
    try:
        kept = await conn.fetch(
            "SELECT customer_id, latest_response_id, latest_score, latest_local_date,"
            " latest_answered_at, previous_response_id, previous_score, previous_answered_at"
            " FROM customers WHERE tenant_id = $1 ORDER BY customer_id",
            tenant.id,
        )
        answers = await conn.fetch(
            "SELECT customer_id, id, score, local_date, answered_at FROM responses"
            " WHERE tenant_id = $1 AND NOT excluded",
            tenant.id,
        )
    finally:
        await conn.close()
    expected = {}
    for c in customers:
        mine = sorted(
            (a for a in answers if a["customer_id"] == c),
            key=lambda a: (a["answered_at"], a["id"]),
            reverse=True,
        )
        latest, previous = [*mine, None, None][:2]
        expected[c] = (
            latest and (latest["id"], latest["score"], latest["local_date"], latest["answered_at"]),
            previous and (previous["id"], previous["score"], previous["answered_at"]),
        )
    got = {
        r["customer_id"]: (
            r["latest_response_id"]
            and (
                r["latest_response_id"],
                r["latest_score"],
                r["latest_local_date"],
                r["latest_answered_at"],
            ),
            r["previous_response_id"]
            and (r["previous_response_id"], r["previous_score"], r["previous_answered_at"]),
        )
        for r in kept
    }
    assert got == {c: expected[c] for c in got}
    assert {a["customer_id"] for a in answers} <= set(got)
