"""`nps serve` with NPS_WORKERS=2: both processes serve, and /metrics sums them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ALL_SCOPES
from tests.live_server import ARTIFACTS, start_api_server

ANSWERS = 40


def _count(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0


async def test_two_workers_serve_and_metrics_sum_every_process(
    database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_dir = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    log = ARTIFACTS / "workers" / "server.log"
    with start_api_server(database_url, redis_url, log, workers="2") as server:
        admin = server.admin_headers
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            r = await client.post("/v1/admin/tenants", json={"name": "W"}, headers=admin)
            assert r.status_code == 201, r.text
            tenant = r.json()["id"]
            r = await client.post(
                f"/v1/admin/tenants/{tenant}/keys",
                json={"name": "w", "scopes": ALL_SCOPES},
                headers=admin,
            )
            headers = {"Authorization": f"Bearer {r.json()['key']}"}
            r = await client.post(
                "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=headers
            )
            survey = r.json()["id"]

        async def answer(score: int) -> int:
            # A connection each: the two workers share the listening socket.
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as one:
                sent = await one.post(
                    "/v1/responses", json={"survey_id": survey, "score": score}, headers=headers
                )
                return sent.status_code

        statuses = await asyncio.gather(*(answer(i % 11) for i in range(ANSWERS)))
        assert statuses == [201] * ANSWERS
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            nps = (await client.get("/v1/nps", headers=headers)).json()
            scraped = (await client.get("/metrics", headers=admin)).text
    assert nps["total"] == ANSWERS
    created = {"method": "POST", "route": "/v1/responses", "status": "201"}
    assert _count(scraped, "nps_http_request_duration_seconds_count", **created) == ANSWERS
    pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("histogram_*.db")}
    assert len(pids) >= 2, pids  # two worker processes wrote their values
