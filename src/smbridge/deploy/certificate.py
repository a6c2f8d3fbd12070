"""A self-signed certificate for a local or test stand (production uses the company's)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertificatePair:
    certificate: Path
    key: Path


def trusting(ca_file: str | None) -> ssl.SSLContext | bool:
    """What an HTTP client verifies servers with: the system's CAs, or one certificate."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def self_signed(directory: Path, hostname: str = "localhost") -> CertificatePair:
    """Make (once) a P-256 certificate for ``hostname``, 127.0.0.1 and ::1 with openssl."""
    pair = CertificatePair(directory / "selfsigned.crt", directory / "selfsigned.key")
    if pair.certificate.exists() and pair.key.exists():
        return pair
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to make a self-signed certificate")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "365",
            "-subj",
            f"/CN={hostname}",
            "-addext",
            f"subjectAltName=DNS:{hostname},IP:127.0.0.1,IP:::1",
            "-keyout",
            str(pair.key),
            "-out",
            str(pair.certificate),
        ],
        check=True,
        capture_output=True,
    )
    pair.key.chmod(0o600)
    return pair
