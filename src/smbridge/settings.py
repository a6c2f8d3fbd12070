"""Settings, read from the environment (prefix ``SMBRIDGE_``) and an optional ``.env`` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from smbridge.notifications.sm_client import SmApiGeneration


class HookAuthMode(StrEnum):
    TOKEN = "token"  # noqa: S105 - header Client-Token (SM's default), not a secret
    BASIC = "basic"  # HTTP Basic, used by some SM setups


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMBRIDGE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///./smbridge.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="how long a SQLite writer waits for the write lock, milliseconds",
    )
    db_pool_size: int = Field(
        default=8,
        ge=1,
        description="PostgreSQL connections per process (and as many again as overflow)",
    )

    hook_auth_mode: HookAuthMode = Field(
        default=HookAuthMode.TOKEN,
        description=(
            "how SM authenticates its webhooks: token (header Client-Token) or basic (HTTP Basic)"
        ),
    )
    hook_token: SecretStr = Field(
        default=SecretStr(""), description="Client-Token we gave to SM; empty refuses everything"
    )
    hook_token_previous: SecretStr = Field(
        default=SecretStr(""), description="Still accepted during a token rotation"
    )
    hook_basic_user: str = Field(
        default="", description="HTTP Basic user SM sends (hook_auth_mode=basic)"
    )
    hook_basic_password: SecretStr = Field(
        default=SecretStr(""), description="HTTP Basic password SM sends (hook_auth_mode=basic)"
    )
    hook_max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="larger webhook bodies are refused with 413 (by nginx and the workers)",
    )

    order_number_prefix: str = Field(
        default="SM", max_length=8, description="our order numbers: this prefix and 8 digits"
    )
    default_assembly_lead_minutes: int = Field(
        default=30,
        ge=0,
        description="assembly lead time of a store that sets none of its own, minutes",
    )
    handover_buffer_minutes: int = Field(
        default=15,
        ge=0,
        description="an order is due this many minutes before its delivery window opens",
    )
    store_wait_minutes: float = Field(
        default=30,
        gt=0,
        description=(
            "an order for an SM store not mapped yet waits this long for `smbridge stores add`;"
            " then it is cancelled and SM told, minutes"
        ),
    )
    default_timezone: str = Field(
        default="Europe/Moscow",
        description="time zone of the times in messages when a store has none",
    )
    operations_chat_id: str = Field(
        default="", description="Telegram chat of the e-commerce operations team"
    )

    # --- notifications to SM (SM-API.md §2) ---
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
    notify_accepted: bool = Field(default=True, description="send order.accepted on creation")
    notify_assembled: bool = Field(default=True, description="send the optional order.assembled")
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

    # --- scheduled procedures ---
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="Telegram Bot API (the test stand points it at the emulator)",
    )
    telegram_bot_token: SecretStr = Field(
        default=SecretStr(""),
        description="the bot's token from @BotFather; empty: messages wait in the queue",
    )
    telegram_per_second: int = Field(
        default=30, ge=1, description="messages per second for the bot overall (Telegram's limit)"
    )
    telegram_private_per_second: int = Field(
        default=1, ge=1, description="messages per second to one private chat"
    )
    telegram_group_per_minute: int = Field(
        default=20, ge=1, description="messages per minute to one group chat"
    )
    job_telegram_seconds: float = Field(
        default=10, gt=0, description="how often the Telegram sender runs, seconds"
    )
    job_monitoring_seconds: float = Field(
        default=60, gt=0, description="how often monitoring runs, seconds"
    )
    job_sales_seconds: float = Field(
        default=3600, gt=0, description="how often sales documents are created, seconds"
    )
    job_webhook_replay_seconds: float = Field(
        default=30, gt=0, description="how often failed webhooks are tried again, seconds"
    )
    webhook_replay_attempts: int = Field(
        default=5,
        ge=1,
        le=50,
        description=(
            "how many times a failed webhook is applied in all (first try included) "
            "before operations are alerted; later replays are by hand"
        ),
    )
    webhook_replay_first_seconds: float = Field(
        default=30,
        gt=0,
        description="wait before the first automatic replay of a failed webhook; doubles each time",
    )
    job_housekeeping_seconds: float = Field(
        default=3600, gt=0, description="how often expired idempotency keys are purged, seconds"
    )
    idempotency_retention_hours: float = Field(
        default=72,
        gt=0,
        description=(
            "the assembly API answers a repeated requestId from memory for at least this "
            "long; older keys are purged and the same requestId counts as a new request"
        ),
    )
    job_waiting_orders_seconds: float = Field(
        default=60,
        gt=0,
        description=(
            "how often orders waiting for their store are adopted (store mapped) or"
            " cancelled (waited too long), seconds"
        ),
    )
    job_lease_seconds: float = Field(
        default=60,
        gt=0,
        description=(
            "a scheduler's lease on a job run, renewed while it runs; it "
            "expires if its holder dies, and another scheduler may run "
            "the job"
        ),
    )
    monitor_new_not_taken_minutes: float = Field(
        default=10,
        description="alert when a new order is not taken by a picker within this many minutes",
    )
    monitor_not_ready_before_window_minutes: float = Field(
        default=30,
        description=(
            "alert when an order is not ready this many minutes before its delivery window opens"
        ),
    )
    monitor_notification_stuck_minutes: float = Field(
        default=10,
        description="alert when a notification to SM is undelivered this many minutes ...",
    )
    monitor_notification_attempts: int = Field(
        default=5, description="... or after this many attempts"
    )
    monitor_parked_minutes: float = Field(
        default=30,
        description="alert when a webhook waits (parked) this many minutes for its order",
    )
    monitor_silence_minutes: float = Field(
        default=60,
        description="alert when SM sends no webhook for this many minutes during store hours",
    )
    monitor_store_hours: str = Field(
        default="08:00-23:00",
        pattern=r"^\d\d:\d\d-\d\d:\d\d$",
        description="store hours, HH:MM-HH:MM, in which silence from SM is alarming",
    )
    monitor_telegram_backlog: int = Field(
        default=200, description="alert when more Telegram messages than this wait ..."
    )
    monitor_telegram_oldest_minutes: float = Field(
        default=10, description="... or the oldest waits this many minutes"
    )
    monitor_document_due_hours: float = Field(
        default=2,
        description="alert when a delivered order has no sales document after this many hours",
    )
    monitor_lookback_days: float = Field(
        default=7, description="how far back the paid-amount check looks, days"
    )
    monitor_remind_minutes: float = Field(
        default=30,
        description="repeat the alert of a problem that persists every this many minutes",
    )
    monitor_incident_update_minutes: float = Field(
        default=15,
        gt=0,
        description=(
            "an incident (many orders, one cause) gets an update at most this often, "
            "and only when its count changed"
        ),
    )
    monitor_incident_examples: int = Field(
        default=3,
        ge=1,
        le=20,
        description="how many order numbers, oldest first, an incident's alert names",
    )
    sales_export_dir: str = Field(
        default="", description="JSON/CSV files for the ERP; empty: API only"
    )
    erp_token: SecretStr = Field(default=SecretStr(""), description="X-ERP-Token of the ERP")

    # --- worker pools on this machine (systemd units and ``smbridge run``) ---
    worker_host: str = Field(default="127.0.0.1", description="address the workers listen on")
    hook_workers: int = Field(
        default=4,
        ge=1,
        description=(
            "hook worker processes on this machine (`smbridge run`; with "
            "systemd, one smbridge-hook@PORT unit each)"
        ),
    )
    hook_first_port: int = Field(
        default=8100,
        ge=1,
        le=65535,
        description="port of the first hook worker; the others count up from it",
    )
    assembly_workers: int = Field(
        default=4,
        ge=1,
        description=(
            "assembly worker processes on this machine (`smbridge run`; "
            "with systemd, one smbridge-assembly@PORT unit each)"
        ),
    )
    assembly_first_port: int = Field(
        default=8200,
        ge=1,
        le=65535,
        description="port of the first assembly worker; the others count up from it",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="comma-separated addresses of the nginx fronts; only they may tell "
        "a worker the client's address (X-Forwarded-For)",
    )
    drain_seconds: float = Field(
        default=3.0,
        ge=0,
        description="On SIGTERM a worker keeps serving open connections this long "
        "(answering 'Connection: close') before it exits; keep above nginx's upstream "
        "keepalive timeout so nginx closes them itself",
    )
    api_max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="larger bodies to the assembly and ERP APIs are refused with 413, before "
        "they are read (nginx refuses bodies over hook_max_body_bytes)",
    )
    worker_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="a worker answers 408 and closes a connection whose request line and "
        "headers have not all arrived this long after it opened or the request began",
    )
    worker_body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a worker answers 408 and closes a connection whose request body has "
        "not all arrived this long after its headers",
    )

    # --- nginx, the single entry point (``smbridge nginx render``) ---
    nginx_server_name: str = Field(default="_", description="server_name; _ matches any")
    nginx_public_host: str = Field(
        default="",
        description="the host name clients use; port 80 redirects to it (never to the Host a "
        "client sent). Empty: the first DNS name of NGINX_CERTIFICATE",
    )
    nginx_https_port: int = Field(default=443, ge=1, le=65535, description="HTTPS port")
    nginx_http_port: int = Field(
        default=80, ge=1, le=65535, description="HTTP port; it only redirects to HTTPS"
    )
    nginx_certificate: str = Field(
        default="/etc/smbridge/tls/fullchain.pem", description="company certificate (PEM chain)"
    )
    nginx_certificate_key: str = Field(
        default="/etc/smbridge/tls/privkey.pem",
        description="private key of the certificate (PEM)",
    )
    nginx_hook_servers: list[str] = Field(
        default=[],
        description='JSON list of hook workers "host:port" nginx balances; '
        "empty: this machine's pool (worker_host, hook_first_port, hook_workers)",
    )
    nginx_assembly_servers: list[str] = Field(
        default=[], description="JSON list of assembly workers; empty: this machine's pool"
    )
    nginx_sm_networks: list[str] = Field(
        default=["127.0.0.1/32"], description="JSON list of CIDRs allowed to the hook (SM's)"
    )
    nginx_store_networks: list[str] = Field(
        default=["127.0.0.1/32"], description="JSON list of CIDRs allowed to the assembly API"
    )
    nginx_office_networks: list[str] = Field(
        default=["127.0.0.1/32"],
        description="JSON list of CIDRs allowed to admin paths: ERP API, /metrics, web UI",
    )
    nginx_hook_rate_per_second: int = Field(
        default=2000,
        ge=1,
        description=(
            "webhooks per second from one client IP (SM sends from few addresses); beyond: 429"
        ),
    )
    nginx_api_rate_per_second: int = Field(
        default=50,
        ge=1,
        description="assembly API and admin requests per second from one client IP; beyond: 429",
    )
    nginx_connections_per_ip: int = Field(
        default=200, ge=1, le=65535, description="open connections per client IP; beyond: 429"
    )
    nginx_proxy_timeout_seconds: int = Field(
        default=30, ge=1, description="nginx's timeouts for sending to and reading from a worker"
    )
    nginx_upstream_keepalive: int = Field(
        default=32, ge=0, description="idle keep-alive connections nginx keeps to each pool"
    )
    nginx_max_fails: int = Field(
        default=3,
        ge=0,
        description=(
            "passive health: a worker that fails this many connections "
            "within NGINX_FAIL_TIMEOUT_SECONDS is skipped for that long "
            "(0: never skipped)"
        ),
    )
    nginx_fail_timeout_seconds: int = Field(
        default=10,
        ge=1,
        description=(
            "passive health window and how long a failed worker is "
            "skipped; deploy/rolling-restart.sh waits this long between "
            "workers"
        ),
    )
    nginx_state_dir: str = Field(
        default="",
        description="empty: Debian's paths (/run/nginx.pid, /var/log/nginx); "
        "set: pid, logs and temp files under this directory (unprivileged nginx)",
    )

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(
        default=True,
        description="one JSON object per log line on stderr (false: lines for humans)",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
