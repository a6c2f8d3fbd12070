"""When an order will be assembled: the ``expectedAssemblyTime`` promised to SM."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def expected_assembly_time(
    *,
    received_at: datetime,
    delivery_from: datetime | None,
    lead: timedelta,
    handover_buffer: timedelta,
    timezone: str,
) -> datetime:
    """The earliest the store can finish, or just before the delivery window opens if later.

    A planned order for tomorrow is assembled shortly before its window (fresh goods,
    shelf space); an express order as soon as the store's lead time allows.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    earliest = received_at + lead
    if delivery_from is not None:
        earliest = max(earliest, delivery_from - handover_buffer)
    return earliest.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
