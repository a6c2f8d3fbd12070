"""The assembly API's settings section."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import Duration, PositiveInt, SettingsSection, setting


class AssemblySettings(SettingsSection):
    heading: ClassVar[str] = "Assembly API: picking apps (stores -> us)"

    notify_assembled: bool = setting(True, "send the optional order.assembled")
    job_housekeeping_seconds: Duration = setting(
        3600, "how often expired idempotency keys are purged, seconds"
    )
    idempotency_retention_hours: Duration = setting(
        72,
        "the assembly API answers a repeated requestId from memory for at least this "
        "long; older keys are purged and the same requestId counts as a new request",
    )
    handover_max_wrong_tries: PositiveInt = setting(
        5, "wrong handout codes in a row that lock a pickup order's handover at the counter"
    )
    handover_lock_minutes: Duration = setting(
        15, "how long a pickup order's handover stays locked after too many wrong codes"
    )
    pickup_storage_hours: Duration = setting(
        48,
        "a pickup order not collected is kept this many hours after its pickup window ends; "
        "then the store may cancel it (cancelUncollected)",
    )
    pickup_uncollected_reason: str = setting(
        "customer_request",
        "the cancellation reason slug SM gets for a pickup order never collected",
    )
