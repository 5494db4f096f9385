"""`nps serve`: embedded servers when no URL is set, migrations, first start, granian."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

from infra.settings import Settings

# prometheus_client chooses its multi-process mode when it is first imported: this is set
# before anything imports infra.metrics (the workers inherit it).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


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


@contextlib.contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    """Several workers: each writes its metrics under PROMETHEUS_MULTIPROC_DIR (a temporary
    directory unless the operator names one), set before any process imports the library."""
    given = os.environ.get(MULTIPROC_ENV)
    if workers <= 1 and not given:
        yield
        return
    with contextlib.ExitStack() as stack:
        path = given or stack.enter_context(tempfile.TemporaryDirectory(prefix="nps-metrics-"))
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):  # values of an earlier run must not be summed in
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
        os.environ[MULTIPROC_ENV] = path
        yield


def serve(settings: Settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    from api.cli import servers

    with servers(settings) as ready, metrics_directory(ready.workers):
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
