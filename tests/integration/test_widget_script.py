"""GET /widget.js: one small, dependency-free script, cacheable, its hash in the README."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from api.controllers.widget import WIDGET_VERSION, subresource_integrity

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
VERSIONED = f"/widget/{WIDGET_VERSION}/widget.js"


async def test_versioned_script_is_immutable_and_the_latest_short_lived(app_client) -> None:
    pinned = await app_client.get(VERSIONED)
    latest = await app_client.get("/widget.js")
    assert pinned.status_code == latest.status_code == 200
    assert pinned.content == latest.content
    assert pinned.headers["content-type"].startswith("text/javascript")
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert latest.headers["cache-control"] == "public, max-age=300"
    assert pinned.headers["access-control-allow-origin"] == "*"  # needed by `integrity`


async def test_script_is_under_10_kib_gzipped_and_loads_nothing_else(app_client) -> None:
    body = (await app_client.get(VERSIONED)).content
    assert len(gzip.compress(body, 9)) < 10 * 1024
    text = body.decode()
    assert not re.search(r"\bimport\b|\brequire\(|https?://", text.split("\n", 1)[1])
    assert "Idempotency-Key" in text


async def test_script_needs_no_credential(app_client) -> None:
    r = await app_client.get("/widget.js", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 200


def test_readme_embeds_the_versioned_url_with_the_current_integrity_hash() -> None:
    section = README.split("## On your website", 1)[1]
    assert VERSIONED in section
    assert f'integrity="{subresource_integrity()}"' in section, (
        "README integrity hash is stale: python -c 'from api.controllers.widget import "
        "subresource_integrity as s; print(s())'"
    )
