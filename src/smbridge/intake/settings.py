"""The hook service's settings sections: how SM's webhooks are taken in and tried again."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr

from smbridge.kernel.settings import (
    BodyBytes,
    Duration,
    NonNegativeInt,
    OperationsSettings,
    SettingsSection,
    secret,
    setting,
)


class HookAuthMode(StrEnum):
    TOKEN = "token"  # noqa: S105 - header Client-Token (SM's default), not a secret
    BASIC = "basic"  # HTTP Basic, used by some SM setups


class WebhookReplaySettings(SettingsSection):
    """Failed webhooks are tried again on their own; monitoring alerts when that is over."""

    heading: ClassVar[str] = "Failed webhooks, tried again on their own"

    job_webhook_replay_seconds: Duration = setting(
        30, "how often failed webhooks are tried again, seconds"
    )
    webhook_replay_attempts: Annotated[int, Field(ge=1, le=50)] = setting(
        5,
        "how many times a failed webhook is applied in all (first try included) "
        "before operations are alerted; later replays are by hand",
    )
    webhook_replay_first_seconds: Duration = setting(
        30, "wait before the first automatic replay of a failed webhook; doubles each time"
    )


class IntakeSettings(WebhookReplaySettings, OperationsSettings):
    heading: ClassVar[str] = "Hook service: SM's order webhooks (SM -> us) and our orders"

    hook_auth_mode: HookAuthMode = setting(
        HookAuthMode.TOKEN,
        "how SM authenticates its webhooks: token (header Client-Token) or basic (HTTP Basic)",
    )
    hook_token: SecretStr = secret("Client-Token we gave to SM; empty refuses everything")
    hook_token_previous: SecretStr = secret("Still accepted during a token rotation")
    hook_basic_user: str = setting("", "HTTP Basic user SM sends (hook_auth_mode=basic)")
    hook_basic_password: SecretStr = secret("HTTP Basic password SM sends (hook_auth_mode=basic)")
    hook_max_body_bytes: BodyBytes = setting(
        1_048_576, "larger webhook bodies are refused with 413 (by nginx and the workers)"
    )
    order_number_prefix: Annotated[str, Field(max_length=8)] = setting(
        "SM", "our order numbers: this prefix and 8 digits"
    )
    default_assembly_lead_minutes: NonNegativeInt = setting(
        30, "assembly lead time of a store that sets none of its own, minutes"
    )
    handover_buffer_minutes: NonNegativeInt = setting(
        15, "an order is due this many minutes before its delivery window opens"
    )
    store_wait_minutes: Duration = setting(
        30,
        "an order for an SM store not mapped yet waits this long for `smbridge stores add`;"
        " then it is cancelled and SM told, minutes",
    )
    job_waiting_orders_seconds: Duration = setting(
        60,
        "how often orders waiting for their store are adopted (store mapped) or"
        " cancelled (waited too long), seconds",
    )
    notify_accepted: bool = setting(True, "send order.accepted on creation")
