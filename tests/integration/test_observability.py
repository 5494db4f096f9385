"""Request logs, health and readiness."""

from __future__ import annotations

import json

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.conftest import migrated_database, url_database


async def test_one_json_log_line_per_request_without_secrets(
    app_client, tenant, survey_id, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    secret_comment = "my phone is 555-0100"
    r = await app_client.post(
        "/v1/responses",
        json={
            "survey_id": survey_id,
            "score": 2,
            "comment": secret_comment,
            "customer_id": "cus_secret",
        },
        headers=tenant.headers | {"X-Request-ID": "req-abc"},
    )
    assert r.status_code == 201
    assert r.headers["x-request-id"] == "req-abc"
    out = capfd.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [x for x in lines if x.get("event") == "request"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-abc"
    assert line["tenant_id"] == tenant.id
    assert line["route"] == "/v1/responses" and line["status"] == 201
    assert line["method"] == "POST" and isinstance(line["duration_ms"], float)
    assert secret_comment not in out and "cus_secret" not in out and tenant.key not in out


async def test_liveness_and_readiness(app_client) -> None:
    assert (await app_client.get("/health/live")).json() == {"status": "ok"}
    ready = await app_client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "up", "redis": "up"}


async def test_readiness_is_503_without_postgresql(server_urls, settings) -> None:
    """The database disappears under a running app: readiness says so."""
    async with migrated_database(server_urls[0], "nps_gone") as url:
        app = create_app(msgspec.structs.replace(settings, database_url=url))
        async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
            assert (await client.get("/health/ready")).status_code == 200
            admin = await asyncpg.connect(server_urls[0])
            try:
                await admin.execute(f'DROP DATABASE "{url_database(url)}" WITH (FORCE)')
            finally:
                await admin.close()
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["database"] == "down"
            assert (await client.get("/health/live")).status_code == 200


async def test_docs_and_spec_are_served(app_client) -> None:
    spec = await app_client.get("/docs/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
    page = await app_client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()


async def test_a_started_app_keeps_its_start_up_objects_out_of_collections(
    server_urls, settings
) -> None:
    """Also stops while its revocation listener is blocked in a pub/sub read (that read
    swallowed its cancellation under the test client, and the stop hung)."""
    import gc

    gc.unfreeze()
    async with migrated_database(server_urls[0], "nps_gc") as url:
        app = create_app(msgspec.structs.replace(settings, database_url=url))
        try:
            async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
                assert (await client.get("/health/live")).status_code == 200
                assert gc.get_freeze_count() > 10_000  # the routes, schemas and pools at least
        finally:
            gc.unfreeze()
