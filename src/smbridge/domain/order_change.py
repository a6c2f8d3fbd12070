"""What asking an order to change did (applied, no change, refused ...), and what store
staff must hear about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Notice(StrEnum):
    """Things that happened to an order that store staff must hear about."""

    CANCELLED_IN_WORK = "cancelled_in_work"
    CHANGED_IN_WORK = "changed_in_work"
    CHANGED_AFTER_READY = "changed_after_ready"


class Effect(StrEnum):
    APPLIED = "applied"
    NO_CHANGE = "no_change"  # a fact already known (cancelled twice, paid again)
    NOT_REGRESSED = "not_regressed"  # would move the order backwards: kept, not applied
    REFUSED = "refused"  # not allowed from the current status


@dataclass(frozen=True)
class OrderChange:
    """The answer of the order to an SM event or a store command: its effect, why, and notices."""

    effect: Effect
    detail: str = ""
    notices: tuple[Notice, ...] = ()
