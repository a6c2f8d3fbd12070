"""The operations pages (/ui/ops) through the assembly app: each change lands, and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from smbridge.domain.staff import Role
from smbridge.kernel.database.tables import (
    api_tokens,
    monitoring_mutes,
    orders,
    sm_notifications,
    stores,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.service import run_monitoring
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_store
from tests.support.clock import FrozenClock
from tests.support.operations import NOW, a_dead_letter, a_failed_webhook, an_order, audit_rows
from tests.support.ui import add_staff, sign_in, ui_client


@pytest.fixture
def office(settings: Settings, db: Database) -> tuple[TestClient, str, int]:
    """A client signed in as operations: (client, CSRF token, user id)."""
    user_id = add_staff(db, login="ops", role=Role.OPERATIONS, now=NOW)
    client = ui_client(settings, db, FrozenClock(NOW))
    return client, sign_in(client, "ops"), user_id


def test_a_dead_letter_corrected_and_resent_is_pending_with_the_new_payload(
    db: Database, office: tuple[TestClient, str, int]
) -> None:
    client, csrf, user_id = office
    letter = a_dead_letter(db)
    listed = client.get("/ui/ops/dead-letters")
    assert listed.status_code == 200
    assert f'data-test="dead-letter-row" data-id="{letter}"' in listed.text
    page = client.get(f"/ui/ops/dead-letters/{letter}")
    assert 'data-test="payload-textarea"' in page.text
    assert "SM: bad payload" in page.text

    sent = client.post(
        f"/ui/ops/dead-letters/{letter}/correct",
        data={
            "csrf_token": csrf,
            "payload": '{"order_id": "H1", "fixed": true}',
            "reason": "СМ не принимал поле x",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    with db.engine.connect() as c:
        row = c.execute(select(sm_notifications.c.state, sm_notifications.c.payload)).one()
    assert tuple(row) == ("pending", {"order_id": "H1", "fixed": True})
    assert audit_rows(db) == [
        (user_id, "notification.correct_resend", f"notification:{letter}", "СМ не принимал поле x")
    ]
    assert "снова в очереди" in client.get(sent.headers["location"]).text


def test_a_bad_correction_is_refused_and_changes_nothing(
    db: Database, office: tuple[TestClient, str, int]
) -> None:
    client, csrf, _ = office
    letter = a_dead_letter(db)
    refused = client.post(
        f"/ui/ops/dead-letters/{letter}/correct",
        data={"csrf_token": csrf, "payload": "{oops", "reason": "пробую"},
    )
    assert refused.status_code == 422
    assert "не JSON" in refused.text
    with db.engine.connect() as c:
        assert c.execute(select(sm_notifications.c.state)).scalar_one() == "dead"
    assert audit_rows(db) == []


def test_a_form_without_its_csrf_token_is_refused(
    db: Database, office: tuple[TestClient, str, int]
) -> None:
    client, _, _ = office
    letter = a_dead_letter(db)
    refused = client.post(f"/ui/ops/dead-letters/{letter}/resend", data={"reason": "без токена"})
    assert refused.status_code == 403
    with db.engine.connect() as c:
        assert c.execute(select(sm_notifications.c.state)).scalar_one() == "dead"


def test_a_failed_webhook_is_replayed_from_its_page(
    db: Database, office: tuple[TestClient, str, int]
) -> None:
    client, csrf, user_id = office
    entry = a_failed_webhook(db)
    assert f'data-test="webhook-row" data-id="{entry}"' in client.get("/ui/ops/webhooks").text
    assert "Europe/Moskow" in client.get(f"/ui/ops/webhooks/{entry}").text
    with db.engine.begin() as c:
        c.execute(update(stores).values(timezone="Europe/Moscow"))

    replayed = client.post(
        f"/ui/ops/webhooks/{entry}/replay",
        data={"csrf_token": csrf, "reason": "пояс исправлен"},
        follow_redirects=False,
    )
    assert replayed.status_code == 303
    with db.engine.connect() as c:
        assert c.execute(select(webhook_journal.c.status)).scalar_one() == "applied"
        assert c.execute(select(orders.c.sm_order_id)).scalar_one() == "H9"
    assert audit_rows(db) == [(user_id, "webhook.replay", f"webhook:{entry}", "пояс исправлен")]
    assert 'data-test="replay-button"' not in client.get(f"/ui/ops/webhooks/{entry}").text


def test_a_forced_status_needs_a_reason_and_is_audited(
    db: Database, office: tuple[TestClient, str, int]
) -> None:
    client, csrf, user_id = office
    an_order(db)
    form = {"csrf_token": csrf, "order": "H1", "status": "cancelled"}
    assert client.post("/ui/ops/orders/status", data={**form, "reason": ""}).status_code == 422
    backwards = client.post(
        "/ui/ops/orders/status", data={**form, "status": "delivered", "reason": "тест"}
    )
    assert backwards.status_code == 409  # new -> delivered: the machine refuses

    forced = client.post(
        "/ui/ops/orders/status",
        data={**form, "reason": "покупатель отказался по телефону"},
        follow_redirects=False,
    )
    assert forced.status_code == 303
    with db.engine.connect() as c:
        assert c.execute(select(orders.c.status)).scalar_one() == "cancelled"
        assert c.execute(select(sm_notifications.c.type)).scalar_one() == "order.canceled"
    assert audit_rows(db) == [
        (
            user_id,
            "order.force_status",
            "order:H1",
            "new -> cancelled: покупатель отказался по телефону",
        )
    ]


def test_a_token_is_shown_once_and_can_be_revoked(
    db: Database, office: tuple[TestClient, str, int]
) -> None:
    client, csrf, _ = office
    add_store(db)
    issued = client.post(
        "/ui/ops/tokens", data={"csrf_token": csrf, "store_id": "1", "label": "ТСД 1"}
    )
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    token = issued.text.split('data-test="token-value">', 1)[1].split("<", 1)[0]
    assert len(token) >= 40
    assert token not in client.get("/ui/ops/tokens").text  # never shown again

    revoked = client.post(
        "/ui/ops/tokens/1/revoke",
        data={"csrf_token": csrf, "reason": "ТСД потерян"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    with db.engine.connect() as c:
        assert c.execute(select(api_tokens.c.revoked_at)).scalar_one() == NOW
    assert [row[1] for row in audit_rows(db)] == ["token.issue", "token.revoke"]
    again = client.post("/ui/ops/tokens/1/revoke", data={"csrf_token": csrf, "reason": "ещё"})
    assert again.status_code == 404


def test_a_mute_set_on_the_page_silences_its_rule_until_its_end(
    db: Database, database_url: str, office: tuple[TestClient, str, int]
) -> None:
    client, csrf, user_id = office
    a_dead_letter(db)
    muted = client.post(
        "/ui/ops/monitoring/mutes",
        data={
            "csrf_token": csrf,
            "rule": "notification_failing",
            "minutes": "30",
            "reason": "чиним",
        },
        follow_redirects=False,
    )
    assert muted.status_code == 303
    assert 'data-test="mute-row"' in client.get("/ui/ops/monitoring").text
    settings = make_settings(database_url, operations_chat_id="-900")

    run_monitoring(db, settings, NOW + timedelta(minutes=29))
    assert dead_letter_alerts(db) == 0
    run_monitoring(db, settings, NOW + timedelta(minutes=30))
    assert dead_letter_alerts(db) == 1
    with db.engine.connect() as c:
        assert c.execute(select(monitoring_mutes.c.user_id)).scalar_one() == user_id


def dead_letter_alerts(db: Database) -> int:
    with db.engine.connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT count(*) FROM telegram_outbox t JOIN monitoring_problems p"
                    " ON p.id = t.problem_id WHERE p.rule = 'notification_failing'"
                )
            ).scalar_one()
        )


def test_the_admin_pages_render(db: Database, office: tuple[TestClient, str, int]) -> None:
    client, csrf, _ = office
    add_store(db)
    added = client.post(
        "/ui/ops/stores/1/pickers",
        data={"csrf_token": csrf, "name": "Анна"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    store = client.get("/ui/ops/stores/1")
    assert 'data-test="picker-row"' in store.text
    assert "Анна" in store.text
    for path in (
        "/ui/ops/",
        "/ui/ops/stores",
        "/ui/ops/jobs",
        "/ui/ops/monitoring",
        "/ui/ops/webhooks?status=parked",
        "/ui/ops/orders/status",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/ui/ops/stores/99").status_code == 404
    assert client.get("/ui/ops/dead-letters?after=0").status_code == 400  # out of bounds


def test_a_store_operator_is_refused_every_operations_page(
    settings: Settings, db: Database
) -> None:
    store = add_store(db)
    add_staff(db, login="shop", role=Role.STORE_OPERATOR, store_id=store.id, now=NOW)
    client = ui_client(settings, db, FrozenClock(NOW))
    csrf = sign_in(client, "shop")
    assert client.get("/ui/ops/").status_code == 403
    assert client.get("/ui/ops/dead-letters").status_code == 403
    refused = client.post(
        "/ui/ops/orders/status",
        data={"csrf_token": csrf, "order": "H1", "status": "cancelled", "reason": "попытка"},
    )
    assert refused.status_code == 403
