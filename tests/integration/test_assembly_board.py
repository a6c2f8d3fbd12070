"""The store's board (``getActiveOrders``) is built as JSON without pydantic: it must say
exactly what the pydantic models say of the same orders, on both databases."""

from __future__ import annotations

from datetime import timedelta

import orjson

from smbridge.assembly import schemas
from smbridge.assembly.views import answer_json
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database
from tests.factories import envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.shop import NUMBER, PICK_ALL, Shop


def test_the_board_says_what_the_order_cards_say(db: Database, clock: FrozenClock) -> None:
    shop = Shop(db, clock).on_shift()
    ingest_webhook(
        db, parse_webhook(envelope("order.created", order_payload("H2"))), IntakePolicy(), clock
    )
    clock.advance(timedelta(seconds=61.5))  # a time with microseconds
    shop.take()
    for pick in PICK_ALL:
        shop.call("recordPick", **pick)
    shop.call("finishAssembly", orderNumber=NUMBER, bags=2)

    board = orjson.loads(answer_json(shop.call("getActiveOrders")))  # as the view writes it

    assert board == schemas.ActiveOrders.model_validate(board).model_dump(mode="json")
    summary_fields = schemas.OrderSummary.model_fields
    cards = [shop.call("getOrder", orderNumber=line["number"]) for line in board["orders"]]
    assert board["orders"] == [{name: card[name] for name in summary_fields} for card in cards]
    taken = [line for line in board["orders"] if line["number"] == NUMBER]
    assert len(board["orders"]) == 2
    assert taken[0]["takenAt"] is not None
    assert taken[0]["assembledAt"] is not None


def test_the_hot_calls_cards_say_what_the_model_and_the_loaded_order_say(
    db: Database, clock: FrozenClock
) -> None:
    """takeOrder and recordPick read and write the card with Core statements and answer it
    as plain JSON: exactly what pydantic writes of it, and what getOrder shows of the order
    loaded through the ORM afterwards."""
    shop = Shop(db, clock).on_shift()
    clock.advance(timedelta(seconds=61.5))  # a time with microseconds
    taken = shop.call("takeOrder", orderNumber=NUMBER, pickerId=shop.picker.id)
    assert taken == shop.call("getOrder", orderNumber=NUMBER)
    for pick in PICK_ALL:
        clock.advance(timedelta(seconds=1))
        card = shop.call("recordPick", **pick, markingCodes=["010460"])
        assert card == schemas.OrderCard.model_validate(card).model_dump(mode="json")
        assert card == shop.call("getOrder", orderNumber=NUMBER)
    lines = {line["lineNo"]: line for line in card["positions"]}
    assert lines[1]["pickedQuantity"] == "2"
    assert lines[2]["pickedWeightGrams"] == "1310"
    assert lines[2]["markingCodes"] == ["010460"]
    assert taken["takenAt"].endswith(".500000Z")
    assert card["status"] == "in_assembly"
