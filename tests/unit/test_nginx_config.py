"""``smbridge nginx render``: what the settings become, and what they may not contain."""

from __future__ import annotations

import grp
import pwd
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbridge.deploy import nginx
from smbridge.deploy.certificate import CertificatePair, expires_at, self_signed
from smbridge.deploy.nginx import Version, installed_version, plan_from_settings, render
from smbridge.entrypoints.cli.main import app
from smbridge.settings import Settings, get_settings

PUBLIC_HOST = "smbridge.retailer.example"


def settings(**values: object) -> Settings:
    return Settings.model_validate({"nginx_public_host": PUBLIC_HOST, **values})


def config(**values: object) -> str:
    """As rendered for Debian 12's nginx, whichever is installed here."""
    return render(plan_from_settings(settings(**values), root=True, version=(1, 22, 1)))


def location(text: str, path: str) -> str:
    """The body of the location block for ``path``."""
    match = re.search(r"location [=^~ ]*" + re.escape(path) + r" \{(.*?)\n        \}", text, re.S)
    assert match, f"no location {path}"
    return match.group(1)


def test_only_tls_12_and_13_without_session_tickets() -> None:
    text = config()
    assert re.findall(r"ssl_protocols (.*);", text) == ["TLSv1.2 TLSv1.3"]
    assert "ssl_session_tickets off;" in text
    assert 'Strict-Transport-Security "max-age=63072000" always' in text


def blocks_with_headers(text: str) -> list[str]:
    """Each server or location block's own directives (nested blocks cut out) that add a
    header: nginx inherits add_header only into a block that has none of its own."""
    own: list[list[str]] = []
    found = []
    for line in text.splitlines():
        if line.rstrip().endswith("{"):
            own.append([])
        elif line.strip() == "}":
            body = "\n".join(own.pop())
            if "add_header" in body:
                found.append(body)
        elif own:
            own[-1].append(line)
    return found


def test_every_block_that_adds_headers_adds_the_security_ones() -> None:
    blocks = blocks_with_headers(config())
    assert len(blocks) == 6  # both servers, and the 429 and 503 pages of each
    for body in blocks:
        assert "add_header X-Content-Type-Options nosniff always;" in body
        assert "add_header Cache-Control no-store always;" in body
        assert "add_header Content-Security-Policy \"frame-ancestors 'none'\" always;" in body
        assert "add_header X-Request-ID $request_id always;" in body


def test_each_path_allows_its_own_networks_and_denies_the_rest() -> None:
    text = config(
        nginx_sm_networks=["10.1.0.0/16"],
        nginx_store_networks=["10.2.0.0/16", "10.3.0.0/16"],
        nginx_office_networks=["10.9.0.0/24"],
    )
    allowed = {
        "/sbermarket/orders/hook": ["10.1.0.0/16"],
        "/sbermarket/orders/api/": ["10.2.0.0/16", "10.3.0.0/16"],
        "/erp/": ["10.9.0.0/24"],
        "/metrics/hook": ["10.9.0.0/24"],
    }
    for path, networks in allowed.items():
        block = location(text, path)
        assert re.findall(r"allow (\S+);", block) == networks
        assert "deny all;" in block


def test_the_web_ui_is_for_the_stores_and_the_office_and_the_picker_app_for_the_stores() -> None:
    text = config(
        nginx_sm_networks=["10.1.0.0/16"],
        nginx_store_networks=["10.2.0.0/16", "10.9.0.0/24"],
        nginx_office_networks=["10.9.0.0/24"],
    )
    allowed = {
        "/ui/picker/": ["10.2.0.0/16", "10.9.0.0/24"],
        "/ui/ops/": ["10.9.0.0/24"],
        "/ui/": ["10.2.0.0/16", "10.9.0.0/24"],  # a network in both lists is allowed once
    }
    for path, networks in allowed.items():
        block = location(text, path)
        assert re.findall(r"allow (\S+);", block) == networks
        assert "deny all;" in block
        assert "proxy_pass http://assembly_pool;" in block
        assert "limit_req zone=api " in block
    # the longest ^~ prefix wins in nginx whatever the order: the areas stay apart from /ui/
    assert text.count("location ^~ /ui/") == 3


def test_pools_come_from_this_machine_or_from_the_listed_workers() -> None:
    local = config(worker_host="10.0.0.7", hook_first_port=9100, hook_workers=2)
    assert "server 10.0.0.7:9100 max_fails=3" in local
    assert "server 10.0.0.7:9101 max_fails=3" in local
    assert "server 10.0.0.7:9102" not in local
    listed = config(nginx_assembly_servers=["vm1:8200", "vm2:8200"])
    assembly = listed.split("upstream assembly_pool {")[1].split("}")[0]
    assert re.findall(r"server (\S+) ", assembly) == ["vm1:8200", "vm2:8200"]


def test_metrics_have_a_rate_limit_of_their_own() -> None:
    text = config()
    assert "limit_req_zone $binary_remote_addr zone=metrics:1m rate=1r/s;" in text
    for path in ("/metrics/hook", "/metrics/assembly"):
        limits = re.findall(r"limit_req (.*);", location(text, path))
        assert limits == ["zone=metrics burst=5 nodelay"]


def test_only_a_webhook_already_sent_is_replayed_on_another_worker() -> None:
    text = config()
    server_wide = re.findall(r"^        proxy_next_upstream (.*);", text, re.M)
    assert server_wide == ["error timeout"]  # the assembly API, the ERP API, health, metrics
    for path in ("/sbermarket/orders/api/", "/erp/", "/healthz/hook", "/metrics/assembly"):
        assert "proxy_next_upstream" not in location(text, path)
    hook = re.findall(r"proxy_next_upstream (.*);", location(text, "/sbermarket/orders/hook"))
    assert hook == ["error timeout non_idempotent"]  # the journal deduplicates a replay


def redirects(text: str) -> list[str]:
    return re.findall(r"return 301 (\S+);", text)


def test_the_redirect_goes_to_the_public_host_and_keeps_a_non_standard_port() -> None:
    assert redirects(config()) == [f"https://{PUBLIC_HOST}$request_uri"]
    assert redirects(config(nginx_https_port=8443)) == [f"https://{PUBLIC_HOST}:8443$request_uri"]


def test_the_public_host_defaults_to_the_certificates_name(tmp_path: Path) -> None:
    pair = self_signed(tmp_path, "orders.retailer.example")
    text = config(nginx_public_host="", nginx_certificate=str(pair.certificate))
    assert redirects(text) == ["https://orders.retailer.example$request_uri"]


def test_without_a_public_host_or_a_readable_certificate_render_refuses(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.pem")
    with pytest.raises(ValueError, match="set SMBRIDGE_NGINX_PUBLIC_HOST"):
        config(nginx_public_host="", nginx_certificate=missing)


def test_http2_with_the_directive_the_nginx_version_knows() -> None:
    old = render(plan_from_settings(settings(), version=(1, 25, 0)))
    assert "listen 443 ssl http2;" in old
    assert "http2 on;" not in old
    current = render(plan_from_settings(settings(), version=(1, 25, 1)))
    assert "listen 443 ssl;" in current
    assert re.findall(r"^\s*http2 on;", current, re.M) == ["        http2 on;"]


def fake_nginx(tmp_path: Path, says: str) -> str:
    """A stand-in binary: ``nginx -v`` prints its version on stderr."""
    binary = tmp_path / "nginx"
    binary.write_text(f"#!/bin/sh\necho '{says}' >&2\n")
    binary.chmod(0o755)
    return str(binary)


@pytest.mark.parametrize(
    ("says", "version"),
    [
        ("nginx version: nginx/1.22.1", (1, 22, 1)),
        ("nginx version: nginx/1.25.1 (Ubuntu)", (1, 25, 1)),
        ("nginx version: openresty/1.27.1.2", (1, 27, 1)),
        ("command not understood", None),
    ],
)
def test_the_version_is_read_from_nginx_v(
    tmp_path: Path, says: str, version: Version | None
) -> None:
    assert installed_version(fake_nginx(tmp_path, says)) == version


@pytest.mark.parametrize(
    ("says", "listen"),
    [
        ("nginx version: nginx/1.27.3", "listen 443 ssl;"),
        ("nginx version: nginx/1.22.1", "listen 443 ssl http2;"),
        (None, "listen 443 ssl http2;"),  # no nginx here: the form every version reads
    ],
)
def test_render_asks_the_installed_nginx_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, says: str | None, listen: str
) -> None:
    binary = fake_nginx(tmp_path, says) if says else None
    monkeypatch.setattr(nginx, "find_binary", lambda: binary)
    assert listen in render(plan_from_settings(settings(), root=True))


def test_standard_paths_or_a_private_directory(tmp_path: Path) -> None:
    standard = config()
    assert "user www-data;" in standard
    assert "pid /run/nginx.pid;" in standard
    private = config(nginx_state_dir=str(tmp_path))
    assert f"pid {tmp_path}/nginx.pid;" in private
    assert f"client_body_temp_path {tmp_path / 'tmp' / 'body'};" in private


def private(tmp_path: Path, root: bool) -> str:
    plan = plan_from_settings(settings(), state_dir=str(tmp_path), root=root, version=(1, 22, 1))
    return render(plan)


def test_a_private_stand_started_as_root_runs_its_workers_unprivileged(tmp_path: Path) -> None:
    [user] = re.findall(r"^user (.*);", private(tmp_path, root=True), re.M)
    name, group = user.split()
    assert pwd.getpwnam(name).pw_uid != 0
    assert grp.getgrnam(group).gr_gid != 0
    assert re.findall(r"^user ", private(tmp_path, root=False), re.M) == []  # its own user


def test_without_www_data_the_workers_run_as_nobody_in_its_own_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nginx, "UNPRIVILEGED_USERS", ("no-such-user-here", "nobody"))
    group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name  # Debian: nogroup
    assert re.findall(r"^user (.*);", private(tmp_path, root=True), re.M) == [f"nobody {group}"]


def test_a_private_stand_writes_no_body_to_disk(tmp_path: Path) -> None:
    """Its directory may be closed to the unprivileged workers."""
    text = private(tmp_path, root=True)
    assert "client_body_buffer_size 1048576;" in text  # = client_max_body_size
    assert "proxy_max_temp_file_size 0;" in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nginx_sm_networks", ["10.0.0.0/8; allow all"]),
        ("nginx_office_networks", ["::1%a;allow all;#"]),
        ("nginx_hook_servers", ["10.0.0.1:8100 backup"]),
        ("nginx_server_name", "example.com; return 200"),
        ("nginx_public_host", "evil.example/x; return 200"),
        ("nginx_certificate", "/etc/x.pem;\nuser root"),
        ("nginx_assembly_servers", ["10.0.0.1"]),
    ],
)
def test_a_value_that_would_inject_directives_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=r"nginx|network|worker address"):
        config(**{field: value})


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    monkeypatch.setenv("SMBRIDGE_NGINX_PUBLIC_HOST", PUBLIC_HOST)
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def certificate(environment: pytest.MonkeyPatch, tmp_path: Path) -> CertificatePair:
    pair = self_signed(tmp_path / "tls", PUBLIC_HOST)
    environment.setenv("SMBRIDGE_NGINX_CERTIFICATE", str(pair.certificate))
    environment.setenv("SMBRIDGE_NGINX_CERTIFICATE_KEY", str(pair.key))
    return pair


def render_command(output: Path, state: Path) -> tuple[int, str]:
    arguments = ["nginx", "render", "--output", str(output), "--state-dir", str(state)]
    result = CliRunner().invoke(app, arguments)
    return result.exit_code, " ".join(result.output.split())


def test_the_command_installs_what_the_settings_say_once_nginx_accepts_it(
    environment: pytest.MonkeyPatch, certificate: CertificatePair, tmp_path: Path
) -> None:
    environment.setenv("SMBRIDGE_NGINX_SM_NETWORKS", '["192.0.2.0/24"]')
    environment.setenv("SMBRIDGE_NGINX_LISTEN_IPV6", "true")
    output = tmp_path / "etc" / "nginx.conf"
    code, said = render_command(output, tmp_path / "state")
    assert code == 0, said
    assert "installed (nginx -t passed)" in said
    text = output.read_text()
    assert re.findall(r"allow (\S+);", location(text, "/sbermarket/orders/hook")) == [
        "192.0.2.0/24"
    ]
    assert "listen [::]:443 ssl" in text
    assert list(output.parent.iterdir()) == [output]  # no temporary file left


def test_a_missing_certificate_changes_nothing(
    environment: pytest.MonkeyPatch, certificate: CertificatePair, tmp_path: Path
) -> None:
    output = tmp_path / "nginx.conf"
    output.write_text("# the running config\n")
    certificate.key.unlink()
    code, said = render_command(output, tmp_path / "state")
    assert code == 2
    assert f"no file {certificate.key}; {output} was not changed" in said
    assert output.read_text() == "# the running config\n"


def test_an_expired_certificate_is_refused(certificate: CertificatePair, tmp_path: Path) -> None:
    output = tmp_path / "nginx.conf"
    plan = plan_from_settings(get_settings(), state_dir=str(tmp_path / "state"))
    ends = expires_at(str(certificate.certificate))
    assert ends is not None
    with pytest.raises(nginx.NginxRefused, match=r"expired on .*was not changed"):
        nginx.install(plan, output, ends + timedelta(seconds=1))
    assert not output.exists()
    nginx.install(plan, output, ends - timedelta(days=1))  # the day before: still good
    assert output.exists()


def test_a_config_nginx_refuses_is_not_installed(
    certificate: CertificatePair, tmp_path: Path
) -> None:
    refusing = tmp_path / "nginx"  # an nginx whose -t always fails
    refusing.write_text('#!/bin/sh\necho "nginx: [emerg] unknown directive in $6:1" >&2\nexit 1\n')
    refusing.chmod(0o755)
    directory = tmp_path / "etc"
    directory.mkdir()
    (directory / "nginx.conf").write_text("# the running config\n")
    plan = plan_from_settings(get_settings(), state_dir=str(tmp_path / "state"))
    with pytest.raises(
        nginx.NginxRefused,
        match=r"refused the new config: nginx: \[emerg\] unknown directive in the new config:1",
    ):
        nginx.install(plan, directory / "nginx.conf", datetime.now(UTC), binary=str(refusing))
    assert (directory / "nginx.conf").read_text() == "# the running config\n"
    assert list(directory.iterdir()) == [directory / "nginx.conf"]


def test_ipv6_is_listened_on_only_when_configured() -> None:
    assert "[::]" not in config()
    text = config(nginx_listen_ipv6=True)
    assert re.findall(r"listen (\[::\]\S*)", text) == ["[::]:80;", "[::]:443"]


def test_the_command_refuses_a_bad_setting_with_a_clear_message(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("SMBRIDGE_NGINX_OFFICE_NETWORKS", '["office"]')
    result = CliRunner().invoke(app, ["nginx", "render"])
    assert result.exit_code == 2
    assert "not an IP network: 'office'" in result.output
