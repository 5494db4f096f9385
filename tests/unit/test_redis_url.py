"""The Redis URL's scheme chooses one server or a cluster, with its seeds and credentials."""

from __future__ import annotations

import pytest

from infra.redis.client import ClusterUrl, parse_cluster_url


def test_a_one_server_url_is_no_cluster() -> None:
    assert parse_cluster_url("redis://cache:6379/0") is None
    assert parse_cluster_url("unix:///run/redis.sock") is None


def test_a_cluster_url_names_every_seed_and_the_credentials() -> None:
    assert parse_cluster_url("rediss+cluster://nps:s%40cret@10.0.0.1:7000,[::1]:7001/") == (
        ClusterUrl(
            nodes=(("10.0.0.1", 7000), ("::1", 7001)),
            username="nps",
            password="s@cret",
            ssl=True,
        )
    )
    assert parse_cluster_url("redis+cluster://a:1") == ClusterUrl(nodes=(("a", 1),))


def test_a_seed_without_a_port_is_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_cluster_url("redis+cluster://a:1,b")
