"""How a whole stand's run ended, read from its database: the counts the end-to-end loop
and the simulated day (bench/simulated_day.py) both check."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from smbridge.kernel.database.tables import orders, sm_notifications, webhook_journal


@dataclass(frozen=True)
class Ending:
    statuses: dict[str, int]  # orders by status
    journal: dict[str, int]  # webhook journal rows by status
    undelivered: int  # notifications to SM still pending or sending, or dead


def ending(engine: Engine) -> Ending:
    with engine.connect() as c:
        statuses = {
            status: int(n)
            for status, n in c.execute(
                select(orders.c.status, func.count()).group_by(orders.c.status)
            )
        }
        journal = {
            status: int(n)
            for status, n in c.execute(
                select(webhook_journal.c.status, func.count()).group_by(webhook_journal.c.status)
            )
        }
        undelivered = c.execute(
            select(func.count())
            .select_from(sm_notifications)
            .where(sm_notifications.c.state.in_(["pending", "sending", "dead"]))
        ).scalar_one()
    return Ending(statuses, journal, int(undelivered))
