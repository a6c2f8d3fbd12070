"""Settings, read from the environment (prefix ``SMBRIDGE_``) and an optional ``.env`` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from smbridge.adapters.sm_client import SmApiGeneration


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
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    db_pool_size: int = Field(default=8, ge=1, description="PostgreSQL pool per process")

    hook_auth_mode: HookAuthMode = HookAuthMode.TOKEN
    hook_token: SecretStr = Field(
        default=SecretStr(""), description="Client-Token we gave to SM; empty refuses everything"
    )
    hook_token_previous: SecretStr = Field(
        default=SecretStr(""), description="Still accepted during a token rotation"
    )
    hook_basic_user: str = ""
    hook_basic_password: SecretStr = SecretStr("")
    hook_max_body_bytes: int = Field(default=1_048_576, ge=1024)

    order_number_prefix: str = Field(default="SM", max_length=8)
    default_assembly_lead_minutes: int = Field(default=30, ge=0)
    handover_buffer_minutes: int = Field(
        default=15, ge=0, description="Order ready this long before the delivery window opens"
    )
    default_timezone: str = "Europe/Moscow"
    operations_chat_id: str = Field(
        default="", description="Telegram chat of the e-commerce operations team"
    )

    # --- notifications to SM (SM-API.md §2) ---
    sm_api_generation: SmApiGeneration = SmApiGeneration.CLASSIC
    sm_base_url: str = Field(
        default="", description="e.g. https://api.sbermarket.ru; empty: notifications stay queued"
    )
    sm_classic_path: str = "/v1/notifications"
    sm_token: SecretStr = Field(default=SecretStr(""), description="Client-Token SM issued us")
    sm_ofm_auth_path: str = "/auth/token"
    sm_ofm_path: str = "/ofm/api/v1/notifications"
    sm_client_id: str = ""
    sm_client_secret: SecretStr = SecretStr("")
    sm_timeout_seconds: float = Field(default=10.0, gt=0)
    notify_accepted: bool = Field(default=True, description="send order.accepted on creation")
    notify_assembled: bool = Field(default=True, description="send the optional order.assembled")
    dispatch_first_retry_seconds: float = Field(default=1.0, gt=0)
    dispatch_max_retry_seconds: float = Field(default=300.0, gt=0)
    dispatch_max_attempts: int = Field(default=12, ge=1)
    dispatch_lease_seconds: float = Field(default=60.0, gt=0)
    dispatch_poll_seconds: float = Field(default=0.5, gt=0)
    dispatch_threads: int = Field(default=8, ge=1)

    # --- scheduled procedures ---
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_token: SecretStr = SecretStr("")
    telegram_per_second: int = Field(default=30, ge=1)
    telegram_private_per_second: int = Field(default=1, ge=1)
    telegram_group_per_minute: int = Field(default=20, ge=1)
    job_telegram_seconds: float = Field(default=10, gt=0)
    job_monitoring_seconds: float = Field(default=60, gt=0)
    job_sales_seconds: float = Field(default=3600, gt=0)
    job_lease_seconds: float = Field(default=60, gt=0)
    monitor_new_not_taken_minutes: float = 10
    monitor_not_ready_before_window_minutes: float = 30
    monitor_notification_stuck_minutes: float = 10
    monitor_notification_attempts: int = 5
    monitor_parked_minutes: float = 30
    monitor_silence_minutes: float = 60
    monitor_store_hours: str = Field(default="08:00-23:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    monitor_telegram_backlog: int = 200
    monitor_telegram_oldest_minutes: float = 10
    monitor_document_due_hours: float = 2
    monitor_lookback_days: float = 7
    monitor_remind_minutes: float = 30
    sales_export_dir: str = Field(
        default="", description="JSON/CSV files for the ERP; empty: API only"
    )
    erp_token: SecretStr = Field(default=SecretStr(""), description="X-ERP-Token of the ERP")

    # --- worker pools on this machine (systemd units and ``smbridge run``) ---
    worker_host: str = Field(default="127.0.0.1", description="address the workers listen on")
    hook_workers: int = Field(default=4, ge=1, description="hook worker processes")
    hook_first_port: int = Field(default=8100, ge=1, le=65535, description="ports count up")
    assembly_workers: int = Field(default=4, ge=1, description="assembly worker processes")
    assembly_first_port: int = Field(default=8200, ge=1, le=65535, description="ports count up")
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

    # --- nginx, the single entry point (``smbridge nginx render``) ---
    nginx_server_name: str = Field(default="_", description="server_name; _ matches any")
    nginx_https_port: int = Field(default=443, ge=1, le=65535)
    nginx_http_port: int = Field(default=80, ge=1, le=65535, description="redirects to HTTPS")
    nginx_certificate: str = Field(
        default="/etc/smbridge/tls/fullchain.pem", description="company certificate (PEM chain)"
    )
    nginx_certificate_key: str = Field(default="/etc/smbridge/tls/privkey.pem")
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
        default=2000, ge=1, description="per client IP; SM sends from few addresses"
    )
    nginx_api_rate_per_second: int = Field(default=50, ge=1, description="per client IP")
    nginx_connections_per_ip: int = Field(default=200, ge=1, le=65535)
    nginx_proxy_timeout_seconds: int = Field(default=30, ge=1)
    nginx_upstream_keepalive: int = Field(
        default=32, ge=0, description="idle connections to each pool"
    )
    nginx_max_fails: int = Field(default=3, ge=0, description="passive health: failures ...")
    nginx_fail_timeout_seconds: int = Field(default=10, ge=1, description="... within this")
    nginx_state_dir: str = Field(
        default="",
        description="empty: Debian's paths (/run/nginx.pid, /var/log/nginx); "
        "set: pid, logs and temp files under this directory (unprivileged nginx)",
    )

    log_level: str = "INFO"
    log_json: bool = True


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
