"""HTTP conventions: ETag and 304 on reads, Cache-Control on results, Location on 201."""

from __future__ import annotations

from tests.conftest import answers_on, post_batch


async def test_results_carry_an_etag_and_answer_304_while_it_is_current(
    app_client, tenant, survey_id
) -> None:
    await post_batch(app_client, tenant, answers_on(survey_id, "2026-11-02", [10, 9, 3], team="a"))
    for url in [
        "/v1/nps?from=2026-11-01&to=2026-11-30",
        "/v1/nps/breakdown?dimension=team&from=2026-11-01&to=2026-11-30",
        "/v1/nps/trend?from=2026-11-01&to=2026-11-30",
        "/v1/nps/compare?a_from=2026-11-01&a_to=2026-11-15&b_from=2026-11-16&b_to=2026-11-30",
        "/v1/nps/sample-size",
    ]:
        first = await app_client.get(url, headers=tenant.headers)
        assert first.status_code == 200, url
        etag = first.headers["etag"]
        assert etag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
        again = await app_client.get(url, headers=tenant.headers | {"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.content == b"" and again.headers["etag"] == etag
        assert again.headers["cache-control"] == "private, no-cache"
        assert "x-request-id" in again.headers
        other = await app_client.get(url, headers=tenant.headers | {"If-None-Match": 'W/"0"'})
        assert other.status_code == 200 and other.content == first.content


async def test_a_new_answer_changes_the_etag_of_the_result(app_client, tenant, survey_id) -> None:
    await post_batch(app_client, tenant, answers_on(survey_id, "2026-11-02", [10]))
    url = "/v1/nps?from=2026-11-01&to=2026-11-30"
    before = (await app_client.get(url, headers=tenant.headers)).headers["etag"]
    await post_batch(app_client, tenant, answers_on(survey_id, "2026-11-03", [0]))
    after = await app_client.get(url, headers=tenant.headers | {"If-None-Match": before})
    assert after.status_code == 200 and after.json()["total"] == 2
    assert after.headers["etag"] != before


async def test_single_resources_and_lists_answer_304_with_a_matching_tag(
    app_client, tenant, survey_id
) -> None:
    [answer] = await post_batch(app_client, tenant, answers_on(survey_id, "2026-11-02", [2]))
    for url in [f"/v1/surveys/{survey_id}", f"/v1/responses/{answer}", "/v1/surveys"]:
        first = await app_client.get(url, headers=tenant.headers)
        tag = first.headers["etag"]
        listed = f'"x", {tag.removeprefix("W/")}'  # a list, and the strong form: weak match
        again = await app_client.get(url, headers=tenant.headers | {"If-None-Match": listed})
        assert again.status_code == 304, url
        star = await app_client.get(url, headers=tenant.headers | {"If-None-Match": "*"})
        assert star.status_code == 304, url


async def test_a_changed_resource_gets_a_new_tag(app_client, tenant, survey_id) -> None:
    url = f"/v1/surveys/{survey_id}"
    tag = (await app_client.get(url, headers=tenant.headers)).headers["etag"]
    r = await app_client.patch(url, json={"name": "Renamed"}, headers=tenant.headers)
    assert r.status_code == 200
    after = await app_client.get(url, headers=tenant.headers | {"If-None-Match": tag})
    assert after.status_code == 200 and after.json()["name"] == "Renamed"


async def test_the_tag_is_the_same_for_gzip_and_identity(app_client, tenant, survey_id) -> None:
    items = answers_on(survey_id, "2026-11-02", [9] * 60)
    await post_batch(app_client, tenant, items)
    url = "/v1/responses?limit=60"
    plain = await app_client.get(url, headers=tenant.headers | {"Accept-Encoding": "identity"})
    zipped = await app_client.get(url, headers=tenant.headers | {"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.headers["etag"] == plain.headers["etag"]
    assert len(plain.content) > 4096  # compressed (the threshold), and so decoded here
    again = await app_client.get(
        url, headers=tenant.headers | {"If-None-Match": plain.headers["etag"]}
    )
    assert again.status_code == 304


async def test_errors_and_writes_carry_no_etag(app_client, tenant) -> None:
    missing = await app_client.get(
        "/v1/surveys/00000000-0000-0000-0000-000000000000", headers=tenant.headers
    )
    assert missing.status_code == 404 and "etag" not in missing.headers
    created = await app_client.post(
        "/v1/surveys", json={"name": "N", "kind": "relational"}, headers=tenant.headers
    )
    assert created.status_code == 201 and "etag" not in created.headers


async def test_every_201_says_where_a_get_reads_what_was_created(
    app_client, tenant, survey_id
) -> None:
    posts = [
        ("/v1/surveys", {"name": "Onboarding", "kind": "transactional"}),
        ("/v1/changes", {"title": "New rota", "effective_on": "2026-05-15"}),
        ("/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["response.created"]}),
        ("/v1/responses", {"survey_id": survey_id, "score": 7}),
    ]
    for url, body in posts:
        r = await app_client.post(url, json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"{url}/{r.json()['id']}"
        read = await app_client.get(r.headers["location"], headers=tenant.headers)
        assert read.status_code == 200 and read.json()["id"] == r.json()["id"]


async def test_a_replayed_201_repeats_its_location_and_a_known_answer_has_none(
    app_client, tenant, survey_id
) -> None:
    body = {"survey_id": survey_id, "score": 9, "external_id": "ext-location-1"}
    key = tenant.headers | {"Idempotency-Key": "loc-1"}
    first = await app_client.post("/v1/responses", json=body, headers=key)
    replay = await app_client.post("/v1/responses", json=body, headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == first.headers["location"]
    known = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
    assert known.status_code == 200 and "location" not in known.headers


async def test_exports_are_labelled_with_their_format(app_client, tenant, survey_id) -> None:
    await post_batch(app_client, tenant, answers_on(survey_id, "2026-11-02", [6]))
    url = "/v1/responses/export"
    ndjson = await app_client.get(url, params={"format": "ndjson"}, headers=tenant.headers)
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    csv = await app_client.get(url, headers=tenant.headers)
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert "etag" not in ndjson.headers and "etag" not in csv.headers  # streams: no tag
