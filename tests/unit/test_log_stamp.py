"""The access log's time stamp is structlog's ISO UTC stamp, character for character."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest
from structlog.processors import TimeStamper

from api.logging import UtcTimeStamper

INSTANTS = [
    datetime(2026, 12, 1, 18, 0, 0, 0, tzinfo=UTC),  # no fraction: isoformat leaves it out
    datetime(2026, 12, 1, 18, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 12, 1, 18, 0, 0, 999_999, tzinfo=UTC),
    datetime(2026, 12, 1, 18, 0, 1, 500_000, tzinfo=UTC),  # the next second: a new prefix
    datetime(2026, 12, 31, 23, 59, 59, 123_456, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 0, 42, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
def test_stamp_matches_structlogs_iso_utc_stamp(instant: datetime) -> None:
    ns = (int(instant.timestamp()) * 1_000_000 + instant.microsecond) * 1000 + 999
    ours = UtcTimeStamper()
    ours({}, "info", {})  # a prefix of another second is cached already
    with (
        mock.patch("api.logging.time.time_ns", return_value=ns),
        mock.patch("structlog.processors.datetime.datetime") as clock,
    ):
        clock.now.return_value = instant
        theirs = TimeStamper(fmt="iso", utc=True)(None, "info", {})["timestamp"]
        assert ours(None, "info", {})["timestamp"] == theirs
        assert ours(None, "info", {})["timestamp"] == theirs  # the cached prefix too


def test_stamp_follows_the_clock_across_seconds() -> None:
    ours = UtcTimeStamper()
    stamps = []
    for second in (1_700_000_000, 1_700_000_001, 1_700_000_001, 1_700_003_600):
        with mock.patch("api.logging.time.time_ns", return_value=second * 10**9 + 250_000_000):
            stamps.append(ours(None, "info", {})["timestamp"])
    assert stamps == [
        "2023-11-14T22:13:20.250000Z",
        "2023-11-14T22:13:21.250000Z",
        "2023-11-14T22:13:21.250000Z",
        "2023-11-14T23:13:20.250000Z",
    ]
