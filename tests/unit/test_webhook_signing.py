"""Standard Webhooks v1 signing, rotation, retry schedule and target URL rules."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from domain.errors import InvalidInput
from domain.webhook_signing import (
    JITTER,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    RETRY_DELAYS,
    address_allowed,
    check_url,
    new_secret,
    next_delay,
    retry_delay,
    sign,
    signature_header,
    verify,
)

VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": b'{"test": 2432232314}',
}


def test_signature_matches_the_published_test_vector() -> None:
    got = sign(
        VECTOR["secret"],  # type: ignore[arg-type]
        msg_id=VECTOR["msg_id"],  # type: ignore[arg-type]
        timestamp=VECTOR["timestamp"],  # type: ignore[arg-type]
        body=VECTOR["body"],  # type: ignore[arg-type]
    )
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_during_rotation_both_secrets_verify_and_a_third_does_not() -> None:
    old, new, other = new_secret(), new_secret(), new_secret()
    args = {"msg_id": "msg_1", "timestamp": 1700000000, "body": b'{"a":1}'}
    header = signature_header([new, old], **args)  # type: ignore[arg-type]
    assert len(header.split(" ")) == 2 and all(s.startswith("v1,") for s in header.split(" "))
    assert verify(new, header=header, **args)  # type: ignore[arg-type]
    assert verify(old, header=header, **args)  # type: ignore[arg-type]
    assert not verify(other, header=header, **args)  # type: ignore[arg-type]
    tampered = {**args, "body": b'{"a":2}'}
    assert not verify(new, header=header, **tampered)  # type: ignore[arg-type]


def test_new_secret_is_whsec_and_base64_of_32_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_schedule_has_at_least_eight_attempts_over_about_a_day() -> None:
    assert MAX_ATTEMPTS >= 8
    total = sum(RETRY_DELAYS, timedelta())
    assert timedelta(hours=20) <= total <= timedelta(hours=28)
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)
    assert retry_delay(MAX_ATTEMPTS, rand=lambda: 0.5) is None
    assert retry_delay(0, rand=lambda: 0.5) is None


@pytest.mark.parametrize("failed", range(1, MAX_ATTEMPTS))
def test_jitter_stays_within_twenty_percent(failed: int) -> None:
    base = RETRY_DELAYS[failed - 1]
    low = retry_delay(failed, rand=lambda: 0.0)
    high = retry_delay(failed, rand=lambda: 0.999999)
    mid = retry_delay(failed, rand=lambda: 0.5)
    assert low is not None and high is not None
    assert low == base * (1 - JITTER)
    assert base * (1 + JITTER) * 0.9999 < high <= base * (1 + JITTER)
    assert mid == base


def test_retry_after_is_honoured_but_capped() -> None:
    later = next_delay(1, retry_after=timedelta(seconds=120), rand=lambda: 0.5)
    assert later == timedelta(seconds=120)
    sooner = next_delay(3, retry_after=timedelta(seconds=1), rand=lambda: 0.5)
    assert sooner == RETRY_DELAYS[2]
    huge = next_delay(1, retry_after=timedelta(days=30), rand=lambda: 0.5)
    assert huge == MAX_RETRY_AFTER
    assert next_delay(MAX_ATTEMPTS, retry_after=timedelta(seconds=5), rand=lambda: 0.5) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https:///hook",
        "https://example.com/hook#frag",
        "https://exa mple.com/",
        "https://example.com/\r\nX-Injected: 1",
        "https://example.com:99999/",
        "example.com/hook",
        "https://bücher.example/hook",
        "https://example.com/ü",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_bad_urls_are_refused_naming_url(url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_url(url)
    assert [e.field for e in info.value.errors] == ["url"]


def test_good_url_gives_host_and_default_port() -> None:
    assert check_url("https://hooks.example.com/nps?x=1") == ("hooks.example.com", 443)
    assert check_url("http://hooks.example.com:8080/") == ("hooks.example.com", 8080)
    assert check_url("http://[2001:db8::1]/") == ("2001:db8::1", 80)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "not-an-ip",
    ],
)
def test_private_loopback_link_local_addresses_are_not_allowed(address: str) -> None:
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address)
