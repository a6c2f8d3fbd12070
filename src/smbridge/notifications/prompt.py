"""The prompt send: a commit that queued notifications has them sent at once.

A commit listener (kernel/database/unit_of_work.py) that asks the transaction's outbox
which orders got new notifications and hands each to the dispatcher on an executor, off
the caller's path: SM hears of a change within moments instead of at the next poll. The
dispatcher's poll stays the fallback (a send that fails, or a process that stops first).
"""

from __future__ import annotations

from concurrent.futures import Executor

from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.notifications.dispatcher import Dispatcher
from smbridge.notifications.outbox import NotificationOutbox


class PromptSend:
    def __init__(self, dispatcher: Dispatcher, executor: Executor) -> None:
        self._dispatcher = dispatcher
        self._executor = executor

    def __call__(self, uow: UnitOfWork) -> None:
        for order_id in uow.repo(NotificationOutbox).take_orders_with_new():
            self._executor.submit(self._dispatcher.drain_order, order_id)


def sending_promptly(db: Database, dispatcher: Dispatcher | None, executor: Executor) -> Database:
    """``db`` whose commits send their new notifications at once (when SM is configured)."""
    if dispatcher is None:
        return db  # no SM address: notifications wait in the outbox
    return db.with_commit_listener(PromptSend(dispatcher, executor))
