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
