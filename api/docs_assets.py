"""Swagger UI for /docs, served by the service itself (no CDN): the docs work offline.

The files come from the swagger-ui-bundle-v2 package, pinned by requirements.lock; their
URLs carry Swagger UI's version, so a browser may keep them until the version changes.
"""

from __future__ import annotations

import functools
import hashlib

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from swagger_ui_bundle import swagger_ui_path

SWAGGER_UI_VERSION = swagger_ui_path.name.removeprefix("swagger-ui-")
ASSETS_PATH = f"/docs/assets/swagger-ui-{SWAGGER_UI_VERSION}"
_MEDIA_TYPES = {
    # Litestar adds "; charset=utf-8" to text types
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def swagger_plugin() -> SwaggerRenderPlugin:
    """Swagger UI at /docs with every asset from ASSETS_PATH."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        path="/",
    )


@functools.cache
def _asset(name: str) -> tuple[bytes, str]:
    body = (swagger_ui_path / name).read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def swagger_asset(name: FromPath[str]) -> Response[bytes]:
    """One of the few files the docs page loads; anything else is a 404."""
    media_type = _MEDIA_TYPES.get(name)
    if media_type is None:
        raise NotFoundException("not found")
    body, etag = _asset(name)
    return Response(
        body,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag},
    )
