"""`nps serve`: embedded servers when no URL is set, migrations, first start, granian."""

from __future__ import annotations

import asyncio
import os
import sys

from infra.settings import Settings


async def _prepare(settings: Settings, *, embedded: bool) -> None:
    """Migrate, then on the first start create the admin token (and, embedded, a demo
    tenant); print them."""
    from api.cli import connections, migrate_db
    from infra.bootstrap import first_start, save_credentials

    await migrate_db(settings)
    async with connections(settings) as (pool, redis):
        first = await first_start(pool, redis, settings, demo=embedded)
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"nps-api on {base} — docs: {base}/docs"]
    if first is not None:
        if first.admin_token:
            lines.append(f"admin token (shown once): {first.admin_token}")
        if first.api_key:
            lines += [
                f"demo tenant: {first.tenant_id}",
                f"demo API key (shown once): {first.api_key}",
                f'try: curl -s {base}/v1/nps -H "Authorization: Bearer {first.api_key}"',
            ]
        if embedded:
            path = save_credentials(settings.data_dir, first)
            lines.append(f"(also saved to {path})")
    print("\n".join(lines), flush=True)


def serve(settings: Settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    from api.cli import servers

    with servers(settings) as ready:
        # The workers read their settings from the environment, URLs included.
        os.environ["NPS_DATABASE_URL"] = ready.database_url or ""
        os.environ["NPS_REDIS_URL"] = ready.redis_url or ""
        try:
            asyncio.run(_prepare(ready, embedded=settings.embedded))
        except Exception as exc:
            print(f"nps serve: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        Granian(
            target="api.app:app_from_env",
            factory=True,
            address=ready.host,
            port=ready.port,
            interface=Interfaces.ASGI,
            workers=ready.workers,
            loop=Loops.uvloop,
            log_level=LogLevels.warning,
        ).serve()
    return 0
