"""The status machine of SPEC.md: every allowed and every refused transition."""

from __future__ import annotations

from itertools import product

import pytest

from smbridge.domain.status import (
    ACTIVE,
    FINAL,
    FLOW,
    OrderStatus,
    TransitionRefused,
    allowed_targets,
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
    # cancelled from every state before delivered
    (S.NEW, S.CANCELLED),
    (S.IN_ASSEMBLY, S.CANCELLED),
    (S.ASSEMBLED, S.CANCELLED),
    (S.READY, S.CANCELLED),
    (S.HANDED_OVER, S.CANCELLED),
}
PAIRS = list(product(OrderStatus, OrderStatus))
REFUSED = [p for p in PAIRS if p not in ALLOWED]
# The position of each step on the main line, written out from SPEC.md.
RANK = {
    S.NEW: 0,
    S.IN_ASSEMBLY: 1,
    S.ASSEMBLED: 2,
    S.READY: 3,
    S.HANDED_OVER: 4,
    S.DELIVERED: 5,
}


def test_the_table_covers_every_pair() -> None:
    assert len(OrderStatus) == 7
    assert len(ALLOWED) + len(REFUSED) == 49


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed(current: OrderStatus, target: OrderStatus) -> None:
    check_transition(current, target)
    assert target in allowed_targets(current)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, target)
    assert (refused.value.current, refused.value.target) == (current, target)
    assert current.value in str(refused.value)
    assert target.value in str(refused.value)
    assert target not in allowed_targets(current)


@pytest.mark.parametrize("status", [S.DELIVERED, S.CANCELLED])
def test_nothing_leaves_a_final_state(status: OrderStatus) -> None:
    assert allowed_targets(status) == frozenset()


def test_flow_is_the_main_line_in_order() -> None:
    flow, final = FLOW, FINAL
    assert flow == tuple(sorted(RANK, key=RANK.__getitem__))
    assert final == {S.DELIVERED, S.CANCELLED}


@pytest.mark.parametrize(
    ("status", "active"),
    [
        (S.NEW, True),
        (S.IN_ASSEMBLY, True),
        (S.ASSEMBLED, True),
        (S.READY, True),
        (S.HANDED_OVER, True),
        (S.DELIVERED, False),
        (S.CANCELLED, False),
    ],
)
def test_active_means_not_delivered_and_not_cancelled(status: OrderStatus, active: bool) -> None:
    assert is_active(status) is active
    assert (status in ACTIVE) is active  # the set the board's query asks for


@pytest.mark.parametrize(
    ("status", "other"), [(s, o) for s, o in PAIRS if s in RANK and o in RANK and o != S.DELIVERED]
)
def test_is_behind_along_the_main_line(status: OrderStatus, other: OrderStatus) -> None:
    assert is_behind(status, other) is (RANK[status] < RANK[other])


@pytest.mark.parametrize("status", [s for s in OrderStatus if s not in (S.DELIVERED, S.CANCELLED)])
def test_every_active_status_is_behind_both_final_states(status: OrderStatus) -> None:
    assert is_behind(status, S.DELIVERED)
    assert is_behind(status, S.CANCELLED)


@pytest.mark.parametrize("final", [S.DELIVERED, S.CANCELLED])
@pytest.mark.parametrize("other", [s for s in OrderStatus if s not in (S.DELIVERED, S.CANCELLED)])
def test_a_final_state_is_never_behind_an_active_one(
    final: OrderStatus, other: OrderStatus
) -> None:
    assert not is_behind(final, other)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_no_status_is_behind_itself(status: OrderStatus) -> None:
    assert not is_behind(status, status)


def test_the_two_final_states_count_as_behind_each_other() -> None:
    # Documented: "or other is final". Neither may follow the other, so a late
    # hand-over/delivery for a cancelled order reads as "would regress".
    assert is_behind(S.DELIVERED, S.CANCELLED)
    assert is_behind(S.CANCELLED, S.DELIVERED)
