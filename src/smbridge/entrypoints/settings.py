"""The worker pools' settings section: processes, ports and HTTP limits of this machine."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from smbridge.kernel.settings import (
    BodyBytes,
    Duration,
    Port,
    PositiveInt,
    SettingsSection,
    setting,
)


class WorkerSettings(SettingsSection):
    heading: ClassVar[str] = "Worker pools on this machine (systemd units and `smbridge run`)"

    worker_host: str = setting("127.0.0.1", "address the workers listen on")
    hook_workers: PositiveInt = setting(
        4,
        "hook worker processes on this machine (`smbridge run`; with "
        "systemd, one smbridge-hook@PORT unit each)",
    )
    hook_first_port: Port = setting(
        8100, "port of the first hook worker; the others count up from it"
    )
    assembly_workers: PositiveInt = setting(
        4,
        "assembly worker processes on this machine (`smbridge run`; "
        "with systemd, one smbridge-assembly@PORT unit each)",
    )
    assembly_first_port: Port = setting(
        8200, "port of the first assembly worker; the others count up from it"
    )
    trusted_proxies: str = setting(
        "127.0.0.1",
        "comma-separated addresses of the nginx fronts; only they may tell "
        "a worker the client's address (X-Forwarded-For)",
    )
    drain_seconds: Annotated[float, Field(ge=0)] = setting(
        3.0,
        "On SIGTERM a worker keeps serving open connections this long "
        "(answering 'Connection: close') before it exits; keep above nginx's upstream "
        "keepalive timeout so nginx closes them itself",
    )
    api_max_body_bytes: BodyBytes = setting(
        1_048_576,
        "larger bodies to the assembly and ERP APIs are refused with 413, before "
        "they are read (nginx refuses bodies over hook_max_body_bytes)",
    )
    worker_header_timeout_seconds: Duration = setting(
        10.0,
        "a worker answers 408 and closes a connection whose request line and "
        "headers have not all arrived this long after it opened or the request began",
    )
    worker_body_timeout_seconds: Duration = setting(
        30.0,
        "a worker answers 408 and closes a connection whose request body has "
        "not all arrived this long after its headers",
    )
