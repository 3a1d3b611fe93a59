"""A throwaway certificate authority for TLS tests, made with the ``openssl`` CLI in a temp folder."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate clients trust
    cert: Path  # the broker's certificate (CN/SAN localhost, 127.0.0.1), signed by the CA
    key: Path  # its private key (0600)


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path, *, name: str = "anxin-test") -> Certificates:
    """A CA and a server certificate for ``localhost``/``127.0.0.1`` (valid 2 days, EC P-256)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make a throwaway CA (apt-get install -y openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", f"/CN={name} CA", cwd=folder)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=folder)
    (folder / "san.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", encoding="utf-8"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=folder)  # fmt: skip
    (folder / "server.key").chmod(0o600)
    return Certificates(ca=folder / "ca.crt", cert=folder / "server.crt", key=folder / "server.key")
