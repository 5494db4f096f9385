"""Decision analytics over HTTP: compare, trend changes, breakdown vs rest, sample size."""

from __future__ import annotations

import pytest

from domain.stats import compare
from tests.conftest import answers_on, make_tenant, post_batch

PROBLEM = "application/problem+json"


def _hist(scores: list[int]) -> tuple[int, ...]:
    return tuple(scores.count(i) for i in range(11))


async def test_compare_two_periods(app_client, tenant, survey_id) -> None:
    before, after = [10] * 20 + [8] * 20 + [2] * 40, [10] * 50 + [8] * 20 + [2] * 10
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, "2026-04-10", before) + answers_on(survey_id, "2026-05-10", after),
    )
    r = await app_client.get(
        "/v1/nps/compare",
        params={
            "a_from": "2026-04-01",
            "a_to": "2026-04-30",
            "b_from": "2026-05-01",
            "b_to": "2026-05-31",
        },
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    expected = compare(_hist(before), _hist(after))
    assert body["a"]["total"] == 80 and body["b"]["total"] == 80
    assert body["a"]["from"] == "2026-04-01" and body["b"]["to"] == "2026-05-31"
    assert body["difference"] == pytest.approx(50.0 - (-25.0))  # P50 D10 vs P20 D40 of 80
    assert body["z"] == pytest.approx(expected.z)
    assert body["p_value"] == pytest.approx(expected.p_value)
    assert body["significant"] is True and body["method"] == "adjusted-wald"
    assert "independent" in body["assumption"]


async def test_compare_two_segments_and_empty_groups(app_client, tenant, survey_id) -> None:
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, "2026-06-02", [10, 9, 9], team="a")
        + answers_on(survey_id, "2026-06-02", [3, 9, 5], team="b"),
    )
    params = {
        "a_segment": "team:a",
        "b_segment": "team:b",
        "from": "2026-06-01",
        "to": "2026-06-30",
    }
    body = (await app_client.get("/v1/nps/compare", params=params, headers=tenant.headers)).json()
    assert body["a"]["nps"] == 100.0 and body["b"]["total"] == 3
    assert body["difference"] == pytest.approx(-100 / 3 - 100.0)  # b: P=1, D=2 of 3
    params["b_segment"] = "team:nobody"
    body = (await app_client.get("/v1/nps/compare", params=params, headers=tenant.headers)).json()
    assert body["z"] is None and body["p_value"] is None and body["significant"] is None


async def test_compare_interval_agrees_with_its_verdict(app_client, tenant, survey_id) -> None:
    # The numbers: a = 1 promoter, 3 passives, 6 detractors; b = 5, 2, 3. The
    # interval was centred on the raw difference ([10.13, 129.87]) while p = 0.078.
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, "2026-06-03", [10] + [8] * 3 + [2] * 6, team="pilot-a")
        + answers_on(survey_id, "2026-06-03", [10] * 5 + [8] * 2 + [2] * 3, team="pilot-b"),
    )
    params = {
        "a_segment": "team:pilot-a",
        "b_segment": "team:pilot-b",
        "from": "2026-06-03",
        "to": "2026-06-03",
    }
    r = await app_client.get("/v1/nps/compare", params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["difference"] == pytest.approx(70.0)
    assert body["adjusted_difference"] == pytest.approx(53.8462, abs=1e-4)
    assert body["p_value"] == pytest.approx(0.0779, abs=1e-4) and body["significant"] is False
    ci = body["difference_ci95"]
    assert ci["low"] == pytest.approx(-6.024, abs=1e-3)
    assert ci["high"] == pytest.approx(113.716, abs=1e-3)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "a_from"),
        ({"a_from": "2026-01-01", "a_to": "2026-01-31", "b_from": "2026-02-01"}, "b_to"),
        (
            {"a_from": "2026-01-01", "a_to": "2026-01-31", "b_from": "2026-02-01", "b_to": "x"},
            "b_to",
        ),
        ({"a_segment": "team:a"}, "b_segment"),
        ({"a_segment": "team:a", "b_segment": "bad"}, "b_segment"),
        ({"a_segment": "team:a", "b_segment": "team:b", "a_from": "2026-01-01"}, "a_segment"),
    ],
)
async def test_compare_bad_parameters_are_422(app_client, tenant, params, field) -> None:
    r = await app_client.get("/v1/nps/compare", params=params, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["errors"][0]["field"] == field


async def test_trend_points_carry_their_change(app_client, tenant, survey_id) -> None:
    await post_batch(
        app_client,
        tenant,
        answers_on(survey_id, "2026-03-02", [2] * 30)
        + answers_on(survey_id, "2026-03-16", [10] * 30),
    )
    r = await app_client.get(
        "/v1/nps/trend",
        params={"interval": "week", "from": "2026-03-02", "to": "2026-03-22"},
        headers=tenant.headers,
    )
    points = r.json()["points"]
    assert [p["total"] for p in points] == [30, 0, 30]
    assert points[0]["change"] is None and points[1]["change"] is None
    change = points[2]["change"]
    assert change["difference"] == pytest.approx(200.0) and change["significant"] is True
    assert change["compared_with"] == "2026-03-02"  # the empty week between is skipped


async def test_breakdown_flags_segments_against_the_rest(app_client, tenant, survey_id) -> None:
    items = (
        answers_on(survey_id, "2026-07-01", [2] * 40 + [10] * 5, team="support")
        + answers_on(survey_id, "2026-07-01", [10] * 40 + [8] * 5, team="sales")
        + answers_on(survey_id, "2026-07-01", [10] * 20 + [2] * 20, team="ops")
    )
    await post_batch(app_client, tenant, items)
    params = {"dimension": "team", "from": "2026-07-01", "to": "2026-07-31"}
    groups = (
        await app_client.get("/v1/nps/breakdown", params=params, headers=tenant.headers)
    ).json()["groups"]
    flags = {g["value"]: g["vs_rest"]["flag"] for g in groups}
    assert flags == {"support": "below", "sales": "above", "ops": "in_line"}
    support = next(g for g in groups if g["value"] == "support")
    rest = _hist([10] * 40 + [8] * 5 + [10] * 20 + [2] * 20)
    expected = compare(rest, _hist([2] * 40 + [10] * 5))
    assert support["vs_rest"]["p_value"] == pytest.approx(expected.p_value)
    assert support["vs_rest"]["p_value_adjusted"] >= support["vs_rest"]["p_value"]
    for g in groups:  # one rule: significant exactly when flagged, and the interval agrees
        vs = g["vs_rest"]
        ci = vs["difference_ci95"]
        assert vs["significant"] is (vs["flag"] != "in_line")
        assert vs["significant"] is (ci["low"] > 0 or ci["high"] < 0)
        assert vs["significant"] is (vs["p_value_adjusted"] < 0.05)
    by_nps = (
        await app_client.get(
            "/v1/nps/breakdown", params=params | {"sort": "nps"}, headers=tenant.headers
        )
    ).json()["groups"]
    assert [g["value"] for g in by_nps] == ["support", "ops", "sales"]
    bad = await app_client.get(
        "/v1/nps/breakdown", params=params | {"sort": "mood"}, headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"


async def test_sample_size_for_a_margin(app_client, tenant, survey_id) -> None:
    empty = (
        await app_client.get("/v1/nps/sample-size", params={"margin": 5}, headers=tenant.headers)
    ).json()
    assert empty["needed"] == 1534 and empty["more_needed"] == 1534
    assert "worst case" in empty["assumption"]
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date().isoformat()
    await post_batch(
        app_client, tenant, answers_on(survey_id, today, [10] * 60 + [8] * 30 + [2] * 10)
    )
    got = (
        await app_client.get("/v1/nps/sample-size", params={"margin": 10}, headers=tenant.headers)
    ).json()
    assert got["answers_last_30_days"] == 100
    assert got["more_needed"] == max(0, got["needed"] - 100)
    assert got["to"] == today  # the tenant's zone is UTC here
    assert got["from"] == (datetime.now(UTC).date() - timedelta(days=29)).isoformat()
    for margin in (0, -1, 101, "wide"):
        r = await app_client.get(
            "/v1/nps/sample-size", params={"margin": margin}, headers=tenant.headers
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "margin"


async def test_analytics_never_see_another_tenant(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, answers_on(survey_id, "2026-04-10", [10] * 5, team="a"))
    other = await make_tenant(app_client, admin_headers)
    body = (
        await app_client.get(
            "/v1/nps/compare",
            params={
                "a_segment": "team:a",
                "b_segment": "team:b",
                "from": "2026-04-01",
                "to": "2026-04-30",
            },
            headers=other.headers,
        )
    ).json()
    assert body["a"]["total"] == 0 and body["b"]["total"] == 0
    groups = (
        await app_client.get(
            "/v1/nps/breakdown",
            params={"dimension": "team", "from": "2026-04-01", "to": "2026-04-30"},
            headers=other.headers,
        )
    ).json()["groups"]
    assert groups == []
