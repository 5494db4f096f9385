"""Web pages that embed the survey widget, served from their own loopback origins."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from api.controllers.widget import WIDGET_VERSION, subresource_integrity
from tests.live_server import LiveServer, free_port


@dataclass
class Site:
    """A web server on its own origin (http://127.0.0.1:<port>) serving `pages` by path."""

    origin: str
    pages: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def serve_site() -> Iterator[Site]:
    port = free_port()
    site = Site(origin=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = site.pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def shop_page(
    api: str, *, key: str, survey: str, lang: str, extra: str = "", texts: str = ""
) -> str:
    """A small, accessible shop page with the embed snippet of the README."""
    attrs = {
        "src": f"{api}/widget/{WIDGET_VERSION}/widget.js",
        "integrity": subresource_integrity(),
        "crossorigin": "anonymous",
        "data-key": key,
        "data-survey": survey,
        "data-lang": lang,
    }
    if texts:
        attrs["data-texts"] = texts
    tag = " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items())
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Shop</title></head><body><main><h1>Shop</h1>"
        "<p>Thanks for your order.</p></main>"
        f"{extra}<script {tag} async></script></body></html>"
    )


@dataclass(frozen=True)
class Tenant:
    secret: dict[str, str]  # headers with the secret key
    survey: str
    publishable: str


def tenant_with_widget(server: LiveServer, origins: list[str]) -> Tenant:
    """A tenant, a survey and a publishable key for `origins` (segment `plan` allowed)."""
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        t = c.post("/v1/admin/tenants", json={"name": "Shop"}, headers=server.admin_headers)
        key = c.post(
            f"/v1/admin/tenants/{t.json()['id']}/keys",
            json={"name": "server", "scopes": ["responses:write", "results:read", "manage"]},
            headers=server.admin_headers,
        ).json()["key"]
        secret = {"Authorization": f"Bearer {key}"}
        survey = c.post(
            "/v1/surveys", json={"name": "Checkout", "kind": "transactional"}, headers=secret
        ).json()["id"]
        pk = c.post(
            "/v1/keys",
            json={
                "name": "shop",
                "kind": "publishable",
                "origins": origins,
                "surveys": [{"survey_id": survey, "segments": ["plan"], "customer_id": True}],
            },
            headers=secret,
        )
        assert pk.status_code == 201, pk.text
    return Tenant(secret=secret, survey=survey, publishable=pk.json()["key"])


async def stored_answers(server: LiveServer, tenant: Tenant) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as c:
        r = await c.get("/v1/responses", headers=tenant.secret)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def counted(server: LiveServer, tenant: Tenant, expected: int, wait_s: float = 10) -> int:
    """The NPS total, polled until it reaches `expected` (counters apply within a moment)."""
    deadline = time.monotonic() + wait_s
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as c:
        while True:
            total = int((await c.get("/v1/nps", headers=tenant.secret)).json()["total"])
            if total >= expected or time.monotonic() > deadline:
                return total
            await asyncio.sleep(0.2)


def axe_results_summary(results: dict[str, object]) -> str:
    violations = results.get("violations") or []
    assert isinstance(violations, list)
    return json.dumps(
        [{"id": v["id"], "nodes": [n["html"] for n in v["nodes"]]} for v in violations], indent=1
    )
