"""What the assembly API's code takes, built from its settings section."""

from __future__ import annotations

from datetime import timedelta

from smbridge.assembly.service import AssemblyPolicy
from smbridge.assembly.settings import AssemblySettings


def assembly_policy(settings: AssemblySettings) -> AssemblyPolicy:
    return AssemblyPolicy(notify_assembled=settings.notify_assembled)


def idempotency_retention(settings: AssemblySettings) -> timedelta:
    """How long a requestId is answered from memory before housekeeping purges it."""
    return timedelta(hours=settings.idempotency_retention_hours)
