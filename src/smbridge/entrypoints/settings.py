"""The worker pools' settings section: processes, ports and HTTP limits of this machine."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from smbridge.kernel.settings import SettingsSection


class WorkerSettings(SettingsSection):
    heading: ClassVar[str] = "Worker pools on this machine (systemd units and `smbridge run`)"

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
