"""What the assembly API's code takes, built from its settings section."""

from __future__ import annotations

from datetime import timedelta

from smbridge.assembly.service import AssemblyPolicy
from smbridge.assembly.settings import AssemblySettings
from smbridge.domain.pickup import HandoverPolicy


def assembly_policy(settings: AssemblySettings) -> AssemblyPolicy:
    return AssemblyPolicy(
        notify_assembled=settings.notify_assembled,
        handover=HandoverPolicy(
            max_wrong_tries=settings.handover_max_wrong_tries,
            lock_for=timedelta(minutes=settings.handover_lock_minutes),
            storage=timedelta(hours=settings.pickup_storage_hours),
            uncollected_reason=settings.pickup_uncollected_reason,
        ),
    )


def idempotency_retention(settings: AssemblySettings) -> timedelta:
    """How long a requestId is answered from memory before housekeeping purges it."""
    return timedelta(hours=settings.idempotency_retention_hours)
