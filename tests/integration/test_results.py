"""Results over HTTP: NPS, breakdown, trend; time zones; counters agree with PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_tenant, post_batch

PROBLEM = "application/problem+json"


def _expected(p: int, pa: int, d: int) -> dict:
    n = p + pa + d
    np_ = n + 3
    pp, dp = (p + 0.75) / np_, (d + 0.75) / np_
    se = math.sqrt((pp + dp - (pp - dp) ** 2) / np_)
    low, high = max(-100.0, 100 * (pp - dp) - 196 * se), min(100.0, 100 * (pp - dp) + 196 * se)
    return {"nps": 100 * (p - d) / n, "low": low, "high": high, "moe": 196 * se}


async def test_nps_figures_match_the_definition(app_client, tenant, survey_id) -> None:
    day = "2026-05-10T12:00:00+00:00"
    scores = [10] * 6 + [9] * 4 + [8] * 3 + [7] * 2 + [6] * 3 + [0] * 2  # P=10 Pa=5 D=5
    await post_batch(
        app_client,
        tenant,
        [{"survey_id": survey_id, "score": s, "answered_at": day} for s in scores],
    )
    r = await app_client.get(
        "/v1/nps", params={"from": "2026-05-01", "to": "2026-05-31"}, headers=tenant.headers
    )
    assert r.status_code == 200
    body = r.json()
    exp = _expected(10, 5, 5)
    assert body["total"] == 20 and body["promoters"] == 10 and body["detractors"] == 5
    assert body["nps"] == pytest.approx(25.0)
    assert body["promoters_pct"] == pytest.approx(50.0)
    assert body["passives_pct"] == pytest.approx(25.0)
    assert body["mean_score"] == pytest.approx(sum(scores) / 20)
    assert body["histogram"] == [2, 0, 0, 0, 0, 0, 3, 2, 3, 4, 6]
    assert body["ci95"]["low"] == pytest.approx(exp["low"])
    assert body["ci95"]["high"] == pytest.approx(exp["high"])
    assert body["margin_of_error"] == pytest.approx(exp["moe"])
    assert body["from"] == "2026-05-01" and body["to"] == "2026-05-31"


async def test_empty_period_gives_nulls(app_client, tenant) -> None:
    body = (await app_client.get("/v1/nps", headers=tenant.headers)).json()
    assert body["total"] == 0
    for field in (
        "nps",
        "promoters_pct",
        "passives_pct",
        "detractors_pct",
        "mean_score",
        "margin_of_error",
        "ci95",
    ):
        assert body[field] is None, field


async def test_default_period_is_last_30_days_including_today(
    app_client, tenant, survey_id
) -> None:
    now = datetime.now(UTC)
    await post_batch(
        app_client,
        tenant,
        [
            {"survey_id": survey_id, "score": 10, "answered_at": now.isoformat()},
            {
                "survey_id": survey_id,
                "score": 0,
                "answered_at": (now - timedelta(days=29)).isoformat(),
            },
            {
                "survey_id": survey_id,
                "score": 0,
                "answered_at": (now - timedelta(days=31)).isoformat(),
            },
        ],
    )
    body = (await app_client.get("/v1/nps", headers=tenant.headers)).json()
    assert body["to"] == now.date().isoformat()
    assert body["from"] == (now.date() - timedelta(days=29)).isoformat()
    assert body["total"] == 2


async def test_survey_and_segment_filters(app_client, tenant, survey_id) -> None:
    r = await app_client.post(
        "/v1/surveys", json={"name": "Other", "kind": "transactional"}, headers=tenant.headers
    )
    other_survey = r.json()["id"]
    day = "2026-06-15T08:00:00+00:00"
    await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 10,
                "answered_at": day,
                "segments": {"team": "a", "region": "eu"},
            },
            {
                "survey_id": survey_id,
                "score": 2,
                "answered_at": day,
                "segments": {"team": "b", "region": "eu"},
            },
            {
                "survey_id": other_survey,
                "score": 9,
                "answered_at": day,
                "segments": {"team": "a", "region": "us"},
            },
        ],
    )
    params = {"from": "2026-06-01", "to": "2026-06-30"}
    get = lambda **p: app_client.get("/v1/nps", params=params | p, headers=tenant.headers)  # noqa: E731
    assert (await get()).json()["total"] == 3
    assert (await get(survey_id=survey_id)).json()["total"] == 2
    assert (await get(segment="team:a")).json()["total"] == 2
    assert (await get(segment="team:a", survey_id=survey_id)).json()["nps"] == 100.0
    both = await app_client.get(
        "/v1/nps",
        params=[*list(params.items()), ("segment", "team:a"), ("segment", "region:us")],
        headers=tenant.headers,
    )
    assert both.json()["total"] == 1 and both.json()["promoters"] == 1


async def test_breakdown_lists_groups_largest_first(app_client, tenant, survey_id) -> None:
    day = "2026-07-02T10:00:00+00:00"
    items = (
        [{"survey_id": survey_id, "score": 10, "answered_at": day, "segments": {"team": "support"}}]
        * 3
        + [{"survey_id": survey_id, "score": 3, "answered_at": day, "segments": {"team": "sales"}}]
        * 5
        + [{"survey_id": survey_id, "score": 8, "answered_at": day}]
    )
    await post_batch(app_client, tenant, items)
    r = await app_client.get(
        "/v1/nps/breakdown",
        params={"dimension": "team", "from": "2026-07-01", "to": "2026-07-31"},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["dimension"] == "team"
    assert [(g["value"], g["total"], g["nps"]) for g in body["groups"]] == [
        ("sales", 5, -100.0),
        ("support", 3, 100.0),
    ]


async def test_breakdown_with_a_filter_on_another_dimension(app_client, tenant, survey_id) -> None:
    day = "2026-07-02T10:00:00+00:00"
    await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 10,
                "answered_at": day,
                "segments": {"team": "a", "region": "eu"},
            },
            {
                "survey_id": survey_id,
                "score": 0,
                "answered_at": day,
                "segments": {"team": "a", "region": "us"},
            },
            {
                "survey_id": survey_id,
                "score": 0,
                "answered_at": day,
                "segments": {"team": "b", "region": "eu"},
            },
        ],
    )
    r = await app_client.get(
        "/v1/nps/breakdown",
        params={
            "dimension": "team",
            "segment": "region:eu",
            "from": "2026-07-01",
            "to": "2026-07-03",
        },
        headers=tenant.headers,
    )
    assert [(g["value"], g["total"]) for g in r.json()["groups"]] == [("a", 1), ("b", 1)]


async def test_trend_by_iso_week_includes_empty_buckets(app_client, tenant, survey_id) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 10,
                "answered_at": "2026-02-02T10:00:00+00:00",
            },  # Monday
            {
                "survey_id": survey_id,
                "score": 0,
                "answered_at": "2026-02-08T22:00:00+00:00",
            },  # Sunday
            {"survey_id": survey_id, "score": 9, "answered_at": "2026-02-23T10:00:00+00:00"},
        ],
    )
    r = await app_client.get(
        "/v1/nps/trend",
        params={"interval": "week", "from": "2026-02-01", "to": "2026-02-28"},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    points = r.json()["points"]
    assert [(p["start"], p["end"], p["total"]) for p in points] == [
        ("2026-02-01", "2026-02-01", 0),
        ("2026-02-02", "2026-02-08", 2),
        ("2026-02-09", "2026-02-15", 0),
        ("2026-02-16", "2026-02-22", 0),
        ("2026-02-23", "2026-02-28", 1),
    ]
    assert points[0]["nps"] is None and points[1]["nps"] == 0.0


async def test_trend_by_month_and_day(app_client, tenant, survey_id) -> None:
    await post_batch(
        app_client,
        tenant,
        [
            {"survey_id": survey_id, "score": 10, "answered_at": "2026-01-31T10:00:00+00:00"},
            {"survey_id": survey_id, "score": 10, "answered_at": "2026-03-01T10:00:00+00:00"},
        ],
    )
    months = (
        await app_client.get(
            "/v1/nps/trend",
            params={"interval": "month", "from": "2026-01-15", "to": "2026-03-10"},
            headers=tenant.headers,
        )
    ).json()["points"]
    assert [(p["start"], p["total"]) for p in months] == [
        ("2026-01-15", 1),
        ("2026-02-01", 0),
        ("2026-03-01", 1),
    ]
    days = (
        await app_client.get(
            "/v1/nps/trend",
            params={"from": "2026-02-27", "to": "2026-03-01"},
            headers=tenant.headers,
        )
    ).json()
    assert days["interval"] == "day"
    assert [p["total"] for p in days["points"]] == [0, 0, 1]


async def test_answers_count_on_the_local_day_of_the_tenant(app_client, admin_headers) -> None:
    berlin = await make_tenant(app_client, admin_headers, timezone="Europe/Berlin")
    r = await app_client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=berlin.headers
    )
    sid = r.json()["id"]
    await post_batch(
        app_client,
        berlin,
        [
            # 23:30 UTC on Nov 21 is 00:30 on Nov 22 in Berlin (UTC+1)
            {"survey_id": sid, "score": 10, "answered_at": "2026-11-21T23:30:00+00:00"},
            {"survey_id": sid, "score": 0, "answered_at": "2026-11-21T22:59:00+00:00"},
            # DST starts 2026-03-29 at 01:00 UTC: 22:30 UTC on Mar 28 is 23:30 local (UTC+1)
            {"survey_id": sid, "score": 7, "answered_at": "2026-03-28T22:30:00+00:00"},
            # 22:30 UTC on Mar 29 is 00:30 on Mar 30 local (UTC+2)
            {"survey_id": sid, "score": 8, "answered_at": "2026-03-29T22:30:00+00:00"},
        ],
    )

    async def day_total(d: str) -> int:
        r = await app_client.get("/v1/nps", params={"from": d, "to": d}, headers=berlin.headers)
        return int(r.json()["total"])

    assert await day_total("2026-11-22") == 1
    assert await day_total("2026-11-21") == 1
    assert await day_total("2026-03-28") == 1
    assert await day_total("2026-03-29") == 0
    assert await day_total("2026-03-30") == 1
    r = await app_client.get(
        "/v1/responses", params={"from": "2026-11-22", "to": "2026-11-22"}, headers=berlin.headers
    )
    assert [x["score"] for x in r.json()["data"]] == [10]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/nps", {"from": "2026-02-30"}, "from"),
        ("/v1/nps", {"to": "tomorrow"}, "to"),
        ("/v1/nps", {"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ("/v1/nps", {"segment": "Team:a"}, "segment"),
        ("/v1/nps", {"segment": "team:"}, "segment"),
        ("/v1/nps", {"survey_id": "abc"}, "survey_id"),
        ("/v1/nps/breakdown", {"dimension": "Bad Dim"}, "dimension"),
        ("/v1/nps/breakdown", {}, "dimension"),
        ("/v1/nps/trend", {"interval": "hour"}, "interval"),
        ("/v1/nps", {"from": "2000-01-01", "to": "2026-01-01"}, "to"),
    ],
)
async def test_result_bad_parameters_are_422(app_client, tenant, path, params, field) -> None:
    r = await app_client.get(path, params=params, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["errors"][0]["field"] == field


async def test_results_of_another_tenant_are_not_counted(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, [{"survey_id": survey_id, "score": 10}])
    other = await make_tenant(app_client, admin_headers)
    assert (await app_client.get("/v1/nps", headers=other.headers)).json()["total"] == 0
    r = await app_client.get("/v1/nps", params={"survey_id": survey_id}, headers=other.headers)
    assert r.status_code == 200 and r.json()["total"] == 0
