"""The ``expectedAssemblyTime`` promised to SM in the reply to ``order.created``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from smbridge.domain.assembly_time import expected_assembly_time

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
MSK = timezone(timedelta(hours=3))
LEAD, BUFFER = timedelta(minutes=30), timedelta(minutes=15)


def expected(
    delivery_from: datetime | None,
    tz: str = "Europe/Moscow",
    received_at: datetime = NOW,
) -> datetime:
    return expected_assembly_time(
        received_at=received_at,
        delivery_from=delivery_from,
        lead=LEAD,
        handover_buffer=BUFFER,
        timezone=tz,
    )


def test_express_order_is_ready_after_the_lead_time() -> None:
    result = expected(NOW + timedelta(minutes=20))
    assert result == NOW + LEAD
    assert result.isoformat() == "2026-11-28T12:30:00+03:00"


def test_a_window_already_open_still_needs_the_lead_time() -> None:
    assert expected(NOW - timedelta(hours=1)) == NOW + LEAD


def test_planned_order_is_ready_just_before_its_window() -> None:
    tomorrow = datetime(2026, 11, 29, 10, 0, tzinfo=MSK)
    result = expected(tomorrow)
    assert result == tomorrow - BUFFER
    assert result.isoformat() == "2026-11-29T09:45:00+03:00"


def test_the_boundary_between_express_and_planned() -> None:
    exactly = NOW + LEAD + BUFFER  # the window start minus the buffer is the lead time
    assert expected(exactly) == NOW + LEAD
    assert expected(exactly + timedelta(minutes=1)) == NOW + LEAD + timedelta(minutes=1)


def test_no_window_means_the_lead_time() -> None:
    assert expected(None) == NOW + LEAD


@pytest.mark.parametrize(
    ("tz", "text"),
    [
        ("Europe/Moscow", "2026-11-28T12:30:00+03:00"),
        ("Asia/Yekaterinburg", "2026-11-28T14:30:00+05:00"),
        ("Europe/Kaliningrad", "2026-11-28T11:30:00+02:00"),
        ("UTC", "2026-11-28T09:30:00+00:00"),
    ],
)
def test_answer_is_in_the_stores_time_zone(tz: str, text: str) -> None:
    result = expected(None, tz)
    assert result.isoformat() == text
    assert result.utcoffset() is not None


def test_the_zone_of_the_input_does_not_matter() -> None:
    received_in_yekaterinburg = NOW.astimezone(timezone(timedelta(hours=5)))
    result = expected(None, "Europe/Moscow", received_in_yekaterinburg)
    assert result.isoformat() == "2026-11-28T12:30:00+03:00"


def test_microseconds_are_dropped() -> None:
    result = expected(None, received_at=NOW + timedelta(seconds=1, microseconds=654321))
    assert result.isoformat() == "2026-11-28T12:30:01+03:00"


def test_naive_received_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        expected_assembly_time(
            received_at=datetime(2026, 1, 1),  # noqa: DTZ001 - the point
            delivery_from=None,
            lead=LEAD,
            handover_buffer=BUFFER,
            timezone="UTC",
        )


def test_naive_window_is_refused() -> None:
    # Not checked explicitly: refused by the comparison with the aware receive time.
    with pytest.raises(TypeError):
        expected(datetime(2026, 11, 29, 10, 0))  # noqa: DTZ001 - the point
