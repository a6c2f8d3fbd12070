from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smbridge.domain.assembly_time import expected_assembly_time

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
LEAD, BUFFER = timedelta(minutes=30), timedelta(minutes=15)


def expected(delivery_from: datetime | None, timezone: str = "Europe/Moscow") -> datetime:
    return expected_assembly_time(
        received_at=NOW,
        delivery_from=delivery_from,
        lead=LEAD,
        handover_buffer=BUFFER,
        timezone=timezone,
    )


def test_express_order_is_ready_after_the_lead_time() -> None:
    result = expected(NOW + timedelta(minutes=20))
    assert result == NOW + LEAD
    assert result.isoformat() == "2026-11-28T12:30:00+03:00"


def test_planned_order_is_ready_just_before_its_window() -> None:
    tomorrow = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert expected(tomorrow) == tomorrow - BUFFER


def test_no_window_means_the_lead_time() -> None:
    assert expected(None) == NOW + LEAD


def test_answer_is_in_the_stores_time_zone() -> None:
    assert expected(None, "Asia/Yekaterinburg").isoformat() == "2026-11-28T14:30:00+05:00"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        expected_assembly_time(
            received_at=datetime(2026, 1, 1),  # noqa: DTZ001 - the point
            delivery_from=None,
            lead=LEAD,
            handover_buffer=BUFFER,
            timezone="UTC",
        )
