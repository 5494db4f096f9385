"""A run of the real server logs no customer id, comment or key, and every answer's status."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.live_server import start_api_server

CUSTOMER = "cus_planted_4711"
COMMENT = "planted comment: call me on 555-0199"
WRONG_KEY = "nps_planted_wrong_key_0000"


def test_a_run_logs_routes_and_statuses_but_no_customer_comment_or_key(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with start_api_server(database_url, redis_url, log) as server:
        with httpx.Client(base_url=server.base_url, headers=server.admin_headers) as admin:
            tenant = admin.post("/v1/admin/tenants", json={"name": "Logs", "timezone": "UTC"})
            key = admin.post(
                f"/v1/admin/tenants/{tenant.json()['id']}/keys",
                json={"name": "k", "scopes": ["responses:write", "results:read", "manage"]},
            ).json()["key"]
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base_url, headers=auth) as api:
            survey = api.post("/v1/surveys", json={"name": "S", "kind": "relational"}).json()
            answer = {"survey_id": survey["id"], "score": 2, "comment": COMMENT}
            calls = [
                api.post("/v1/responses", json=answer | {"customer_id": CUSTOMER}),
                api.get(f"/v1/customers/{CUSTOMER}"),
                api.get("/v1/responses", params={"segment": f"customer:{CUSTOMER}"}),
                api.get(f"/v1/nope/{CUSTOMER}"),
                api.get("/v1/nps", headers={"Authorization": f"Bearer {WRONG_KEY}"}),
                api.delete(f"/v1/customers/{CUSTOMER}"),
            ]
    assert [c.status_code for c in calls] == [201, 200, 200, 404, 401, 200]
    text = log.read_text()
    for secret in (CUSTOMER, COMMENT, "555-0199", key, WRONG_KEY):
        assert secret not in text, secret
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    access = {x["request_id"]: x for x in lines if x.get("event") == "request"}
    seen = [access[c.headers["x-request-id"]] for c in calls]
    assert [(x["route"], x["status"]) for x in seen] == [
        ("/v1/responses", 201),
        ("/v1/customers/{customer_id}", 200),
        ("/v1/responses", 200),
        (None, 404),
        ("/v1/nps", 401),
        ("/v1/customers/{customer_id}", 200),
    ]
