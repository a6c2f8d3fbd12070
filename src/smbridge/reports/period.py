"""The period and store a report covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Days are the stores' days: every store is in Moscow time (no DST since 2014).
REPORT_ZONE = ZoneInfo("Europe/Moscow")
#: The longest period a report covers: bounded work per page.
MAX_DAYS = 366


class PeriodRefused(ValueError):
    """A period that is empty, reversed or longer than MAX_DAYS."""


@dataclass(frozen=True)
class ReportScope:
    """Days [first_day, end_day) in the report zone, and optionally one store (stores.id)."""

    first_day: date
    end_day: date  # exclusive
    store_id: int | None = None

    def __post_init__(self) -> None:
        days = (self.end_day - self.first_day).days
        if days < 1:
            raise PeriodRefused("the period ends before it starts")
        if days > MAX_DAYS:
            raise PeriodRefused(f"the period is longer than {MAX_DAYS} days")

    @property
    def start(self) -> datetime:
        return _midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return _midnight(self.end_day)

    @property
    def utc_offset(self) -> timedelta:
        """The zone's offset from UTC, which day grouping in SQL adds (constant in Moscow)."""
        offset = self.start.astimezone(REPORT_ZONE).utcoffset()
        assert offset is not None
        return offset

    @property
    def days(self) -> list[date]:
        return [
            self.first_day + timedelta(days=n) for n in range((self.end_day - self.first_day).days)
        ]

    def for_store(self, store_id: int | None) -> ReportScope:
        return ReportScope(self.first_day, self.end_day, store_id)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=REPORT_ZONE).astimezone(UTC)
