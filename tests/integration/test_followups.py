"""Follow-up cases: opened with detractor answers, moved through their states, stats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.conftest import make_tenant, post_batch


def _answer(survey: str, score: int, **extra: object) -> dict:
    return {"survey_id": survey, "score": score, **extra}


def _followup_settings(body: dict) -> dict:
    """The follow-up part of the settings (they also hold the digest schedule)."""
    return {k: body[k] for k in ("followup_categories", "followup_sla_hours")}


async def _cases(client, tenant, query: str = "") -> list[dict]:  # type: ignore[no-untyped-def]
    r = await client.get(f"/v1/followups{query}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_detractor_answers_open_a_case_in_their_transaction(
    app_client, tenant, survey_id
) -> None:
    ids = await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, 3, comment="too slow", customer_id="c-1", segments={"team": "a"}),
            _answer(survey_id, 7),
            _answer(survey_id, 10),
            _answer(survey_id, 6, external_id="ext-1"),
        ],
    )
    # The same external_id again is not a new answer, so no second case.
    await post_batch(app_client, tenant, [_answer(survey_id, 6, external_id="ext-1")])
    cases = await _cases(app_client, tenant)
    assert sorted(c["response_id"] for c in cases) == sorted([ids[0], ids[3]])
    case = next(c for c in cases if c["response_id"] == ids[0])
    assert case["status"] == "open" and case["score"] == 3 and case["comment"] == "too slow"
    assert case["customer_id"] == "c-1" and case["segments"] == {"team": "a"}
    assert case["survey_id"] == survey_id and case["owner"] is None and not case["overdue"]
    due = datetime.fromisoformat(case["due_at"]) - datetime.fromisoformat(case["created_at"])
    assert due == timedelta(hours=48)
    one = await app_client.get(f"/v1/followups/{case['id']}", headers=tenant.headers)
    assert one.status_code == 200 and one.json()["id"] == case["id"]


async def test_settings_choose_categories_and_deadline(app_client, tenant, survey_id) -> None:
    r = await app_client.get("/v1/settings", headers=tenant.headers)
    assert _followup_settings(r.json()) == {
        "followup_categories": ["detractor"],
        "followup_sla_hours": 48,
    }
    r = await app_client.patch(
        "/v1/settings",
        json={"followup_categories": ["passive", "detractor"], "followup_sla_hours": 24},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    assert _followup_settings(r.json()) == {
        "followup_categories": ["passive", "detractor"],
        "followup_sla_hours": 24,
    }
    await post_batch(app_client, tenant, [_answer(survey_id, 8), _answer(survey_id, 9)])
    (case,) = await _cases(app_client, tenant)
    assert case["score"] == 8
    due = datetime.fromisoformat(case["due_at"]) - datetime.fromisoformat(case["created_at"])
    assert due == timedelta(hours=24)
    r = await app_client.patch(
        "/v1/settings", json={"followup_categories": []}, headers=tenant.headers
    )
    assert r.json()["followup_categories"] == []
    await post_batch(app_client, tenant, [_answer(survey_id, 0)])
    assert len(await _cases(app_client, tenant)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"followup_categories": ["critic"]}, "followup_categories"),
        ({"followup_categories": ["detractor", "detractor"]}, "followup_categories"),
        ({"followup_sla_hours": 0}, "followup_sla_hours"),
        ({"followup_sla_hours": 2161}, "followup_sla_hours"),
        ({"followup_sla_hours": "48"}, "followup_sla_hours"),
        ({"sla": 4}, "sla"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    app_client, tenant, body: dict, field: str
) -> None:
    r = await app_client.patch("/v1/settings", json=body, headers=tenant.headers)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text
    after = await app_client.get("/v1/settings", headers=tenant.headers)
    assert _followup_settings(after.json()) == {
        "followup_categories": ["detractor"],
        "followup_sla_hours": 48,
    }


async def _one_case(client, tenant, survey_id) -> str:  # type: ignore[no-untyped-def]
    await post_batch(client, tenant, [_answer(survey_id, 2, customer_id="cus-t")])
    return str((await _cases(client, tenant))[0]["id"])


async def test_transitions_set_their_times_and_refuse_illegal_moves(
    app_client, tenant, survey_id
) -> None:
    case_id = await _one_case(app_client, tenant, survey_id)
    url, h = f"/v1/followups/{case_id}", tenant.headers

    r = await app_client.patch(url, json={"owner": "maria", "status": "in_progress"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["owner"] == "maria" and body["status"] == "in_progress"
    assert body["first_contact_at"] is not None and body["closed_at"] is None

    back = await app_client.patch(url, json={"status": "open"}, headers=h)
    assert back.status_code == 409 and "allowed: closed" in back.json()["detail"]

    no_resolution = await app_client.patch(url, json={"status": "closed"}, headers=h)
    assert no_resolution.status_code == 422 and "resolution" in no_resolution.text
    assert (await app_client.get(url, headers=h)).json()["status"] == "in_progress"

    closed = await app_client.patch(
        url, json={"status": "closed", "resolution": "refunded the fee"}, headers=h
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"] is not None
    assert closed.json()["resolution"] == "refunded the fee"

    skip = await app_client.patch(url, json={"status": "in_progress"}, headers=h)
    assert skip.status_code == 409 and "allowed: open" in skip.json()["detail"]

    reopened = await app_client.patch(url, json={"status": "open", "owner": None}, headers=h)
    assert reopened.status_code == 200
    body = reopened.json()
    assert body["status"] == "open" and body["owner"] is None
    assert body["closed_at"] is None and body["resolution"] is None
    assert body["first_contact_at"] is not None  # the earlier contact stays on record


async def test_bad_case_updates_and_notes_are_refused(app_client, tenant, survey_id) -> None:
    case_id = await _one_case(app_client, tenant, survey_id)
    url, h = f"/v1/followups/{case_id}", tenant.headers
    for body, field in [
        ({"status": "done"}, "status"),
        ({"owner": ""}, "owner"),
        ({"resolution": "x"}, "resolution"),  # only with closing
        ({"priority": 1}, "priority"),
    ]:
        r = await app_client.patch(url, json=body, headers=h)
        assert r.status_code in (400, 422), (body, r.text)
        assert field in r.text, (body, r.text)
    r = await app_client.post(f"{url}/notes", json={"author": "x", "text": ""}, headers=h)
    assert r.status_code in (400, 422) and "text" in r.text
    assert (await app_client.get(url, headers=h)).json()["notes"] == []


async def test_notes_are_kept_in_order(app_client, tenant, survey_id) -> None:
    case_id = await _one_case(app_client, tenant, survey_id)
    url, h = f"/v1/followups/{case_id}", tenant.headers
    for text in ("called, no answer", "called back, apologised"):
        r = await app_client.post(f"{url}/notes", json={"author": "maria", "text": text}, headers=h)
        assert r.status_code == 201, r.text
    notes = (await app_client.get(url, headers=h)).json()["notes"]
    assert [n["text"] for n in notes] == ["called, no answer", "called back, apologised"]
    assert all(n["author"] == "maria" for n in notes)


async def test_list_filters_and_pages_without_repeats(
    app_client, tenant, survey_id, database_url
) -> None:
    other = await app_client.post(
        "/v1/surveys", json={"name": "Support", "kind": "transactional"}, headers=tenant.headers
    )
    other_id = other.json()["id"]
    await post_batch(
        app_client,
        tenant,
        [_answer(survey_id, s, segments={"team": "a" if s % 2 else "b"}) for s in range(7)]
        + [_answer(other_id, 1)],
    )
    h = tenant.headers
    all_cases = await _cases(app_client, tenant)
    assert len(all_cases) == 8
    first = all_cases[0]["id"]
    await app_client.patch(
        f"/v1/followups/{first}", json={"owner": "li", "status": "in_progress"}, headers=h
    )
    assert [c["id"] for c in await _cases(app_client, tenant, "?owner=li")] == [first]
    assert len(await _cases(app_client, tenant, "?status=open")) == 7
    assert len(await _cases(app_client, tenant, f"?survey_id={other_id}")) == 1
    assert len(await _cases(app_client, tenant, "?segment=team:a")) == 3
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE followups SET due_at = now() - interval '1 hour'"
            " WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            uuid.UUID(tenant.id),
            [uuid.UUID(c["id"]) for c in all_cases[:3]],
        )
    finally:
        await conn.close()
    overdue = await _cases(app_client, tenant, "?overdue=true")
    assert {c["id"] for c in overdue} == {c["id"] for c in all_cases[:3]}
    assert all(c["overdue"] for c in overdue)

    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        r = await app_client.get(f"/v1/followups{query}", headers=h)
        seen += [c["id"] for c in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in all_cases]
    bad = await app_client.get("/v1/followups?status=pending", headers=h)
    assert bad.status_code == 422 and "status" in bad.text


async def test_stats_count_states_median_times_and_recovery(
    app_client, tenant, survey_id, database_url
) -> None:
    h = tenant.headers
    await post_batch(
        app_client,
        tenant,
        [_answer(survey_id, 1, customer_id=f"c{i}") for i in range(4)] + [_answer(survey_id, 9)],
    )
    cases = {c["customer_id"]: c["id"] for c in await _cases(app_client, tenant)}
    for customer in ("c0", "c1", "c2"):
        await app_client.patch(
            f"/v1/followups/{cases[customer]}", json={"status": "in_progress"}, headers=h
        )
        await app_client.patch(
            f"/v1/followups/{cases[customer]}",
            json={"status": "closed", "resolution": "fixed"},
            headers=h,
        )
    conn = await asyncpg.connect(database_url)
    try:  # contact after 2, 4, 6 hours; closed after 10, 20, 30 hours; c3 overdue
        for i, customer in enumerate(("c0", "c1", "c2")):
            await conn.execute(
                "UPDATE followups SET created_at = now() - interval '40 hours',"
                " first_contact_at = now() - interval '40 hours' + make_interval(hours => $3),"
                " closed_at = now() - interval '40 hours' + make_interval(hours => $4)"
                " WHERE tenant_id = $1 AND id = $2",
                uuid.UUID(tenant.id),
                uuid.UUID(cases[customer]),
                2 * (i + 1),
                10 * (i + 1),
            )
        await conn.execute(
            "UPDATE responses SET answered_at = now() - interval '41 hours' WHERE tenant_id = $1",
            uuid.UUID(tenant.id),
        )
        await conn.execute(
            "UPDATE followups SET due_at = now() - interval '1 minute'"
            " WHERE tenant_id = $1 AND id = $2",
            uuid.UUID(tenant.id),
            uuid.UUID(cases["c3"]),
        )
    finally:
        await conn.close()
    # After their cases closed, c0 answers 10 and c1 answers 5; c2 stays silent.
    now = datetime.now(UTC)
    await post_batch(
        app_client,
        tenant,
        [
            _answer(survey_id, 10, customer_id="c0", answered_at=now.isoformat()),
            _answer(survey_id, 5, customer_id="c1", answered_at=now.isoformat()),
        ],
    )
    r = await app_client.get("/v1/followups/stats", headers=h)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["open"], s["in_progress"], s["closed"], s["overdue"]) == (2, 0, 3, 1)
    assert s["opened"] == 5  # c1's new detractor answer opened a case too
    assert s["median_hours_to_first_contact"] == 4.0
    assert s["median_hours_to_close"] == 20.0
    assert s["recovery"] == {
        "customers": 3,
        "answered_again": 2,
        "promoters": 1,
        "passives": 0,
        "detractors": 1,
        "promoters_pct": 50.0,
    }
    empty = await app_client.get("/v1/followups/stats?from=2020-01-01&to=2020-01-31", headers=h)
    assert empty.json()["opened"] == 0 and empty.json()["median_hours_to_close"] is None
    bad = await app_client.get("/v1/followups/stats?from=2020-02-01&to=2020-01-01", headers=h)
    assert bad.status_code == 422 and "from" in bad.text


async def test_cases_are_invisible_to_other_tenants(
    app_client, admin_headers, tenant, survey_id
) -> None:
    case_id = await _one_case(app_client, tenant, survey_id)
    intruder = await make_tenant(app_client, admin_headers)
    h = intruder.headers
    unknown = f"/v1/followups/{uuid.uuid4()}"
    for url in (f"/v1/followups/{case_id}", unknown):
        got = await app_client.get(url, headers=h)
        patched = await app_client.patch(url, json={"owner": "eve"}, headers=h)
        noted = await app_client.post(f"{url}/notes", json={"author": "e", "text": "x"}, headers=h)
        assert (got.status_code, patched.status_code, noted.status_code) == (404, 404, 404)
        assert got.json()["detail"] == "follow-up case not found"
    assert await _cases(app_client, intruder) == []
    assert (await app_client.get("/v1/followups/stats", headers=h)).json()["opened"] == 0
    mine = (await app_client.get(f"/v1/followups/{case_id}", headers=tenant.headers)).json()
    assert mine["owner"] is None and mine["notes"] == []
