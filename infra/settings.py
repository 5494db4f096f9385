"""Settings: a frozen struct read once from NPS_* variables and passed down as plain values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    admin_token: str | None = None
    data_dir: str = ".nps-data"
    database_url: str | None = None
    # The restricted role tenant work runs as; unset: created from database_url's role.
    database_app_url: str | None = None
    redis_url: str | None = None
    # "transaction": NPS_DATABASE_URL points at a pooler in transaction mode such as PgBouncer
    # (no statement cache, no startup parameters; see infra/postgres/pool.py).
    database_pooler: Literal["none", "transaction"] = "none"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    db_pool_size: int = 10
    # PostgreSQL: opening a connection or waiting for a pooled one; one statement (the server
    # cancels it, the client gives up on a server that does not answer).
    db_connect_timeout_s: Seconds = 2.0
    db_statement_timeout_s: Seconds = 3.0
    # Redis: connecting and each command; while it is away it is tried again this often.
    redis_timeout_s: Seconds = 0.5
    redis_retry_s: Seconds = 0.5
    # Tenants rebuilt at once after Redis lost its data.
    rebuild_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 2
    ingest_max_rows: int = 1000
    ingest_max_concurrent_flushes: int = 3
    drain_interval_s: float = 1.0
    max_body_bytes: int = 1024 * 1024
    webhook_allow_private: bool = False  # allow targets on private/loopback addresses
    webhook_relay: bool = True  # run the webhook relay in this process
    rate_limits: bool = True  # per key and tenant, and failed authentications per address
    rate_limit_per_key: Positive = 1200  # units (requests, or answers of a batch) per window
    rate_limit_per_tenant: Positive = 3000
    rate_limit_window_s: Positive = 60
    rate_limit_per_address: Positive = 10  # answers per window per address per publishable key
    auth_failure_limit: Positive = 20  # failed authentications per address per window
    auth_failure_window_s: Positive = 300
    trusted_proxy_hops: Annotated[int, msgspec.Meta(ge=0)] = 0  # proxies adding X-Forwarded-For

    @property
    def embedded(self) -> bool:
        """True when neither server URL is set: `nps serve` starts its own."""
        return self.database_url is None and self.redis_url is None

    @property
    def transaction_pooler(self) -> bool:
        return self.database_pooler == "transaction"


_INTS = {
    "port",
    "workers",
    "db_pool_size",
    "ingest_max_rows",
    "ingest_max_concurrent_flushes",
    "rebuild_concurrency",
    "rate_limit_per_key",
    "rate_limit_per_tenant",
    "rate_limit_window_s",
    "rate_limit_per_address",
    "auth_failure_limit",
    "auth_failure_window_s",
    "trusted_proxy_hops",
}
_FLOATS = {
    "drain_interval_s",
    "db_connect_timeout_s",
    "db_statement_timeout_s",
    "redis_timeout_s",
    "redis_retry_s",
}
_BOOLS = {"webhook_allow_private", "webhook_relay", "rate_limits"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(field: str, value: str) -> bool:
    if value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"invalid setting: NPS_{field.upper()} must be 1 or 0, not {value!r}")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read NPS_<FIELD> variables (empty ones count as unset); invalid values raise ValueError."""
    env = os.environ if env is None else env
    raw: dict[str, object] = {}
    for field in Settings.__struct_fields__:
        value = env.get(f"NPS_{field.upper()}", "")
        if value == "":
            continue
        if field in _BOOLS:
            raw[field] = _bool(field, value)
            continue
        raw[field] = int(value) if field in _INTS else float(value) if field in _FLOATS else value
    if isinstance(raw.get("log_level"), str):
        raw["log_level"] = str(raw["log_level"]).lower()
    try:
        return msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid setting: {exc}") from exc
