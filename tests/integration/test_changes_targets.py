"""Changes and their impact, targets on results, and excluded answers, over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import answers_on, make_tenant, post_batch, verify_tenant

PROBLEM = "application/problem+json"


async def test_change_lifecycle_and_annotations(app_client, tenant, survey_id) -> None:
    r = await app_client.post(
        "/v1/changes",
        json={
            "title": "New support rota",
            "effective_on": "2026-05-15",
            "survey_id": survey_id,
            "segment": "team:support",
            "description": "24/7 chat",
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["segment"] == "team:support" and change["survey_id"] == survey_id
    r = await app_client.patch(
        f"/v1/changes/{change['id']}", json={"title": "Support rota v2"}, headers=tenant.headers
    )
    assert r.status_code == 200 and r.json()["title"] == "Support rota v2"
    assert r.json()["segment"] == "team:support"
    listed = (
        await app_client.get("/v1/changes", params={"from": "2026-05-01"}, headers=tenant.headers)
    ).json()["data"]
    assert [c["id"] for c in listed] == [change["id"]]
    trend = (
        await app_client.get(
            "/v1/nps/trend",
            params={"interval": "month", "from": "2026-04-01", "to": "2026-06-30"},
            headers=tenant.headers,
        )
    ).json()
    assert trend["annotations"] == [
        {
            "change_id": change["id"],
            "title": "Support rota v2",
            "effective_on": "2026-05-15",
            "survey_id": survey_id,
            "segment": "team:support",
        }
    ]
    assert (
        await app_client.delete(f"/v1/changes/{change['id']}", headers=tenant.headers)
    ).status_code == 204
    r = await app_client.get(f"/v1/changes/{change['id']}", headers=tenant.headers)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("segments", "shown"),
    [
        ([], True),  # all answers: a support-only change still moves part of them
        (["team:support"], True),
        (["region:emea"], True),  # another dimension: the support team's answers are in it
        (["team:sales"], False),  # none of these answers is the support team's
        (["team:sales", "region:emea"], False),
    ],
)
async def test_a_trend_annotates_the_changes_whose_scope_shares_its_answers(
    app_client, tenant, survey_id, segments, shown
) -> None:
    made = await app_client.post(
        "/v1/changes",
        json={"title": "Chat", "effective_on": "2026-05-15", "segment": "team:support"},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    params: dict[str, object] = {"interval": "month", "from": "2026-05-01", "to": "2026-05-31"}
    trend = (
        await app_client.get(
            "/v1/nps/trend", params=params | {"segment": segments}, headers=tenant.headers
        )
    ).json()
    assert [a["change_id"] for a in trend["annotations"]] == ([made.json()["id"]] if shown else [])


async def test_impact_says_improved_when_the_change_worked(app_client, tenant, survey_id) -> None:
    today = datetime.now(UTC).date()
    effective = today - timedelta(days=10)
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, effective - timedelta(days=5), [2] * 40 + [10] * 10)
        + answers_on(survey_id, effective + timedelta(days=2), [10] * 40 + [2] * 10),
    )
    change = (
        await app_client.post(
            "/v1/changes",
            json={"title": "Faster refunds", "effective_on": effective.isoformat()},
            headers=tenant.headers,
        )
    ).json()
    r = await app_client.get(
        f"/v1/changes/{change['id']}/impact", params={"window_days": 30}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == "improved"
    assert body["a"]["from"] == (effective - timedelta(days=30)).isoformat()
    assert body["a"]["to"] == (effective - timedelta(days=1)).isoformat()
    assert body["b"]["from"] == effective.isoformat() and body["b"]["to"] == today.isoformat()
    assert body["difference"] == pytest.approx(120.0)
    assert body["needed_per_group"] > 0 and body["min_effect"] == 10.0


async def test_impact_without_answers_is_insufficient_data(app_client, tenant) -> None:
    change = (
        await app_client.post(
            "/v1/changes",
            json={"title": "Next year's idea", "effective_on": "2099-01-01"},
            headers=tenant.headers,
        )
    ).json()
    body = (
        await app_client.get(f"/v1/changes/{change['id']}/impact", headers=tenant.headers)
    ).json()
    assert body["decision"] == "insufficient_data" and body["p_value"] is None


async def test_impact_of_one_answer_against_four_stays_in_range(
    app_client, tenant, survey_id
) -> None:
    # One promoter before, four detractors after: the raw difference is -200 and the old
    # interval (raw +- 1.96 se) reached [-289, -111] on this scale; now it holds 0, as p does.
    today = datetime.now(UTC).date()
    effective = today - timedelta(days=3)
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, effective - timedelta(days=2), [10])
        + answers_on(survey_id, effective + timedelta(days=1), [1] * 4),
    )
    change = (
        await app_client.post(
            "/v1/changes",
            json={"title": "New greeting", "effective_on": effective.isoformat()},
            headers=tenant.headers,
        )
    ).json()
    body = (
        await app_client.get(f"/v1/changes/{change['id']}/impact", headers=tenant.headers)
    ).json()
    ci = body["difference_ci95"]
    assert body["difference"] == -200.0 and body["significant"] is False
    assert -200 <= ci["low"] < 0 < ci["high"] <= 200
    assert body["decision"] == "no_detectable_change" and body["p_value"] > 0.05


async def test_targets_show_on_results_judged_on_the_interval(
    app_client, tenant, survey_id
) -> None:
    day = datetime.now(UTC).date()
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, day, [10] * 90 + [2] * 10, team="a")
        + answers_on(survey_id, day, [10] * 5 + [2] * 5, team="b"),
    )
    for body in ({"nps": 50}, {"nps": 20, "segment": "team:b"}, {"nps": 99.5}):
        r = await app_client.put("/v1/targets", json=body, headers=tenant.headers)
        assert r.status_code == 200, r.text
    targets = (await app_client.get("/v1/targets", headers=tenant.headers)).json()["data"]
    assert sorted(t["nps"] for t in targets) == [20.0, 99.5]  # the upsert replaced 50
    overall = (await app_client.get("/v1/nps", headers=tenant.headers)).json()
    assert overall["target"] == 99.5 and overall["target_met"] == "no"
    assert overall["gap"] == pytest.approx(overall["nps"] - 99.5)
    groups = (
        await app_client.get(
            "/v1/nps/breakdown", params={"dimension": "team"}, headers=tenant.headers
        )
    ).json()["groups"]
    b = next(g for g in groups if g["value"] == "b")
    a = next(g for g in groups if g["value"] == "a")
    assert b["target"] == 20.0 and b["target_met"] == "uncertain"
    assert a["target"] is None and a["target_met"] is None
    await app_client.put(
        "/v1/targets", json={"nps": 90, "segment": "team:a"}, headers=tenant.headers
    )
    by_gap = (
        await app_client.get(
            "/v1/nps/breakdown", params={"dimension": "team", "sort": "gap"}, headers=tenant.headers
        )
    ).json()["groups"]
    assert [g["value"] for g in by_gap] == ["b", "a"]  # b: 0 - 20 = -20; a: 80 - 90 = -10
    tid = next(t["id"] for t in targets if t["nps"] == 99.5)
    assert (
        await app_client.delete(f"/v1/targets/{tid}", headers=tenant.headers)
    ).status_code == 204
    assert (await app_client.get("/v1/nps", headers=tenant.headers)).json()["target"] is None


async def test_excluded_answers_leave_every_calculation(
    app_client, tenant, survey_id, database_url, redis_url
) -> None:
    today = datetime.now(UTC).date()
    ids = await post_batch(app_client, tenant, answers_on(survey_id, today, [0, 10, 10]))
    r = await app_client.patch(
        f"/v1/responses/{ids[0]}",
        json={"excluded": True, "reason": "test answer"},
        headers=tenant.headers,
    )
    assert r.status_code == 200 and r.json()["excluded"] is True
    assert r.json()["exclusion_reason"] == "test answer"
    body = (await app_client.get("/v1/nps", headers=tenant.headers)).json()
    assert (body["total"], body["nps"]) == (2, 100.0)
    again = await app_client.patch(
        f"/v1/responses/{ids[0]}", json={"excluded": True}, headers=tenant.headers
    )
    assert again.status_code == 200
    assert (await app_client.get("/v1/nps", headers=tenant.headers)).json()["total"] == 2
    listed = (await app_client.get("/v1/responses", headers=tenant.headers)).json()["data"]
    assert sum(x["excluded"] for x in listed) == 1 and len(listed) == 3
    await app_client.patch(
        f"/v1/responses/{ids[0]}", json={"excluded": False}, headers=tenant.headers
    )
    assert (await app_client.get("/v1/nps", headers=tenant.headers)).json()["total"] == 3
    assert await verify_tenant(database_url, redis_url, tenant.id) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/v1/changes", {"title": "x"}, "effective_on"),
        ("post", "/v1/changes", {"title": "x", "effective_on": "2026-02-30"}, "effective_on"),
        (
            "post",
            "/v1/changes",
            {"title": "x", "effective_on": "2026-01-01", "segment": "bad"},
            "segment",
        ),
        ("put", "/v1/targets", {"nps": 101}, "nps"),
        ("put", "/v1/targets", {"nps": -100.5}, "nps"),
        ("put", "/v1/targets", {"nps": "50"}, "nps"),
        ("patch", "/v1/responses/{rid}", {"excluded": "yes"}, "excluded"),
    ],
)
async def test_bad_decision_inputs_are_422(
    app_client, tenant, survey_id, method, path, body, field
) -> None:
    rid = (await post_batch(app_client, tenant, answers_on(survey_id, date(2026, 1, 5), [9])))[0]
    r = await getattr(app_client, method)(path.format(rid=rid), json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("window", [0, 366, "week"])
async def test_impact_window_out_of_range_is_422(app_client, tenant, window) -> None:
    change = (
        await app_client.post(
            "/v1/changes", json={"title": "x", "effective_on": "2026-01-01"}, headers=tenant.headers
        )
    ).json()
    r = await app_client.get(
        f"/v1/changes/{change['id']}/impact", params={"window_days": window}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "window_days"


async def test_foreign_ids_answer_404(app_client, admin_headers, tenant, survey_id) -> None:
    change = (
        await app_client.post(
            "/v1/changes", json={"title": "x", "effective_on": "2026-01-01"}, headers=tenant.headers
        )
    ).json()
    target = (await app_client.put("/v1/targets", json={"nps": 30}, headers=tenant.headers)).json()
    rid = (await post_batch(app_client, tenant, answers_on(survey_id, date(2026, 1, 5), [9])))[0]
    other = await make_tenant(app_client, admin_headers)
    for method, path, body in [
        ("get", f"/v1/changes/{change['id']}", None),
        ("get", f"/v1/changes/{change['id']}/impact", None),
        ("patch", f"/v1/changes/{change['id']}", {"title": "y"}),
        ("delete", f"/v1/changes/{change['id']}", None),
        ("delete", f"/v1/targets/{target['id']}", None),
        ("patch", f"/v1/responses/{rid}", {"excluded": True}),
        ("put", "/v1/targets", {"nps": 1, "survey_id": survey_id}),
        (
            "post",
            "/v1/changes",
            {"title": "x", "effective_on": "2026-01-01", "survey_id": survey_id},
        ),
        ("get", f"/v1/changes/{uuid.uuid4()}", None),
    ]:
        kwargs = {"json": body} if body is not None else {}
        r = await getattr(app_client, method)(path, headers=other.headers, **kwargs)
        assert r.status_code == 404, (method, path, r.text)
    assert (await app_client.get("/v1/changes", headers=other.headers)).json()["data"] == []
    assert (await app_client.get("/v1/targets", headers=other.headers)).json()["data"] == []
