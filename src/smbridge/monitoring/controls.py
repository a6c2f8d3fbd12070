"""What operations set on monitoring: a rule muted for a period, and rule thresholds.

A muted rule's problems are neither reported nor reminded of, nor resolved, until the
mute ends (monitoring/service.py); then they are told as usual. Thresholds stored here
override the settings' defaults (``MonitoringSettings.monitor_*``) for every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, insert, select, update

from smbridge.accounts.service import audit
from smbridge.domain.admin import AdminRefused, required_reason
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import monitoring_mutes, monitoring_thresholds
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.settings import MonitoringSettings

#: The rules' names (a finding's ``rule``), with what each watches, for people.
RULE_NAMES: dict[str, str] = {
    "new_not_taken": "Заказы не взяты в сборку",
    "assembly_overdue": "Сборка просрочена",
    "not_ready_before_window": "Заказ не готов к окну доставки",
    "courier_waiting": "Курьер ждёт",
    "pickup_uncollected": "Заказ самовывоза не забран",
    "notification_failing": "Уведомление в СберМаркет не принято",
    "notifications_stuck": "Уведомления не доходят до СберМаркета",
    "webhook_failing": "События СберМаркета не применены",
    "no_webhooks": "Нет событий от СберМаркета",
    "telegram_backlog": "Очередь Telegram",
    "documents_missing": "Нет реализаций",
    "paid_differs": "Оплата отличается от сборки",
}

#: Thresholds operations may set: the settings field, its label, and its bounds.
THRESHOLDS: dict[str, tuple[str, Decimal, Decimal]] = {
    "monitor_new_not_taken_minutes": ("Не взят в сборку, мин", Decimal(1), Decimal(1440)),
    "monitor_not_ready_before_window_minutes": (
        "Не готов до окна доставки, мин",
        Decimal(0),
        Decimal(1440),
    ),
    "monitor_notification_stuck_minutes": (
        "Уведомление не доставлено, мин",
        Decimal(1),
        Decimal(1440),
    ),
    "monitor_notification_attempts": ("…или попыток", Decimal(1), Decimal(100)),
    "monitor_parked_minutes": ("Событие ждёт заказ, мин", Decimal(1), Decimal(10080)),
    "monitor_silence_minutes": ("Нет событий от СберМаркета, мин", Decimal(1), Decimal(1440)),
    "monitor_telegram_backlog": ("Очередь Telegram, сообщений", Decimal(1), Decimal(100000)),
    "monitor_telegram_oldest_minutes": (
        "Старейшее в очереди Telegram, мин",
        Decimal(1),
        Decimal(1440),
    ),
    "monitor_document_due_hours": ("Реализация после доставки, ч", Decimal(1), Decimal(720)),
    "monitor_pickup_uncollected_hours": (
        "Самовывоз не забран после окна, ч",
        Decimal(0),
        Decimal(720),
    ),
    "monitor_remind_minutes": ("Напоминать каждые, мин", Decimal(1), Decimal(1440)),
}
_INTEGERS = frozenset({"monitor_notification_attempts", "monitor_telegram_backlog"})
MAX_MUTE = timedelta(days=7)
PAGE = 50


@dataclass(frozen=True)
class Mute:
    id: int
    rule: str
    muted_from: datetime
    muted_until: datetime
    reason: str
    user_id: int | None


class MonitoringControls(SessionRepository):
    def muted_rules(self, now: datetime) -> frozenset[str]:
        """The rules muted at ``now`` (few rows: the index on muted_until finds them)."""
        c = monitoring_mutes.c
        rows = self._session.execute(
            select(c.rule).where(c.muted_until > now, c.muted_from <= now).distinct()
        )
        return frozenset(rows.scalars())

    def mutes(self, since: datetime, limit: int = PAGE) -> list[Mute]:
        """Mutes in force or ended after ``since``, newest first."""
        c = monitoring_mutes.c
        query = select(c.id, c.rule, c.muted_from, c.muted_until, c.reason, c.user_id)
        rows = self._session.execute(
            query.where(c.muted_until > since).order_by(c.id.desc()).limit(limit)
        )
        return [Mute(*row) for row in rows]

    def add_mute(
        self, rule: str, muted_from: datetime, until: datetime, reason: str, user_id: int
    ) -> int:
        statement = insert(monitoring_mutes).values(
            rule=rule, muted_from=muted_from, muted_until=until, reason=reason, user_id=user_id
        )
        return int(self._session.execute(statement.returning(monitoring_mutes.c.id)).scalar_one())

    def end_mute(self, mute_id: int, now: datetime) -> bool:
        c = monitoring_mutes.c
        result = self._session.execute(
            update(monitoring_mutes)
            .where(c.id == mute_id, c.muted_until > now)
            .values(muted_until=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def thresholds(self) -> dict[str, str]:
        c = monitoring_thresholds.c
        return {row.name: row.value for row in self._session.execute(select(c.name, c.value))}

    def set_threshold(self, name: str, value: str | None, now: datetime, user_id: int) -> None:
        c = monitoring_thresholds.c
        self._session.execute(delete(monitoring_thresholds).where(c.name == name))
        if value is not None:
            self._session.execute(
                insert(monitoring_thresholds).values(
                    name=name, value=value, updated_at=now, user_id=user_id
                )
            )


def effective_settings(settings: MonitoringSettings, stored: dict[str, str]) -> MonitoringSettings:
    """The settings with operations' thresholds in place of the defaults."""
    update_values: dict[str, object] = {}
    for name, value in stored.items():
        if name in THRESHOLDS:
            update_values[name] = int(value) if name in _INTEGERS else float(value)
    return settings.model_copy(update=update_values) if update_values else settings


def mute_rule(
    db: Database,
    rule: str,
    minutes: int,
    *,
    user_id: int,
    reason: str | None,
    now: datetime,
) -> int:
    why = required_reason(reason)
    if rule not in RULE_NAMES:
        raise AdminRefused(422, "Нет такого правила мониторинга.")
    period = timedelta(minutes=minutes)
    if not timedelta(minutes=1) <= period <= MAX_MUTE:
        raise AdminRefused(422, "Заглушить можно на срок от 1 минуты до 7 дней.")
    with db.unit_of_work() as uow:
        mute_id = uow.repo(MonitoringControls).add_mute(rule, now, now + period, why, user_id)
        audit(
            uow,
            user_id=user_id,
            action="monitoring.mute",
            target=f"rule:{rule}",
            reason=f"на {minutes} мин: {why}",
            now=now,
        )
        uow.commit()
    return mute_id


def unmute(db: Database, mute_id: int, *, user_id: int, now: datetime) -> None:
    with db.unit_of_work() as uow:
        if not uow.repo(MonitoringControls).end_mute(mute_id, now):
            raise AdminRefused(404, "Нет такой действующей заглушки.")
        audit(
            uow,
            user_id=user_id,
            action="monitoring.unmute",
            target=f"mute:{mute_id}",
            reason="заглушка снята",
            now=now,
        )
        uow.commit()


def set_threshold(
    db: Database,
    name: str,
    value: str | None,
    *,
    user_id: int,
    reason: str | None,
    now: datetime,
) -> None:
    """Set a threshold (``value`` None or empty: back to the settings' default)."""
    why = required_reason(reason)
    if name not in THRESHOLDS:
        raise AdminRefused(422, "Нет такого порога.")
    label, low, high = THRESHOLDS[name]
    text = (value or "").strip().replace(",", ".")
    stored: str | None = None
    if text:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal("NaN")
        integral = name not in _INTEGERS or number == number.to_integral_value()
        if not number.is_finite() or not low <= number <= high or not integral:
            raise AdminRefused(422, f"«{label}»: число от {low} до {high}.")
        stored = format(number.normalize(), "f")
    with db.unit_of_work() as uow:
        uow.repo(MonitoringControls).set_threshold(name, stored, now, user_id)
        audit(
            uow,
            user_id=user_id,
            action="monitoring.threshold",
            target=f"threshold:{name}",
            reason=f"{stored or 'по умолчанию'}: {why}",
            now=now,
        )
        uow.commit()
