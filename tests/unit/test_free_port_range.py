"""Test stands take their ports outside the kernel's ephemeral range, where a client socket
or a server on port 0 in another test could take them first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import environment
from tests.support.environment import fixed_port_span, free_port_range


def _ephemeral() -> tuple[int, int]:
    # Read here rather than through the helper, so the test does not trust what it checks.
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_a_range_never_touches_an_ephemeral_port() -> None:
    low, high = _ephemeral()
    for _ in range(50):
        base = free_port_range(10)
        assert all(not low <= port <= high for port in range(base, base + 10)), base


def test_the_span_goes_above_the_ephemeral_ports_when_there_is_no_room_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(environment, "_ephemeral_ports", lambda: (1_024, 60_999))
    assert fixed_port_span(8) == (61_000, 65_527)
    monkeypatch.setattr(environment, "_ephemeral_ports", lambda: (32_768, 60_999))
    assert fixed_port_span(8) == (10_000, 32_760)
