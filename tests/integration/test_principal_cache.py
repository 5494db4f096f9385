"""The per-process key cache: only the exact token hits, and eviction or age ends a hit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from domain.keys import format_key, new_secret, parse_key
from domain.model import Principal, Scope
from infra.principal_cache import RedisPrincipalCache
from tests.conftest import redis_client


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    r = redis_client(redis_url)
    yield r
    await r.aclose()


def _key() -> tuple[str, Principal]:
    tenant_id, key_id = uuid.uuid4(), uuid.uuid4()
    token = format_key(tenant_id=tenant_id, key_id=key_id, secret=new_secret())
    principal = Principal(
        tenant_id=tenant_id, key_id=key_id, scopes=frozenset({Scope.MANAGE}), timezone="UTC"
    )
    return token, principal


def _put(cache: RedisPrincipalCache, token: str, principal: Principal) -> None:
    parsed = parse_key(token)
    assert parsed is not None
    cache.put(token, parsed, principal)


async def test_only_the_exact_token_hits_until_evicted(redis) -> None:
    cache = RedisPrincipalCache(redis)
    token, principal = _key()
    other, other_principal = _key()
    _put(cache, token, principal)
    _put(cache, other, other_principal)
    assert cache.get(token) == principal
    assert cache.get(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # same key id
    assert cache.get(token + "x") is None
    await cache.revoked(tenant_id=principal.tenant_id, key_id=principal.key_id)
    assert cache.get(token) is None
    assert cache.get(other) == other_principal


async def test_a_new_secret_for_a_key_replaces_the_old_entry(redis) -> None:
    cache = RedisPrincipalCache(redis)
    token, principal = _key()
    _put(cache, token, principal)
    rotated = token.rsplit("_", 1)[0] + "_" + new_secret()
    _put(cache, rotated, principal)
    assert cache.get(token) is None and cache.get(rotated) == principal
    cache.evict(principal.tenant_id, principal.key_id)
    assert cache.get(rotated) is None


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_entries_expire(redis) -> None:
    clock = Clock()
    cache = RedisPrincipalCache(redis, ttl=0.05, clock=clock)
    token, principal = _key()
    _put(cache, token, principal)
    assert cache.get(token) == principal
    clock.now += 0.05
    assert cache.get(token) == principal  # until the TTL has fully passed
    clock.now += 0.01
    assert cache.get(token) is None


async def test_a_revoked_issuer_is_no_longer_live_for_its_tokens(redis) -> None:
    cache = RedisPrincipalCache(redis)
    tenant_id, key_id = uuid.uuid4(), uuid.uuid4()
    assert not cache.issuer_live(tenant_id, key_id)
    cache.mark_issuer_live(tenant_id, key_id)
    assert cache.issuer_live(tenant_id, key_id)
    await cache.revoked(tenant_id=tenant_id, key_id=key_id)
    assert not cache.issuer_live(tenant_id, key_id)
    clock = Clock()
    short = RedisPrincipalCache(redis, ttl=0.01, clock=clock)
    short.mark_issuer_live(tenant_id, key_id)
    assert short.issuer_live(tenant_id, key_id)
    clock.now += 0.02
    assert not short.issuer_live(tenant_id, key_id)
