"""Browser channel rules: origins, publishable answers, token signing and segments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.browser import (
    check_origins,
    check_publishable_response,
    restrict_segments,
    sign_token,
    token_claims,
    verify_token,
)
from domain.errors import Forbidden, InvalidInput
from domain.model import CallerKind, Principal, Scope, SegmentFilter, SurveyGrant
from domain.responses import NewResponse

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SECRET = b"s" * 32
SUPPORT = SegmentFilter(dimension="team", value="support")


def issuer() -> Principal:
    return Principal(
        tenant_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        scopes=frozenset({Scope.MANAGE, Scope.RESULTS_READ}),
        timezone="Europe/Berlin",
    )


def claims(ttl: timedelta = timedelta(minutes=10)):  # type: ignore[no-untyped-def]
    return token_claims(
        issuer(),
        scopes=[Scope.RESULTS_READ],
        ttl=ttl,
        origins=["https://a.example"],
        segment=SUPPORT,
        now=NOW,
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example/",
        "https://A.example",
        "*",
        "null",
        "ftp://a.example",
        "https://a.example/x",
    ],
)
def test_only_exact_lowercase_origins_pass(origin: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_origins(["https://ok.example", origin])
    assert err.value.errors[0].field == "origins[1]"


def test_origins_keep_ports_and_ip_literals() -> None:
    ok = ["http://127.0.0.1:8080", "https://[::1]:8443", "https://shop.example"]
    assert check_origins(ok) == tuple(ok)


def test_a_token_verifies_until_it_expires_and_carries_its_claims() -> None:
    c = claims()
    text = sign_token(c, SECRET)
    verified = verify_token(text, SECRET, NOW + timedelta(minutes=9))
    assert verified is not None
    principal = verified.principal()
    assert principal.kind is CallerKind.TOKEN and principal.segment == SUPPORT
    assert principal.scopes == frozenset({Scope.RESULTS_READ})
    assert principal.timezone == "Europe/Berlin"
    assert verify_token(text, SECRET, NOW + timedelta(minutes=10)) is None


def test_a_token_signed_with_another_secret_or_altered_fails() -> None:
    text = sign_token(claims(), SECRET)
    assert verify_token(text, b"t" * 32, NOW) is None
    payload, signature = text.split(".")
    assert verify_token(payload + "x." + signature, SECRET, NOW) is None
    assert verify_token(text + "A", SECRET, NOW) is None
    assert verify_token("nbt_%%%.@@@", SECRET, NOW) is None


@pytest.mark.parametrize("ttl", [timedelta(seconds=29), timedelta(hours=1, seconds=1)])
def test_token_lifetime_is_bounded_to_one_hour(ttl: timedelta) -> None:
    with pytest.raises(InvalidInput):
        claims(ttl)


def test_a_fixed_segment_is_added_and_any_other_value_refused() -> None:
    token = claims().principal()
    region = SegmentFilter(dimension="region", value="emea")
    assert restrict_segments(token, (region,)) == (region, SUPPORT)
    assert restrict_segments(token, (SUPPORT,)) == (SUPPORT,)
    with pytest.raises(Forbidden):
        restrict_segments(token, (SegmentFilter(dimension="team", value="sales"),))


def test_publishable_answers_follow_the_survey_grant() -> None:
    survey = uuid.uuid4()
    key = Principal(
        tenant_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        scopes=frozenset({Scope.RESPONSES_WRITE}),
        timezone="UTC",
        kind=CallerKind.PUBLISHABLE,
        surveys=(SurveyGrant(survey_id=survey, segments=("plan",)),),
    )

    def answer(**kw) -> NewResponse:  # type: ignore[no-untyped-def]
        return NewResponse(survey_id=kw.pop("survey_id", survey), score=7, **kw)

    check_publishable_response(answer(segments={"plan": "pro"}), key)
    for bad in (
        answer(segments={"team": "x"}),
        answer(customer_id="c1"),
        answer(survey_id=uuid.uuid4()),
    ):
        with pytest.raises(Forbidden):
            check_publishable_response(bad, key)
