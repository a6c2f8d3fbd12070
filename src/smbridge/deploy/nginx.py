"""``smbridge nginx render``: a complete nginx.conf for the single entry point, from settings.

Everything the template prints comes through :class:`NginxPlan`, which checks each value,
so a setting cannot inject nginx directives.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from smbridge.assembly.views import API_PREFIX
from smbridge.deploy.certificate import CertificatePair, certificate_problem, host_name
from smbridge.intake.views import HOOK_PATH
from smbridge.settings import Settings

#: The web UI's path (smbridge.ui.web.UI_PREFIX, which the assembly app serves).
UI_PREFIX = "/ui"

_SERVER = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9.\-_* ]+$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?$")
_PATH = re.compile(r"^/[A-Za-z0-9._\-/]*$")
_USER = re.compile(r"^[a-z_][a-z0-9_\-]*( [a-z_][a-z0-9_\-]*)?$")  # user, optional group
#: Who a root-started private stand runs nginx's workers as: the first that exists.
UNPRIVILEGED_USERS = ("www-data", "nobody")
# Upstream keepalive connections idle longer than this are closed by nginx itself; a
# draining worker waits longer (Settings.drain_seconds), so it never closes one under a
# request nginx is about to send.
UPSTREAM_IDLE_SECONDS = 2
#: A scrape runs database queries: one Prometheus (two paths every few seconds) stays well
#: inside this per-address limit; a loop hammering /metrics does not.
METRICS_RATE_PER_SECOND = 1
METRICS_BURST = 5
#: nginx 1.25.1 made HTTP/2 a server directive (``http2 on;``) and deprecated ``listen …
#: http2``; Debian 12's 1.22 knows only the latter.
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
Version = tuple[int, int, int]


@dataclass(frozen=True)
class NginxPlan:
    server_name: str
    public_host: str  # where port 80 redirects: never the Host header a client sent
    http_port: int
    https_port: int
    certificate: str
    certificate_key: str
    hook_servers: tuple[str, ...]
    assembly_servers: tuple[str, ...]
    sm_networks: tuple[str, ...]
    store_networks: tuple[str, ...]
    office_networks: tuple[str, ...]
    hook_rate: int
    api_rate: int
    connections_per_ip: int
    max_body_bytes: int
    proxy_timeout: int
    keepalive: int
    max_fails: int
    fail_timeout: int
    state_dir: str  # "": Debian's standard paths
    user: str | None  # the workers' "user [group]"; None: the master's own (not root)
    http2_directive: bool  # "http2 on;" rather than "listen … http2"
    ipv6: bool = False  # listen on [::] as well
    hook_path: str = HOOK_PATH
    api_prefix: str = API_PREFIX
    ui_prefix: str = UI_PREFIX
    upstream_idle_seconds: int = UPSTREAM_IDLE_SECONDS
    metrics_rate: int = METRICS_RATE_PER_SECOND
    metrics_burst: int = METRICS_BURST

    def __post_init__(self) -> None:
        _check(_SERVER_NAME, self.server_name, "server name")
        _check(_HOST, self.public_host, "public host")
        for server in (*self.hook_servers, *self.assembly_servers):
            _check(_SERVER, server, 'worker address ("host:port")')
        if not self.hook_servers or not self.assembly_servers:
            raise ValueError("each pool needs at least one worker")
        for network in (*self.sm_networks, *self.store_networks, *self.office_networks):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"not an IP network: {network!r}") from None
            if "%" in network:  # an IPv6 scope id would carry any text into the config
                raise ValueError(f"not a plain IP network: {network!r}")
        for path in (self.certificate, self.certificate_key, self.state_dir or "/"):
            _check(_PATH, path, "path")
        if self.user is not None:
            _check(_USER, self.user, "user")

    @property
    def https_suffix(self) -> str:
        """What the HTTP → HTTPS redirect appends to the host (nothing on port 443)."""
        return "" if self.https_port == 443 else f":{self.https_port}"

    @property
    def ui_networks(self) -> tuple[str, ...]:
        """Who may reach the web UI's shared pages: the stores and the office."""
        return tuple(dict.fromkeys((*self.store_networks, *self.office_networks)))

    @property
    def any_allowed_networks(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys((*self.sm_networks, *self.store_networks, *self.office_networks))
        )


def plan_from_settings(
    settings: Settings,
    *,
    state_dir: str | None = None,
    root: bool | None = None,
    version: Version | None = None,
) -> NginxPlan:
    """``root``: whether the nginx master will run as root (workers then need a user);
    by default, whether this process does. ``version``: of the nginx that will read the
    config; by default the installed one's (unknown: the form every version reads)."""
    if root is None:
        root = os.geteuid() == 0
    if version is None:
        version = installed_version()
    directory = settings.nginx_state_dir if state_dir is None else state_dir
    if not directory:
        user: str | None = "www-data"
    else:  # a private stand (``smbridge run``): the workers never run as root
        user = unprivileged_user() if root else None
    return NginxPlan(
        server_name=settings.nginx_server_name,
        public_host=_public_host(settings),
        http_port=settings.nginx_http_port,
        https_port=settings.nginx_https_port,
        certificate=settings.nginx_certificate,
        certificate_key=settings.nginx_certificate_key,
        hook_servers=tuple(settings.nginx_hook_servers)
        or _pool(settings.worker_host, settings.hook_first_port, settings.hook_workers),
        assembly_servers=tuple(settings.nginx_assembly_servers)
        or _pool(settings.worker_host, settings.assembly_first_port, settings.assembly_workers),
        sm_networks=tuple(settings.nginx_sm_networks),
        store_networks=tuple(settings.nginx_store_networks),
        office_networks=tuple(settings.nginx_office_networks),
        hook_rate=settings.nginx_hook_rate_per_second,
        api_rate=settings.nginx_api_rate_per_second,
        connections_per_ip=settings.nginx_connections_per_ip,
        max_body_bytes=settings.hook_max_body_bytes,
        proxy_timeout=settings.nginx_proxy_timeout_seconds,
        keepalive=settings.nginx_upstream_keepalive,
        max_fails=settings.nginx_max_fails,
        fail_timeout=settings.nginx_fail_timeout_seconds,
        state_dir=directory.rstrip("/"),
        user=user,
        http2_directive=version is not None and version >= HTTP2_DIRECTIVE_SINCE,
        ipv6=settings.nginx_listen_ipv6,
    )


def unprivileged_user() -> str:
    """ "user group" for the workers of a root-started private stand. The group is named
    because nginx would otherwise look for one named like the user (Debian's nobody is in
    nogroup)."""
    for name in UNPRIVILEGED_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return f"{name} {grp.getgrgid(entry.pw_gid).gr_name}"
    raise ValueError(f"no unprivileged user ({', '.join(UNPRIVILEGED_USERS)}) for nginx's workers")


def render(plan: NginxPlan) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("smbridge.deploy", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - nginx syntax, not HTML; values are checked above
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("nginx.conf.j2").render(plan=plan)


def write(plan: NginxPlan, output: Path) -> None:
    """Write the config and, for a private stand, the directories it names (the stands'
    own configs; the live one is installed with :func:`install`)."""
    _make_state_dirs(plan)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(plan), encoding="utf-8")


class NginxRefused(ValueError):
    """The config was not installed; the one in place is untouched."""


def install(plan: NginxPlan, output: Path, now: datetime, binary: str | None = None) -> None:
    """Replace ``output`` with the plan's config only once it is proven: the certificate and
    its key exist and have not expired, and ``nginx -t`` accepts the new file (written beside
    the old one, then renamed over it: nginx never reads half a file)."""
    problem = certificate_problem(
        CertificatePair(Path(plan.certificate), Path(plan.certificate_key)), now
    )
    if problem is not None:
        raise NginxRefused(f"{problem}; {output} was not changed")
    binary = binary or find_binary()
    if binary is None:
        raise NginxRefused(
            f"nginx is not installed, the config cannot be tested; {output} was not changed"
        )
    _make_state_dirs(plan)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    candidate = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(render(plan))
        candidate.chmod(0o644)
        tested = subprocess.run(
            [binary, "-t", "-q", "-p", f"{output.parent}/", "-c", str(candidate)],
            capture_output=True,
            text=True,
            check=False,
        )
        if tested.returncode != 0:
            said = tested.stderr.strip().replace(str(candidate), "the new config")
            raise NginxRefused(f"nginx -t refused the new config: {said}; {output} was not changed")
        os.replace(candidate, output)
    finally:
        candidate.unlink(missing_ok=True)


def _make_state_dirs(plan: NginxPlan) -> None:
    if plan.state_dir:
        for sub in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            (Path(plan.state_dir) / sub).mkdir(parents=True, exist_ok=True)


def find_binary() -> str | None:
    """Debian puts nginx in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def installed_version(binary: str | None = None) -> Version | None:
    """What ``nginx -v`` says (on stderr, "nginx version: nginx/1.22.1"); None when nginx
    is not installed or says something else."""
    binary = binary or find_binary()
    if binary is None:
        return None
    shown = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    match = re.search(r"nginx version: \S+?/(\d+)\.(\d+)\.(\d+)", shown.stderr + shown.stdout)
    if match is None:
        return None
    major, minor, patch = map(int, match.groups())
    return major, minor, patch


def foreground_command(binary: str, config: Path) -> list[str]:
    """nginx with a private config, kept in the foreground for a supervisor or a test."""
    return [binary, "-p", str(config.parent), "-c", str(config), "-g", "daemon off;"]


def _public_host(settings: Settings) -> str:
    host = settings.nginx_public_host or host_name(settings.nginx_certificate)
    if not host:
        raise ValueError(
            "the HTTP to HTTPS redirect needs the host name clients use: set "
            f"SMBRIDGE_NGINX_PUBLIC_HOST (no DNS name read from {settings.nginx_certificate})"
        )
    return host


def _pool(host: str, first_port: int, size: int) -> tuple[str, ...]:
    return tuple(f"{host}:{port}" for port in range(first_port, first_port + size))


def _check(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} has characters nginx config cannot take")
