"""Every list that can grow pages with `limit` and `cursor`, and a cursor walk sees each item
once: changes, targets and the audit log (the other lists have their own tests)."""

from __future__ import annotations

from tests.conftest import answers_on, post_batch


async def walk(client, url: str, headers: dict[str, str], **query: str) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    cursor = None
    while True:
        params = query | {"limit": 1} | ({"cursor": cursor} if cursor else {})
        r = await client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 1
        ids += [x["id"] for x in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_changes_page_by_effective_date(app_client, tenant) -> None:
    made = []
    for day in ("2026-03-01", "2026-01-01", "2026-02-01", "2026-02-01"):
        r = await app_client.post(
            "/v1/changes", json={"title": day, "effective_on": day}, headers=tenant.headers
        )
        made.append((day, r.json()["id"]))
    assert await walk(app_client, "/v1/changes", tenant.headers) == [i for _, i in sorted(made)]
    later = await walk(app_client, "/v1/changes", tenant.headers, **{"from": "2026-02-01"})
    assert len(later) == 3


async def test_targets_page_in_creation_order(app_client, tenant) -> None:
    made = []
    for segment in ("team:a", "team:b", "team:c"):
        r = await app_client.put(
            "/v1/targets", json={"nps": 40, "segment": segment}, headers=tenant.headers
        )
        made.append(r.json()["id"])
    assert await walk(app_client, "/v1/targets", tenant.headers) == made


async def test_the_audit_log_pages_newest_first(app_client, tenant, survey_id) -> None:
    items = [
        answers_on(survey_id, "2026-11-02", [5])[0] | {"customer_id": f"cus_audit_{i}"}
        for i in range(3)
    ]
    await post_batch(app_client, tenant, items)
    for i in range(3):
        r = await app_client.delete(f"/v1/customers/cus_audit_{i}", headers=tenant.headers)
        assert r.status_code == 200, r.text
    everything = (await app_client.get("/v1/audit", headers=tenant.headers)).json()["data"]
    assert len(everything) == 3
    assert await walk(app_client, "/v1/audit", tenant.headers) == [x["id"] for x in everything]


async def test_a_forged_cursor_is_a_422_naming_it(app_client, tenant) -> None:
    for url in ("/v1/audit", "/v1/changes", "/v1/targets"):
        r = await app_client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=tenant.headers)
        assert r.status_code == 422, url
        assert r.json()["errors"][0]["field"] == "cursor"
