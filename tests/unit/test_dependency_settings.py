"""Dependency time limits are settings with documented defaults, and nonsense is refused."""

from __future__ import annotations

import pytest

from infra.settings import Settings, load_settings


def test_time_limits_have_their_documented_defaults() -> None:
    s = Settings()
    assert (s.db_connect_timeout_s, s.db_statement_timeout_s) == (2.0, 3.0)
    assert (s.redis_timeout_s, s.redis_retry_s, s.rebuild_concurrency) == (0.5, 0.5, 2)


def test_time_limits_are_read_from_the_environment() -> None:
    s = load_settings(
        {
            "NPS_DB_CONNECT_TIMEOUT_S": "1.5",
            "NPS_DB_STATEMENT_TIMEOUT_S": "10",
            "NPS_REDIS_TIMEOUT_S": "0.2",
            "NPS_REDIS_RETRY_S": "2",
            "NPS_REBUILD_CONCURRENCY": "4",
        }
    )
    assert (s.db_connect_timeout_s, s.db_statement_timeout_s, s.redis_timeout_s) == (1.5, 10, 0.2)
    assert (s.redis_retry_s, s.rebuild_concurrency) == (2.0, 4)


@pytest.mark.parametrize(
    "name, value",
    [
        ("NPS_DB_STATEMENT_TIMEOUT_S", "0"),
        ("NPS_DB_CONNECT_TIMEOUT_S", "-1"),
        ("NPS_REDIS_TIMEOUT_S", "0"),
        ("NPS_REBUILD_CONCURRENCY", "0"),
    ],
)
def test_a_time_limit_that_would_disable_the_bound_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="invalid setting"):
        load_settings({name: value})
