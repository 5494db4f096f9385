"""Follow-up case rules: transitions, their times, and the stats arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import Conflict, InvalidInput
from domain.followups import (
    TRANSITIONS,
    Case,
    CaseTimes,
    CaseUpdate,
    Recovery,
    Status,
    apply_update,
    case_stats,
    validate_settings,
)
from domain.nps import Category

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _case(status: Status = Status.OPEN, **extra: object) -> Case:
    fields: dict[str, object] = {
        "id": uuid4(),
        "response_id": uuid4(),
        "survey_id": uuid4(),
        "customer_id": "c",
        "score": 2,
        "comment": None,
        "segments": {},
        "status": status,
        "owner": None,
        "due_at": T0 + timedelta(hours=48),
        "first_contact_at": None,
        "closed_at": None,
        "resolution": None,
        "notes": [],
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(extra)
    return Case(**fields)  # type: ignore[arg-type]


def test_every_status_can_be_left_and_reached() -> None:
    assert set(TRANSITIONS) == set(Status)
    reachable = {s for targets in TRANSITIONS.values() for s in targets}
    assert reachable == set(Status)


def test_first_contact_is_stamped_once() -> None:
    now = T0 + timedelta(hours=3)
    change = apply_update(_case(), CaseUpdate(status=Status.IN_PROGRESS), now)
    assert change.first_contact_at == now
    earlier = _case(Status.CLOSED, first_contact_at=T0, closed_at=T0, resolution="x")
    reopened = apply_update(earlier, CaseUpdate(status=Status.OPEN), now)
    assert reopened.first_contact_at == T0 and reopened.closed_at is None
    assert reopened.resolution is None


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [(Status.IN_PROGRESS, Status.OPEN, "closed"), (Status.CLOSED, Status.IN_PROGRESS, "open")],
)
def test_illegal_moves_name_the_allowed_ones(start: Status, target: Status, allowed: str) -> None:
    with pytest.raises(Conflict, match=f"allowed: {allowed}$"):
        apply_update(_case(start, resolution="r"), CaseUpdate(status=target), T0)


def test_closing_needs_a_resolution_and_stamps_the_time() -> None:
    with pytest.raises(InvalidInput, match="resolution"):
        apply_update(_case(), CaseUpdate(status=Status.CLOSED), T0)
    with pytest.raises(InvalidInput, match="resolution"):
        apply_update(_case(), CaseUpdate(resolution="without closing"), T0)
    done = apply_update(_case(), CaseUpdate(status=Status.CLOSED, resolution="refund"), T0)
    assert done.closed_at == T0 and done.resolution == "refund"


def test_owner_alone_changes_nothing_else() -> None:
    change = apply_update(_case(), CaseUpdate(owner="ana"), T0)
    assert change.owner == "ana" and change.status is Status.OPEN
    assert apply_update(_case(owner="ana"), CaseUpdate(owner=None), T0).owner is None


def test_stats_take_medians_of_hours_and_count_states() -> None:
    def times(status: Status, contact_h: float | None, close_h: float | None) -> CaseTimes:
        return CaseTimes(
            status=status,
            overdue=status is not Status.CLOSED,
            created_at=T0,
            first_contact_at=None if contact_h is None else T0 + timedelta(hours=contact_h),
            closed_at=None if close_h is None else T0 + timedelta(hours=close_h),
        )

    cases = [
        times(Status.CLOSED, 1, 10),
        times(Status.CLOSED, 3, 30),
        times(Status.IN_PROGRESS, 8, None),
        times(Status.OPEN, None, None),
    ]
    recovery = Recovery(customers=2, answered_again=2, promoters=1, passives=1, detractors=0)
    s = case_stats(T0.date(), T0.date(), cases, recovery)
    assert (s.opened, s.open, s.in_progress, s.closed, s.overdue) == (4, 1, 1, 2, 2)
    assert s.median_hours_to_first_contact == 3.0  # median of 1, 3, 8
    assert s.median_hours_to_close == 20.0  # median of 10, 30
    assert s.recovery.promoters_pct == 50.0
    empty = case_stats(
        T0.date(),
        T0.date(),
        [],
        Recovery(
            **dict.fromkeys(
                ("customers", "answered_again", "promoters", "passives", "detractors"), 0
            )
        ),
    )
    assert empty.median_hours_to_close is None and empty.recovery.promoters_pct is None


def test_settings_rules() -> None:
    validate_settings([Category.DETRACTOR, Category.PASSIVE], 1)
    with pytest.raises(InvalidInput, match="followup_categories"):
        validate_settings([Category.DETRACTOR, Category.DETRACTOR], None)
    with pytest.raises(InvalidInput, match="followup_sla_hours"):
        validate_settings(None, 0)
