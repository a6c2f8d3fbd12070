"""The assembly API's use cases on fakes: a picker's day, refusals, and replayed requestIds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smbridge.assembly.errors import Conflict, Forbidden, InvalidRequest, NotFound
from smbridge.assembly.repository import ApiTokenRepository
from smbridge.assembly.service import RecentTokens, token_hash
from smbridge.domain.status import OrderStatus
from tests.factories import add_store
from tests.support.clock import FrozenClock
from tests.support.fakes import FakeDatabase
from tests.support.shop import NUMBER, PICK_ALL, Shop, store_id

FakeShop = Shop[FakeDatabase]


def queued(shop: FakeShop) -> list[str]:
    """The types of the notifications to SM committed so far, oldest first."""
    return [n.type for n in shop.db.committed.notifications]


@pytest.fixture
def shop(db: FakeDatabase, clock: FrozenClock) -> FakeShop:
    return Shop(db, clock)


def test_an_open_shift_is_stored_and_cannot_be_opened_twice(shop: FakeShop) -> None:
    shift = shop.call("openShift", pickerId=shop.picker.id)

    assert shift["pickerId"] == shop.picker.id
    assert shift["closedAt"] is None
    assert [s.picker_id for s in shop.db.committed.shifts] == [shop.picker.id]
    with pytest.raises(Conflict) as refused:
        shop.call("openShift", pickerId=shop.picker.id)
    assert refused.value.code == "shift_already_open"


def test_a_picker_off_shift_cannot_take_an_order(shop: FakeShop) -> None:
    with pytest.raises(Conflict) as refused:
        shop.take()
    assert refused.value.code == "no_open_shift"
    assert shop.db.committed.orders[0].status is OrderStatus.NEW


def test_taking_an_order_puts_it_in_assembly_and_tells_sm(shop: FakeShop) -> None:
    card = shop.on_shift().take()

    assert (card["status"], card["pickerId"]) == (OrderStatus.IN_ASSEMBLY, shop.picker.id)
    assert shop.db.committed.orders[0].status is OrderStatus.IN_ASSEMBLY
    assert queued(shop) == ["order.accepted", "order.in_work"]


def test_a_whole_assembly_ends_with_final_contents_queued_for_sm(shop: FakeShop) -> None:
    shop.on_shift().take()
    for pick in PICK_ALL:
        shop.call("recordPick", **pick)

    card = shop.call("finishAssembly", orderNumber=NUMBER, bags=2)

    assert (card["status"], card["bags"]) == (OrderStatus.READY, 2)
    assert [p["pickedQuantity"] for p in card["positions"]] == ["2", "1"]
    assert queued(shop) == [
        "order.accepted",
        "order.in_work",
        "order.assembled",
        "order.ready_for_delivery",
    ]
    ready = shop.db.committed.notifications[-1]
    assert ready.sm_order_id == "H1234567890"


def test_finishing_a_new_order_is_the_wrong_status_and_changes_nothing(
    shop: FakeShop,
) -> None:
    with pytest.raises(Conflict) as refused:
        shop.call("finishAssembly", orderNumber=NUMBER, bags=1)

    assert refused.value.code == "wrong_status"
    assert shop.db.committed.orders[0].status is OrderStatus.NEW
    assert queued(shop) == ["order.accepted"]


def test_a_weighed_line_picked_without_its_weight_is_refused(shop: FakeShop) -> None:
    shop.on_shift().take()
    with pytest.raises(InvalidRequest) as refused:
        shop.call("recordPick", orderNumber=NUMBER, lineNo=2, quantity="1")
    assert refused.value.code == "weight_required"
    assert shop.db.committed.orders[0].positions[1].pick.quantity is None


def test_the_same_request_id_again_gets_the_first_answer_and_no_second_effect(
    shop: FakeShop,
) -> None:
    first = shop.call("openShift", "req-1", pickerId=shop.picker.id)
    shop.clock.advance(timedelta(minutes=5))

    # Run again, it would be refused: the shift is open already.
    again = shop.call("openShift", "req-1", pickerId=shop.picker.id)

    assert again == first
    assert len(shop.db.committed.shifts) == 1
    assert len(shop.db.committed.idempotency_keys) == 1


def test_a_request_id_reused_for_another_request_is_refused(shop: FakeShop) -> None:
    shop.on_shift().take("req-1")
    with pytest.raises(InvalidRequest) as refused:
        shop.call("recordPick", "req-1", **PICK_ALL[0])
    assert refused.value.code == "request_id_reused"
    assert shop.db.committed.orders[0].positions[0].pick.quantity is None


def test_a_refused_call_leaves_its_request_id_free(shop: FakeShop) -> None:
    with pytest.raises(Conflict):
        shop.take("req-1")  # no shift yet: refused, its transaction rolled back

    card = shop.on_shift().take("req-1")

    assert card["status"] == OrderStatus.IN_ASSEMBLY


def test_a_token_once_revoked_is_forbidden(shop: FakeShop) -> None:
    assert shop.call("getActiveOrders")["orders"][0]["number"] == NUMBER
    with shop.db.unit_of_work() as uow:
        assert uow.repo(ApiTokenRepository).revoke(shop.token_id, shop.clock())
        uow.commit()

    with pytest.raises(Forbidden):
        shop.call("getActiveOrders")
    with pytest.raises(Forbidden):
        shop.call("getActiveOrders", token="not-a-token")


def test_an_admitted_token_is_remembered_for_its_moment_only() -> None:
    now = [100.0]
    recent = RecentTokens(ttl=2.0, limit=2, clock=lambda: now[0])
    assert not recent.admitted("a")
    recent.remember("a")
    assert recent.admitted("a")
    assert not recent.admitted("b")  # a token is remembered only once admitted
    now[0] += 2.0
    assert not recent.admitted("a")  # past its moment: the pre-check asks the database again
    recent.remember("a")
    recent.remember("b")
    recent.remember("c")  # over the bound: the old ones are forgotten, not refused
    assert (recent.admitted("a"), recent.admitted("b"), recent.admitted("c")) == (
        False,
        False,
        True,
    )


def test_remembered_tokens_are_kept_by_their_hash_only() -> None:
    recent = RecentTokens()
    recent.remember("secret-token")
    assert recent.admitted("secret-token")
    assert "secret-token" not in repr(vars(recent))  # a memory dump shows no usable token


def test_another_stores_order_does_not_exist_for_the_caller(shop: FakeShop) -> None:
    other = add_store(shop.db, sm_store_id="202")
    with shop.db.unit_of_work() as uow:
        uow.repo(ApiTokenRepository).add(store_id(other), token_hash("other"), "test", shop.clock())
        uow.commit()

    with pytest.raises(NotFound) as refused:
        shop.call("getOrder", token="other", orderNumber=NUMBER)
    assert refused.value.code == "order_not_found"
    assert shop.call("getActiveOrders", token="other") == {"orders": []}


def test_a_store_cancelling_tells_sm_and_the_order_leaves_the_active_list(
    shop: FakeShop,
) -> None:
    card = shop.call("cancelOrder", orderNumber=NUMBER, reason="no_product")

    assert card["status"] == OrderStatus.CANCELLED
    assert queued(shop) == ["order.accepted", "order.canceled"]
    assert shop.call("getActiveOrders") == {"orders": []}
