"""Mosquitto's files rendered from accounts (pure), and the secret hash as ``mosquitto_passwd`` makes it."""

from __future__ import annotations

import base64
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from anxin.broker_sync import gateway_accounts
from broker.auth_files import Account, AuthFileError, render_acl, render_password_file, write_private
from cloud.registry.secrets import matches, mosquitto_hash, new_secret


def test_the_hash_is_the_one_mosquitto_passwd_writes(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail("mosquitto_passwd is required (apt-get install -y mosquitto)")
    file = tmp_path / "passwords"
    subprocess.run([tool, "-c", "-b", str(file), "card-0001", "s3cret-Ü"], check=True, timeout=30)
    written = file.read_text().strip().partition(":")[2]
    assert written.startswith("$7$101$")
    assert matches("s3cret-Ü", written) and not matches("s3cret-U", written)
    salt = base64.b64decode(written.split("$")[3])
    assert mosquitto_hash("s3cret-Ü", salt=salt) == written  # same salt, same bytes as the real tool


def test_secrets_are_random_and_only_their_hash_matches() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and len(a) >= 24
    hashed = mosquitto_hash(a)
    assert matches(a, hashed) and not matches(b, hashed)
    assert mosquitto_hash(a) != hashed  # a fresh salt each time
    for broken in ("", "$6$abc$def", "$7$x$AAAA$BBBB", "$7$101$not base64$!!", "$7$0$AAAA$AAAA"):
        assert not matches(a, broken)


def test_password_file_lists_gateways_then_devices_and_refuses_what_mosquitto_would_misread() -> None:
    device = Account("card-0001", mosquitto_hash("x"))
    gateway = Account("edge-xiqing-01", mosquitto_hash("y"))
    text = render_password_file([device], [gateway])
    assert text.splitlines() == [
        f"edge-xiqing-01:{gateway.password_hash}",
        f"card-0001:{device.password_hash}",
    ]
    for bad in ("#", "+", "a/b", "a:b", "with space", "", "x" * 65):
        with pytest.raises(AuthFileError):
            render_password_file([Account(bad, device.password_hash)], [])
    with pytest.raises(AuthFileError, match="both a gateway and a device"):
        render_password_file([Account("edge-xiqing-01", device.password_hash)], [gateway])
    with pytest.raises(AuthFileError, match="not a mosquitto"):
        render_password_file([Account("card-0002", "plain-text")], [])


def test_acl_gives_each_gateway_its_role_and_every_device_its_subtree() -> None:
    acl = render_acl(["edge-b", "edge-a"])
    assert acl.count("topic read anxin/v1/up/#") == 2
    assert acl.index("user edge-a") < acl.index("user edge-b")
    assert "pattern write anxin/v1/up/%u/#" in acl and "pattern read anxin/v1/down/%u/#" in acl
    assert "topic write anxin/v1/up" not in acl and "pattern read anxin/v1/up" not in acl
    with pytest.raises(AuthFileError):
        render_acl(["edge/#"])


def test_gateway_hash_is_kept_while_its_password_is_unchanged() -> None:
    first = gateway_accounts({"edge-a": "p" * 20}, {})
    again = gateway_accounts({"edge-a": "p" * 20}, {"edge-a": first[0].password_hash})
    changed = gateway_accounts({"edge-a": "q" * 20}, {"edge-a": first[0].password_hash})
    assert again == first
    assert changed[0].password_hash != first[0].password_hash and matches("q" * 20, changed[0].password_hash)


def test_write_private_replaces_the_file_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "auth" / "passwords"
    write_private(target, "one\n")
    target.chmod(0o644)
    write_private(target, "two\n")
    assert target.read_text() == "two\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["passwords"]  # no temp file left behind
