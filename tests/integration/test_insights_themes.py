"""GET /v1/insights/themes on real PostgreSQL: themes, isolation, exclusions, erasure, input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import make_tenant, post_batch

DETRACTOR_DE = "Die Wartezeiten an der Hotline waren viel zu lang"
DETRACTOR_EN = "Waiting forever on the hotline, nobody answered"
PROMOTER_DE = "Sehr freundliche Mitarbeiter und kompetente Beratung"
PROMOTER_EN = "Friendly staff, competent advice"


def _answers(survey: str, n: int = 20, team: str = "support") -> list[dict]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        at = (now - timedelta(hours=i + 1)).isoformat()
        common = {"survey_id": survey, "answered_at": at, "segments": {"team": team}}
        out += [
            {**common, "score": 2, "comment": f"{DETRACTOR_DE} ({i + 1} Stunden)"},
            {**common, "score": 3, "comment": DETRACTOR_EN},
            {**common, "score": 10, "comment": PROMOTER_DE},
            {**common, "score": 9, "comment": PROMOTER_EN},
        ]
    return out


def _terms(side: dict) -> list[str]:
    return [t["term"] for t in side["themes"]]


async def test_detractor_and_promoter_themes_in_german_and_english(
    app_client, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, _answers(survey_id))
    r = await app_client.get("/v1/insights/themes", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["a"]["label"] == "detractors" and body["a"]["comments"] == 40
    assert body["b"]["comments"] == 40
    assert body["languages"] == {"de": 40, "en": 40}
    assert body["comments"] == {"total": 80, "used": 80, "capped": False, "cap": 50000}
    detractor, promoter = _terms(body["a"]), _terms(body["b"])
    assert "wartezeit" in detractor and "wait" in detractor and "hotline" in detractor
    assert "freundlich" in promoter and "friendly" in promoter
    assert not any(ch.isdigit() for t in detractor for ch in t)  # "(3 Stunden)" never a theme
    wait = next(t for t in body["a"]["themes"] if t["term"] == "wartezeit")
    assert wait["z"] >= 1.96 and wait["a_comments"] == 20 and wait["b_comments"] == 0
    assert wait["share_pct"] == 25.0
    assert wait["nps_with"]["nps"] == -100 and wait["nps_with"]["ci95"]["high"] < 0
    assert wait["nps_without"]["total"] == 60
    examples = wait["examples"]
    assert len(examples) == 3 and examples[0]["answered_at"] > examples[1]["answered_at"]
    assert examples[0]["comment"].endswith("(1 Stunden)")


async def test_segment_against_the_rest_of_the_detractors(app_client, tenant, survey_id) -> None:
    support = _answers(survey_id, team="support")
    sales = [
        {**a, "comment": "Rechnung falsch, Preise zu hoch", "segments": {"team": "sales"}}
        for a in _answers(survey_id, team="sales")
        if a["score"] <= 6
    ]
    await post_batch(app_client, tenant, support + sales)
    r = await app_client.get(
        "/v1/insights/themes?vs=rest&segment=team:support", headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["a"]["label"] == "detractors of team:support" and body["a"]["comments"] == 40
    assert body["b"]["comments"] == 40
    assert "wartezeit" in _terms(body["a"]) and "rechnung" in _terms(body["b"])


async def test_excluded_answers_and_erased_comments_never_appear(
    app_client, tenant, survey_id
) -> None:
    now = datetime.now(UTC).isoformat()
    extra = [
        {
            "survey_id": survey_id,
            "score": 1,
            "comment": "Geheimwort Zebrastreifen",
            "answered_at": now,
        }
        for _ in range(4)
    ]
    erased = [
        {**a, "customer_id": "cus-erase", "comment": "Flamingo Flamingo Flamingo"} for a in extra
    ]
    ids = await post_batch(app_client, tenant, _answers(survey_id) + extra + erased)
    for rid in ids[80:84]:
        r = await app_client.patch(
            f"/v1/responses/{rid}",
            json={"excluded": True, "reason": "test"},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
    assert (
        await app_client.delete("/v1/customers/cus-erase", headers=tenant.headers)
    ).status_code == 200
    body = (
        await app_client.get("/v1/insights/themes?min_comments=1&limit=50", headers=tenant.headers)
    ).json()
    seen = " ".join(_terms(body["a"]) + _terms(body["b"]))
    assert "zebrastreifen" not in seen and "flamingo" not in seen
    assert body["comments"]["total"] == 80  # erased comments are gone, excluded not read


async def test_other_tenants_comments_are_not_read(
    app_client, admin_headers, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, _answers(survey_id))
    other = await make_tenant(app_client, admin_headers)
    r = await app_client.get("/v1/insights/themes", headers=other.headers)
    assert r.status_code == 200
    body = r.json()
    assert (
        body["comments"]["total"] == 0
        and body["a"]["themes"] == []
        and body["prior"]["comments"] == 0
    )
    r = await app_client.get(f"/v1/insights/themes?survey_id={survey_id}", headers=other.headers)
    assert r.json()["comments"]["total"] == 0


async def test_bad_input_is_a_problem_naming_the_field(app_client, tenant) -> None:
    cases = {
        "vs=rest": "segment",
        "vs=everyone": "vs",
        "limit=0": "limit",
        "limit=51": "limit",
        "min_comments=0": "min_comments",
        "from=2026-13-01": "from",
        "segment=team": "segment",
    }
    for query, field in cases.items():
        r = await app_client.get(f"/v1/insights/themes?{query}", headers=tenant.headers)
        assert r.status_code == 422, (query, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field, (query, r.json())
