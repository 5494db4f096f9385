"""The docs page names no outside address; the service serves Swagger UI's files itself."""

from __future__ import annotations

import re

from api.docs_assets import ASSETS_PATH, SWAGGER_UI_VERSION


async def test_docs_page_loads_only_assets_of_the_service(app_client) -> None:
    page = await app_client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(urls) == 4  # bundle, preset, stylesheet, icon
    assert all(u.startswith(ASSETS_PATH + "/") for u in urls), urls
    for url in urls:
        asset = await app_client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(asset.content) > 500


async def test_swagger_ui_is_a_version_that_renders_openapi_3_1(app_client) -> None:
    major, minor = (int(x) for x in SWAGGER_UI_VERSION.split(".")[:2])
    assert (major, minor) >= (5, 0)
    bundle = await app_client.get(f"{ASSETS_PATH}/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    css = await app_client.get(f"{ASSETS_PATH}/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")


async def test_only_the_docs_files_are_served(app_client) -> None:
    for name in ("index.html", "swagger-initializer.js", "..%2F..%2F__init__.py"):
        assert (await app_client.get(f"{ASSETS_PATH}/{name}")).status_code == 404
