"""The settings section of nginx, the single entry point (``smbridge nginx render``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from smbridge.kernel.settings import NonNegativeInt, Port, PositiveInt, SettingsSection, setting


class NginxSettings(SettingsSection):
    heading: ClassVar[str] = "nginx, the single entry point (`smbridge nginx render`)"

    nginx_server_name: str = setting("_", "server_name; _ matches any")
    nginx_public_host: str = setting(
        "",
        "the host name clients use; port 80 redirects to it (never to the Host a "
        "client sent). Empty: the first DNS name of NGINX_CERTIFICATE",
    )
    nginx_https_port: Port = setting(443, "HTTPS port")
    nginx_listen_ipv6: bool = setting(False, "listen on IPv6 ([::]) as well as IPv4, on both ports")
    nginx_http_port: Port = setting(80, "HTTP port; it only redirects to HTTPS")
    nginx_certificate: str = setting(
        "/etc/smbridge/tls/fullchain.pem", "company certificate (PEM chain)"
    )
    nginx_certificate_key: str = setting(
        "/etc/smbridge/tls/privkey.pem", "private key of the certificate (PEM)"
    )
    nginx_hook_servers: list[str] = setting(
        [],
        'JSON list of hook workers "host:port" nginx balances; '
        "empty: this machine's pool (worker_host, hook_first_port, hook_workers)",
    )
    nginx_assembly_servers: list[str] = setting(
        [], "JSON list of assembly workers; empty: this machine's pool"
    )
    nginx_sm_networks: list[str] = setting(
        ["127.0.0.1/32"], "JSON list of CIDRs allowed to the hook (SM's)"
    )
    nginx_store_networks: list[str] = setting(
        ["127.0.0.1/32"], "JSON list of CIDRs allowed to the assembly API"
    )
    nginx_office_networks: list[str] = setting(
        ["127.0.0.1/32"], "JSON list of CIDRs allowed to admin paths: ERP API, /metrics, web UI"
    )
    nginx_hook_rate_per_second: PositiveInt = setting(
        2000, "webhooks per second from one client IP (SM sends from few addresses); beyond: 429"
    )
    nginx_api_rate_per_second: PositiveInt = setting(
        50, "assembly API and admin requests per second from one client IP; beyond: 429"
    )
    nginx_connections_per_ip: Annotated[int, Field(ge=1, le=65535)] = setting(
        200, "open connections per client IP; beyond: 429"
    )
    nginx_proxy_timeout_seconds: PositiveInt = setting(
        30, "nginx's timeouts for sending to and reading from a worker"
    )
    nginx_upstream_keepalive: NonNegativeInt = setting(
        32, "idle keep-alive connections nginx keeps to each pool"
    )
    nginx_max_fails: NonNegativeInt = setting(
        3,
        "passive health: a worker that fails this many connections "
        "within NGINX_FAIL_TIMEOUT_SECONDS is skipped for that long "
        "(0: never skipped)",
    )
    nginx_fail_timeout_seconds: PositiveInt = setting(
        10,
        "passive health window and how long a failed worker is "
        "skipped; deploy/rolling-restart.sh waits this long between "
        "workers",
    )
    nginx_state_dir: str = setting(
        "",
        "empty: Debian's paths (/run/nginx.pid, /var/log/nginx); "
        "set: pid, logs and temp files under this directory (unprivileged nginx)",
    )
