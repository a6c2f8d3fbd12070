"""The operations and admin use cases, on both databases; each change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from smbridge.assembly.service import token_hash
from smbridge.assembly.staffing import (
    StaffPages,
    add_picker,
    deactivate_picker,
    issue_token,
    pickers_of,
    revoke_token,
    set_chat,
)
from smbridge.domain.admin import AdminRefused
from smbridge.domain.notification import DeliveryState
from smbridge.domain.staff import Role
from smbridge.domain.status import OrderStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.intake.events import parse_webhook
from smbridge.intake.replays import JournalPages, replay
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.intake.stores import StoreForm, save_store
from smbridge.kernel.database.tables import (
    api_tokens,
    monitoring_problems,
    orders,
    pickers,
    sm_notifications,
    stores,
    telegram_outbox,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.controls import (
    MonitoringControls,
    effective_settings,
    mute_rule,
    set_threshold,
    unmute,
)
from smbridge.monitoring.service import run_monitoring
from smbridge.notifications.dead_letters import (
    DeadLetters,
    correct_and_resend,
    dead_letter,
    resend_rebuilt,
)
from smbridge.orders.override import force_order_status
from tests.conftest import make_settings
from tests.factories import envelope
from tests.support.clock import FrozenClock
from tests.support.operations import NOW, a_dead_letter, a_failed_webhook, an_order, audit_rows
from tests.support.ui import add_staff

ADMIN = 1  # the id of ``admin``: the first account of an emptied database


@pytest.fixture(autouse=True)
def admin(db: Database) -> int:
    """The staff account every action here is done by (the audit refers to it)."""
    user_id = add_staff(db, login="admin", role=Role.ADMIN, now=NOW)
    assert user_id == ADMIN
    return user_id


def test_a_corrected_dead_letter_is_pending_with_the_new_payload_and_audited(db: Database) -> None:
    letter = a_dead_letter(db)
    with db.unit_of_work(read_only=True) as uow:
        listed = uow.repo(DeadLetters).page(DeliveryState.DEAD, None)
    assert [(line.id, line.last_status) for line in listed] == [(letter, 422)]
    assert dead_letter(db, letter).last_error == "SM: bad payload"

    corrected = '{"order_id": "H1", "note": "исправлено"}'
    correct_and_resend(db, letter, corrected, user_id=ADMIN, reason="SM просил без x", now=NOW)

    with db.engine.connect() as c:
        row = c.execute(
            select(
                sm_notifications.c.state, sm_notifications.c.payload, sm_notifications.c.attempts
            )
        ).one()
    assert tuple(row) == ("pending", {"order_id": "H1", "note": "исправлено"}, 0)
    assert audit_rows(db) == [
        (ADMIN, "notification.correct_resend", f"notification:{letter}", "SM просил без x")
    ]


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ("{not json", "не JSON"),
        ("[1, 2]", "JSON-объект"),
        ('{"order_id": "H2"}', "order_id"),
        ('{"order_id": "H1", "bad": "\\u0001"}', "Недопустимое"),
        ('{"order_id": "H1", "big": "' + "x" * 300_000 + '"}', "Слишком длинное"),
    ],
)
def test_a_correction_outside_the_bounds_changes_nothing(
    db: Database, payload: str, says: str
) -> None:
    letter = a_dead_letter(db)
    with pytest.raises(AdminRefused) as refused:
        correct_and_resend(db, letter, payload, user_id=ADMIN, reason="пробую", now=NOW)
    assert says in refused.value.message_ru
    with db.engine.connect() as c:
        assert c.execute(select(sm_notifications.c.state)).scalar_one() == "dead"
    assert audit_rows(db) == []


def test_a_correction_needs_a_reason_and_a_dead_letter(db: Database) -> None:
    letter = a_dead_letter(db)
    with pytest.raises(AdminRefused, match="причину"):
        correct_and_resend(db, letter, '{"order_id": "H1"}', user_id=ADMIN, reason=" ", now=NOW)
    resend_rebuilt(db, letter, user_id=ADMIN, reason=None, now=NOW)
    with pytest.raises(AdminRefused) as refused:
        correct_and_resend(db, letter, '{"order_id": "H1"}', user_id=ADMIN, reason="ещё", now=NOW)
    assert refused.value.status == 409


def test_resend_rebuilds_the_body_from_the_order_as_the_cli_does(db: Database) -> None:
    letter = a_dead_letter(db)
    resend_rebuilt(db, letter, user_id=ADMIN, reason=None, now=NOW)
    with db.engine.connect() as c:
        row = c.execute(select(sm_notifications.c.state, sm_notifications.c.payload)).one()
    assert tuple(row) == ("pending", {"order_id": "H1"})  # order.in_work carries the order only
    assert audit_rows(db) == [
        (ADMIN, "notification.resend", f"notification:{letter}", "повторная отправка")
    ]


def test_a_failed_webhook_replayed_after_its_cause_is_fixed_is_applied(db: Database) -> None:
    entry = a_failed_webhook(db)
    with db.unit_of_work(read_only=True) as uow:
        assert [line.id for line in uow.repo(JournalPages).page(JournalStatus.FAILED, None)] == [
            entry
        ]
    clock = FrozenClock(NOW)
    assert replay(db, entry, IntakePolicy(), clock, user_id=ADMIN, reason=None) is (
        JournalStatus.FAILED
    )
    with db.engine.begin() as c:
        c.execute(update(stores).values(timezone="Europe/Moscow"))
    assert replay(db, entry, IntakePolicy(), clock, user_id=ADMIN, reason="пояс исправлен") is (
        JournalStatus.APPLIED
    )
    with db.engine.connect() as c:
        assert c.execute(select(orders.c.sm_order_id)).scalar_one() == "H9"
    assert [row[1:3] for row in audit_rows(db)] == [("webhook.replay", f"webhook:{entry}")] * 2
    with pytest.raises(AdminRefused) as refused:
        replay(db, entry, IntakePolicy(), clock, user_id=ADMIN, reason=None)
    assert refused.value.status == 409


def test_a_parked_webhook_replayed_once_its_order_came_is_applied(db: Database) -> None:
    an_order(db, "H1")
    ingest_webhook(
        db,
        parse_webhook(envelope("order.paid", {"originalOrderId": "H5", "paidAmount": "10"})),
        IntakePolicy(),
        FrozenClock(NOW),
    )
    with db.engine.connect() as c:
        entry, status = c.execute(
            text("SELECT id, status FROM webhook_journal WHERE sm_order_id = 'H5'")
        ).one()
    assert status == "parked"
    assert replay(db, entry, IntakePolicy(), FrozenClock(NOW), user_id=ADMIN, reason=None) is (
        JournalStatus.PARKED  # its order still has not come
    )


def test_a_forced_status_follows_the_machine_notifies_sm_and_is_audited(db: Database) -> None:
    an_order(db)
    force_order_status(
        db, "H1", OrderStatus.CANCELLED, user_id=ADMIN, reason="магазин закрыт", now=NOW
    )
    with db.engine.connect() as c:
        row = c.execute(select(orders.c.status, orders.c.cancelled_by)).one()
        told = c.execute(select(sm_notifications.c.type, sm_notifications.c.payload)).all()
    assert tuple(row) == ("cancelled", "operations")
    assert [tuple(t) for t in told] == [
        ("order.canceled", {"order_id": "H1", "reason": "technical_issues"})
    ]
    assert audit_rows(db) == [
        (ADMIN, "order.force_status", "order:H1", "new -> cancelled: магазин закрыт")
    ]
    with pytest.raises(AdminRefused) as refused:
        force_order_status(db, "H1", OrderStatus.NEW, user_id=ADMIN, reason="назад", now=NOW)
    assert refused.value.status == 409
    with pytest.raises(AdminRefused) as missing:
        force_order_status(db, "H404", OrderStatus.CANCELLED, user_id=ADMIN, reason="x y", now=NOW)
    assert missing.value.status == 404


def test_forcing_delivered_tells_sm_nothing(db: Database) -> None:
    an_order(db)
    with db.engine.begin() as c:
        c.execute(update(orders).values(status="ready_for_delivery"))
    force_order_status(
        db, "H1", OrderStatus.DELIVERED, user_id=ADMIN, reason="курьер отдал", now=NOW
    )
    with db.engine.connect() as c:
        assert c.execute(select(orders.c.status)).scalar_one() == "delivered"
        assert c.execute(select(sm_notifications.c.id)).all() == []


def test_stores_pickers_chats_and_tokens(db: Database) -> None:
    store, adopted = save_store(
        db,
        StoreForm("101", "Ленина", "Europe/Moscow", "-1001", 40),
        IntakePolicy(),
        user_id=ADMIN,
        reason=None,
        now=NOW,
    )
    assert (store.id, adopted) == (1, 0)
    with pytest.raises(AdminRefused, match="часовой пояс"):
        save_store(
            db,
            StoreForm("102", "X", "Mars/Base"),
            IntakePolicy(),
            user_id=ADMIN,
            reason=None,
            now=NOW,
        )
    picker = add_picker(db, 1, "Анна", None, user_id=ADMIN, now=NOW)
    assert picker.id is not None
    set_chat(db, "-555", picker_id=picker.id, user_id=ADMIN, now=NOW)
    with pytest.raises(AdminRefused):
        set_chat(db, "not a chat", store_id=1, user_id=ADMIN, now=NOW)
    deactivate_picker(db, picker.id, user_id=ADMIN, reason="уволилась", now=NOW)
    assert [(p.name, p.active, p.telegram_chat_id, on) for p, on in pickers_of(db, 1)] == [
        ("Анна", False, "-555", False)
    ]

    token_id, token = issue_token(db, 1, "ТСД 1", user_id=ADMIN, now=NOW)
    with db.engine.connect() as c:
        kept = c.execute(select(api_tokens.c.token_sha256)).scalar_one()
    assert kept == token_hash(token)
    assert token not in kept
    revoke_token(db, token_id, user_id=ADMIN, reason="ТСД потерян", now=NOW + timedelta(minutes=1))
    with db.unit_of_work(read_only=True) as uow:
        listed = uow.repo(StaffPages).tokens(None)
    assert listed[0].revoked_at == NOW + timedelta(minutes=1)
    with pytest.raises(AdminRefused):
        revoke_token(db, token_id, user_id=ADMIN, reason="ещё раз", now=NOW)
    with db.engine.connect() as c:
        assert c.execute(select(pickers.c.active)).scalar_one() is False
    assert [row[1] for row in audit_rows(db)] == [
        "store.save",
        "picker.add",
        "chat.set",
        "picker.deactivate",
        "token.issue",
        "token.revoke",
    ]


def test_a_muted_rule_is_silent_until_its_mute_ends(db: Database, database_url: str) -> None:
    settings = make_settings(database_url, operations_chat_id="-900")
    a_dead_letter(db)  # notification_failing: one problem for the operations chat
    mute_rule(db, "notification_failing", 60, user_id=ADMIN, reason="разбираемся", now=NOW)

    run_monitoring(db, settings, NOW)
    run_monitoring(db, settings, NOW + timedelta(minutes=59))
    assert told_about(db, "notification_failing") == []

    run_monitoring(db, settings, NOW + timedelta(minutes=60))
    told = told_about(db, "notification_failing")
    assert len(told) == 1
    assert "H1" in told[0]
    assert [row[1] for row in audit_rows(db)] == ["monitoring.mute"]


def told_about(db: Database, rule: str) -> list[str]:
    """The Telegram texts about the problems of one rule."""
    with db.engine.connect() as c:
        said = c.execute(
            select(telegram_outbox.c.text)
            .join(monitoring_problems, monitoring_problems.c.id == telegram_outbox.c.problem_id)
            .where(monitoring_problems.c.rule == rule)
        )
        return list(said.scalars())


def test_a_mute_can_end_early_and_thresholds_override_the_settings(
    db: Database, database_url: str
) -> None:
    settings = make_settings(database_url, operations_chat_id="-900")
    a_dead_letter(db)
    mute_id = mute_rule(db, "notification_failing", 600, user_id=ADMIN, reason="ждём", now=NOW)
    unmute(db, mute_id, user_id=ADMIN, now=NOW + timedelta(minutes=1))
    run_monitoring(db, settings, NOW + timedelta(minutes=2))
    assert len(told_about(db, "notification_failing")) == 1
    with pytest.raises(AdminRefused):
        mute_rule(db, "no_such_rule", 10, user_id=ADMIN, reason="ждём", now=NOW)
    with pytest.raises(AdminRefused):
        mute_rule(db, "paid_differs", 60 * 24 * 8, user_id=ADMIN, reason="ждём", now=NOW)
    with pytest.raises(AdminRefused):
        set_threshold(
            db, "monitor_notification_attempts", "2.5", user_id=ADMIN, reason="x y z", now=NOW
        )
    set_threshold(
        db, "monitor_new_not_taken_minutes", "25", user_id=ADMIN, reason="мало сборщиков", now=NOW
    )
    with db.unit_of_work(read_only=True) as uow:
        stored = uow.repo(MonitoringControls).thresholds()
    assert effective_settings(settings, stored).monitor_new_not_taken_minutes == 25
