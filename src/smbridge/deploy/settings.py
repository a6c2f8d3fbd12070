"""The settings section of nginx, the single entry point (``smbridge nginx render``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from smbridge.kernel.settings import SettingsSection


class NginxSettings(SettingsSection):
    heading: ClassVar[str] = "nginx, the single entry point (`smbridge nginx render`)"

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
