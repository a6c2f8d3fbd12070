"""What the notifications slice counts for Prometheus (served by metrics/prometheus.py).

Observed in whichever process delivers: an assembly worker's prompt send right after its
commit, or the scheduler's dispatcher for retries and backlogs. Both write to the machine's
``PROMETHEUS_MULTIPROC_DIR`` (the scheduler's unit sets it too), so a worker's ``/metrics``
reports the deliveries of both.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Histogram

#: From the notification's creation (the use case's commit) to SM's accepting answer: what
#: SM sees of us. Seconds when healthy; minutes to hours across an outage of SM.
DELIVERY_SECONDS = Histogram(
    "smbridge_sm_notification_delivery_seconds",
    "Time from a notification's creation to SM accepting it (delivered notifications only).",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)


def delivered(created_at: datetime, delivered_at: datetime) -> None:
    # A clock that stepped back would give a negative wait; count it as immediate.
    DELIVERY_SECONDS.observe(max((delivered_at - created_at).total_seconds(), 0.0))
