"""Building the dispatcher from settings (shared by the assembly workers and its own process)."""

from __future__ import annotations

from datetime import timedelta

from smbridge.domain.notification import RetryPolicy
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.dispatcher import Dispatcher, DispatchPolicy
from smbridge.notifications.link import LinkPolicy
from smbridge.notifications.settings import NotificationSettings
from smbridge.notifications.sm_client import SmApiConfig, SmClient


def sm_client(settings: NotificationSettings) -> SmClient | None:
    """None while SM's address is not configured: notifications then wait in the outbox."""
    if not settings.sm_base_url:
        return None
    return SmClient(
        SmApiConfig(
            base_url=settings.sm_base_url,
            generation=settings.sm_api_generation,
            classic_path=settings.sm_classic_path,
            classic_token=settings.sm_token.get_secret_value(),
            ofm_auth_path=settings.sm_ofm_auth_path,
            ofm_path=settings.sm_ofm_path,
            client_id=settings.sm_client_id,
            client_secret=settings.sm_client_secret.get_secret_value(),
            timeout_seconds=settings.sm_timeout_seconds,
        )
    )


def dispatch_policy(settings: NotificationSettings) -> DispatchPolicy:
    return DispatchPolicy(
        retry=RetryPolicy(
            first_delay=timedelta(seconds=settings.dispatch_first_retry_seconds),
            max_delay=timedelta(seconds=settings.dispatch_max_retry_seconds),
            max_attempts=settings.dispatch_max_attempts,
        ),
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        link=LinkPolicy(
            max_per_second=settings.dispatch_max_per_second,
            down_after=settings.dispatch_down_after_failures,
            probe_every=timedelta(seconds=settings.dispatch_probe_seconds),
        ),
    )


def dispatcher(settings: NotificationSettings, db: Database, clock: Clock) -> Dispatcher | None:
    client = sm_client(settings)
    return None if client is None else Dispatcher(db, client, dispatch_policy(settings), clock)
