"""Fixtures of the webhook tests: a receiver on 127.0.0.1 and a pool for relays."""

from __future__ import annotations

import uuid

import pytest

from infra.postgres.pool import create_pool
from tests.conftest import POOLED
from tests.integration.webhooks_support import Receiver


@pytest.fixture
async def receiver():  # type: ignore[no-untyped-def]
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def relay_pool(database_url, tenant):  # type: ignore[no-untyped-def]
    """A pool for the relay; the test's endpoints are disabled afterwards (ports get reused)."""
    p = await create_pool(database_url, size=6, transaction_pooler=POOLED)
    yield p
    await p.execute(
        "UPDATE webhook_endpoints SET enabled = false WHERE tenant_id = $1", uuid.UUID(tenant.id)
    )
    await p.close()
