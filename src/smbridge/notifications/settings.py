"""The settings section of notifications to SM (SM-API.md section 2)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from smbridge.kernel.settings import (
    Duration,
    OperationsSettings,
    PositiveFloat,
    PositiveInt,
    secret,
    setting,
)
from smbridge.notifications.sm_client import SmApiGeneration


class NotificationSettings(OperationsSettings):
    heading: ClassVar[str] = "Notifications to SM (SM-API.md section 2)"

    sm_api_generation: SmApiGeneration = setting(
        SmApiGeneration.CLASSIC,
        "SM's API generation: classic (Client-Token, Api-Version 3.0)"
        " or ofm (OAuth client credentials)",
    )
    sm_base_url: str = setting(
        "", "e.g. https://api.sbermarket.ru; empty: notifications stay queued"
    )
    sm_classic_path: str = setting(
        "/v1/notifications", "notification endpoint path (classic generation)"
    )
    sm_token: SecretStr = secret("Client-Token SM issued us")
    sm_ofm_auth_path: str = setting("/auth/token", "OAuth token endpoint path (ofm generation)")
    sm_ofm_path: str = setting(
        "/ofm/api/v1/notifications", "notification endpoint path (ofm generation)"
    )
    sm_client_id: str = setting("", "OAuth client id SM issued us (ofm generation)")
    sm_client_secret: SecretStr = secret("OAuth client secret SM issued us (ofm generation)")
    sm_timeout_seconds: Duration = setting(10.0, "timeout of one request to SM's API, seconds")
    dispatch_first_retry_seconds: Duration = setting(
        1.0,
        "first retry delay of an undelivered notification; it doubles"
        " (with jitter) up to the maximum",
    )
    dispatch_max_retry_seconds: Duration = setting(
        300.0, "longest retry delay of a notification, seconds"
    )
    dispatch_max_attempts: PositiveInt = setting(
        12, "attempts before a notification becomes a dead letter"
    )
    dispatch_lease_seconds: Duration = setting(
        60.0,
        "a sender's lease on a notification in flight; if the sender "
        "dies, another takes it over after this",
    )
    dispatch_poll_seconds: Duration = setting(
        0.5, "how often the dispatcher looks for due notifications, seconds"
    )
    dispatch_threads: PositiveInt = setting(
        8, "notifications sent in parallel (one order's always in order)"
    )
    dispatch_max_per_second: PositiveFloat = setting(
        100.0,
        "notifications one dispatcher sends to SM per second at most; the backlog"
        " after an SM outage drains at this pace",
    )
    dispatch_down_after_failures: PositiveInt = setting(
        5,
        "failed sends in a row after which a dispatcher treats SM as down and only"
        " probes it, instead of retrying every due notification",
    )
    dispatch_probe_seconds: Duration = setting(
        2.0, "while SM is down, one notification is tried this often, seconds"
    )
