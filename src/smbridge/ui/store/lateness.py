"""How late an order is against its assembly deadline, as the board colours it (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

NEARING = timedelta(minutes=15)


class Lateness(StrEnum):
    ON_TIME = "ok"  # more than NEARING left, or assembled in time
    NEARING = "soon"  # less than NEARING left
    LATE = "late"  # the deadline passed before assembly


class Standing(NamedTuple):
    lateness: Lateness
    minutes: int  # minutes left (on time, nearing) or minutes late
    done: bool  # assembled: the standing is final

    @property
    def text(self) -> str:
        if self.lateness is Lateness.LATE:
            return f"опоздание {duration_text(self.minutes)}"
        if self.done:
            return "в срок"
        return f"осталось {duration_text(self.minutes)}"


def duration_text(minutes: int) -> str:
    """Minutes as a person reads them: "45 мин", "2 ч 05 мин", "3 сут 4 ч"."""
    if minutes < 60:
        return f"{minutes} мин"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} ч {rest:02d} мин"
    days, hours = divmod(hours, 24)
    return f"{days} сут {hours} ч"


def standing(
    deadline: datetime, assembled_at: datetime | None, now: datetime, nearing: timedelta = NEARING
) -> Standing:
    """An open order against ``now``; an assembled one by when it was assembled."""
    if assembled_at is not None:
        late = assembled_at - deadline
        if late > timedelta(0):
            return Standing(Lateness.LATE, _minutes_up(late), True)
        return Standing(Lateness.ON_TIME, _minutes_down(-late), True)
    left = deadline - now
    if left < timedelta(0):
        return Standing(Lateness.LATE, _minutes_up(-left), False)
    kind = Lateness.NEARING if left < nearing else Lateness.ON_TIME
    return Standing(kind, _minutes_down(left), False)


def _minutes_up(delta: timedelta) -> int:
    """Whole minutes, a started minute counted: 10 s late is 1 minute late."""
    seconds = int(delta.total_seconds())
    return -(-seconds // 60)


def _minutes_down(delta: timedelta) -> int:
    return int(delta.total_seconds()) // 60
