"""The settings section of notifications to SM (SM-API.md section 2)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from smbridge.kernel.settings import OperationsSettings
from smbridge.notifications.sm_client import SmApiGeneration


class NotificationSettings(OperationsSettings):
    heading: ClassVar[str] = "Notifications to SM (SM-API.md section 2)"

    sm_api_generation: SmApiGeneration = Field(
        default=SmApiGeneration.CLASSIC,
        description=(
            "SM's API generation: classic (Client-Token, Api-Version 3.0)"
            " or ofm (OAuth client credentials)"
        ),
    )
    sm_base_url: str = Field(
        default="", description="e.g. https://api.sbermarket.ru; empty: notifications stay queued"
    )
    sm_classic_path: str = Field(
        default="/v1/notifications", description="notification endpoint path (classic generation)"
    )
    sm_token: SecretStr = Field(default=SecretStr(""), description="Client-Token SM issued us")
    sm_ofm_auth_path: str = Field(
        default="/auth/token", description="OAuth token endpoint path (ofm generation)"
    )
    sm_ofm_path: str = Field(
        default="/ofm/api/v1/notifications",
        description="notification endpoint path (ofm generation)",
    )
    sm_client_id: str = Field(
        default="", description="OAuth client id SM issued us (ofm generation)"
    )
    sm_client_secret: SecretStr = Field(
        default=SecretStr(""), description="OAuth client secret SM issued us (ofm generation)"
    )
    sm_timeout_seconds: float = Field(
        default=10.0, gt=0, description="timeout of one request to SM's API, seconds"
    )
    dispatch_first_retry_seconds: float = Field(
        default=1.0,
        gt=0,
        description=(
            "first retry delay of an undelivered notification; it doubles"
            " (with jitter) up to the maximum"
        ),
    )
    dispatch_max_retry_seconds: float = Field(
        default=300.0, gt=0, description="longest retry delay of a notification, seconds"
    )
    dispatch_max_attempts: int = Field(
        default=12, ge=1, description="attempts before a notification becomes a dead letter"
    )
    dispatch_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "a sender's lease on a notification in flight; if the sender "
            "dies, another takes it over after this"
        ),
    )
    dispatch_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="how often the dispatcher looks for due notifications, seconds",
    )
    dispatch_threads: int = Field(
        default=8,
        ge=1,
        description="notifications sent in parallel (one order's always in order)",
    )
    dispatch_max_per_second: float = Field(
        default=100.0,
        gt=0,
        description=(
            "notifications one dispatcher sends to SM per second at most; the backlog"
            " after an SM outage drains at this pace"
        ),
    )
    dispatch_down_after_failures: int = Field(
        default=5,
        ge=1,
        description=(
            "failed sends in a row after which a dispatcher treats SM as down and only"
            " probes it, instead of retrying every due notification"
        ),
    )
    dispatch_probe_seconds: float = Field(
        default=2.0,
        gt=0,
        description="while SM is down, one notification is tried this often, seconds",
    )
