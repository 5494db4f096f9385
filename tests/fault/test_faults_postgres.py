"""PostgreSQL cut or frozen: 503 with Retry-After within the bound, never a hang or a 500;
the outcome of a write that timed out is told by its Idempotency-Key; recovery by itself."""

from __future__ import annotations

import time

from tests.conftest import make_tenant, nps_total
from tests.fault.conftest import CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_S

# A request that needs PostgreSQL is answered within the statement timeout (the client's
# margin included) plus the least time a group commit gets; scheduling slack on top.
BOUND_S = STATEMENT_TIMEOUT_S + 0.5 + 1.0 + 1.0


async def _survey(client, tenant) -> str:  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _timed(coro):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    r = await coro
    return r, time.monotonic() - start


def _assert_unavailable(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["status"] == 503


async def test_frozen_postgres_answers_503_with_retry_after_within_the_bound(
    client, admin_headers, pg_proxy
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    pg_proxy.freeze()
    try:
        # One at a time: the in-process client serves requests in turn (the load tests of
        # this suite send them concurrently to a server process).
        for _ in range(3):
            r, took = await _timed(
                client.post(
                    "/v1/responses", json={"survey_id": sid, "score": 9}, headers=tenant.headers
                )
            )
            _assert_unavailable(r)
            assert took < BOUND_S, took
        r, took = await _timed(client.get("/v1/responses", headers=tenant.headers))
        _assert_unavailable(r)
        assert took < BOUND_S, took
        r, took = await _timed(client.get("/health/ready"))
        assert r.status_code == 503 and took < 1.0, took
        assert r.json()["database"] == "down" and r.headers["retry-after"]
    finally:
        pg_proxy.restore()
    r = await client.post(
        "/v1/responses", json={"survey_id": sid, "score": 9}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text  # back by itself
    assert await nps_total(client, tenant) == 1  # none of the 503 answers was stored


async def test_cut_postgres_answers_503_at_once_and_recovers(
    client, admin_headers, pg_proxy
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    unseen = await client.post(
        f"/v1/admin/tenants/{tenant.id}/keys",
        json={"name": "unseen", "scopes": ["results:read"]},
        headers=admin_headers,
    )
    unseen_headers = {"Authorization": f"Bearer {unseen.json()['key']}"}
    pg_proxy.cut()
    try:
        r, took = await _timed(
            client.post(
                "/v1/responses", json={"survey_id": sid, "score": 3}, headers=tenant.headers
            )
        )
        _assert_unavailable(r)
        assert took < CONNECT_TIMEOUT_S + 1.0, took
        r, took = await _timed(client.get("/health/ready"))
        assert r.status_code == 503 and took < 1.0
        # A key not seen before is looked up in PostgreSQL, in the auth middleware.
        _assert_unavailable(await client.get("/v1/nps", headers=unseen_headers))
    finally:
        pg_proxy.restore()
    r = await client.post(
        "/v1/responses", json={"survey_id": sid, "score": 3}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    assert (await client.get("/health/ready")).status_code == 200


async def test_write_not_stored_in_time_is_stored_by_its_retry(
    client, admin_headers, pg_proxy
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    headers = {**tenant.headers, "Idempotency-Key": "retry-me"}
    body = {"survey_id": sid, "score": 10}
    pg_proxy.freeze()
    try:
        r = await client.post("/v1/responses", json=body, headers=headers)
    finally:
        pg_proxy.restore()
    _assert_unavailable(r)
    assert "nothing was stored" in r.json()["detail"]
    r = await client.post("/v1/responses", json=body, headers=headers)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert await nps_total(client, tenant) == 1


async def test_write_whose_commit_went_unconfirmed_is_told_by_its_idempotency_key(
    client, admin_headers, pg_proxy, monkeypatch
) -> None:
    """The COMMIT reaches PostgreSQL but its answer never comes back: the client hears
    "outcome unknown", and the retry with the same key replays the stored answer."""
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    batcher = client.app.state.runtime.batcher
    store = batcher._store

    async def freeze_before_commit(conn, batch):  # type: ignore[no-untyped-def]
        result = await store(conn, batch)
        pg_proxy.freeze_replies()
        return result

    monkeypatch.setattr(batcher, "_store", freeze_before_commit)
    headers = {**tenant.headers, "Idempotency-Key": "unconfirmed"}
    body = {"survey_id": sid, "score": 2}
    try:
        r = await client.post("/v1/responses", json=body, headers=headers)
    finally:
        monkeypatch.setattr(batcher, "_store", store)
        pg_proxy.restore()
    _assert_unavailable(r)
    assert "did not confirm" in r.json()["detail"]
    again = await client.post("/v1/responses", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert await nps_total(client, tenant) == 1
