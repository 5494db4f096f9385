"""The embeddable survey widget: one static script, at a moving and a versioned URL."""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

from litestar import Controller, Response, get

WIDGET_VERSION = "1.0.0"
SCRIPT = Path(__file__).resolve().parent.parent / "static" / "widget.js"
JAVASCRIPT = "text/javascript"  # Litestar adds "; charset=utf-8" to text types


@functools.cache
def widget_source() -> bytes:
    return SCRIPT.read_bytes()


def subresource_integrity() -> str:
    """The `integrity` attribute of the versioned script (SHA-384, as browsers check it)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(widget_source()).digest()).decode()


def _script(cache_control: str) -> Response[bytes]:
    # `*` is right for this public file (no credentials): a page that checks the hash with
    # `integrity` fetches the script in CORS mode.
    return Response(
        widget_source(),
        media_type=JAVASCRIPT,
        headers={
            "Cache-Control": cache_control,
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


class WidgetController(Controller):
    tags = ["widget"]

    @get(
        f"/widget/{WIDGET_VERSION}/widget.js",
        operation_id="getWidgetVersioned",
        summary="The survey widget script at its versioned, immutable URL",
        description="Cached for a year: use it with the `integrity` hash from the README.",
        media_type=JAVASCRIPT,
    )
    async def versioned(self) -> Response[bytes]:
        return _script("public, max-age=31536000, immutable")

    @get(
        "/widget.js",
        operation_id="getWidget",
        summary="The survey widget script, latest version",
        description="Cached for five minutes; the versioned URL is better for production.",
        media_type=JAVASCRIPT,
    )
    async def latest(self) -> Response[bytes]:
        return _script("public, max-age=300")
