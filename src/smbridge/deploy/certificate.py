"""A self-signed certificate for a local or test stand (production uses the company's),
and the host name a certificate is for."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
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


def host_name(certificate: str) -> str | None:
    """The first DNS name ``certificate`` is for (its subjectAltName, else its CN); None if
    it cannot be read or names only wildcards. openssl reads it: no Python X.509 library."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    command = [openssl, "x509", "-in", certificate, "-noout", "-subject", "-nameopt", "RFC2253"]
    shown = subprocess.run(
        [*command, "-ext", "subjectAltName"], capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:
        return None
    names = re.findall(r"DNS:([^\s,]+)", shown.stdout)
    names += re.findall(r"^subject=.*?\bCN=([^,\n]+)", shown.stdout, re.M)
    return next((name for name in names if "*" not in name), None)


def expires_at(certificate: str) -> datetime | None:
    """When ``certificate`` (PEM, its first certificate) stops being valid; None if openssl
    cannot read it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to read a certificate")
    shown = subprocess.run(
        [openssl, "x509", "-in", certificate, "-noout", "-enddate"],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"notAfter=(.+)", shown.stdout)
    if shown.returncode != 0 or match is None:
        return None
    # openssl prints "Jan  1 00:00:00 2027 GMT"
    return datetime.strptime(match.group(1).strip(), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)


def certificate_problem(pair: CertificatePair, now: datetime) -> str | None:
    """Why nginx must not be given this certificate and key (None: it may)."""
    for path in (pair.certificate, pair.key):
        if not path.is_file():
            return f"no file {path}"
    ends = expires_at(str(pair.certificate))
    if ends is None:
        return f"{pair.certificate} is not a PEM certificate"
    if ends <= now:
        return f"the certificate {pair.certificate} expired on {ends:%Y-%m-%d %H:%M} UTC"
    return None
