"""The status machine of SPEC.md: every allowed and every refused transition."""

from __future__ import annotations

from itertools import product

import pytest

from smbridge.domain.status import (
    OrderStatus,
    TransitionRefused,
    check_transition,
    is_active,
    is_behind,
)

S = OrderStatus
# Written out from SPEC.md "Statuses", independently of the code under test.
ALLOWED = {
    (S.NEW, S.IN_ASSEMBLY),
    (S.IN_ASSEMBLY, S.ASSEMBLED),
    (S.ASSEMBLED, S.READY),
    (S.READY, S.HANDED_OVER),
    (S.HANDED_OVER, S.DELIVERED),
    (S.READY, S.DELIVERED),  # SM may report delivery before the hand-over
    (S.NEW, S.CANCELLED),
    (S.IN_ASSEMBLY, S.CANCELLED),
    (S.ASSEMBLED, S.CANCELLED),
    (S.READY, S.CANCELLED),
    (S.HANDED_OVER, S.CANCELLED),
}
PAIRS = list(product(OrderStatus, OrderStatus))


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed(current: OrderStatus, target: OrderStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p not in ALLOWED])
def test_refused(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, target)
    assert (refused.value.current, refused.value.target) == (current, target)
    assert current.value in str(refused.value)


def test_active_means_not_delivered_and_not_cancelled() -> None:
    assert {s for s in OrderStatus if not is_active(s)} == {S.DELIVERED, S.CANCELLED}


@pytest.mark.parametrize(
    ("status", "other", "behind"),
    [
        (S.NEW, S.IN_ASSEMBLY, True),
        (S.IN_ASSEMBLY, S.NEW, False),
        (S.READY, S.DELIVERED, True),
        (S.HANDED_OVER, S.HANDED_OVER, False),
        (S.HANDED_OVER, S.CANCELLED, True),
        (S.CANCELLED, S.CANCELLED, False),
        (S.CANCELLED, S.NEW, False),
    ],
)
def test_is_behind(status: OrderStatus, other: OrderStatus, behind: bool) -> None:
    assert is_behind(status, other) is behind
