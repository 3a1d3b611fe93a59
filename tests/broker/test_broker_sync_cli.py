"""``anxin broker sync`` as an operator runs it: settings from the environment, files out, clear refusals."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from broker_district import EDGE, GATEWAY_PASSWORD, provision

from anxin.cli import main
from cloud.registry.secrets import matches


def test_sync_writes_logins_and_acl_and_issues_missing_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    secrets = asyncio.run(provision(db_url, ("card-0001",)))
    monkeypatch.setenv("ANXIN_BROKER_GATEWAYS", json.dumps({EDGE: GATEWAY_PASSWORD}))
    out, issued = tmp_path / "auth", tmp_path / "sim" / "credentials.json"
    code = main(["broker", "sync", "--db", db_url, "--out-dir", str(out), "--issue-missing", str(issued)])
    assert code == 0
    assert "now send mosquitto SIGHUP" in capsys.readouterr().out
    logins = dict(line.split(":", 1) for line in (out / "passwords").read_text().splitlines())
    assert set(logins) == {EDGE, "card-0001"}
    assert matches(secrets["card-0001"], logins["card-0001"]) and matches(GATEWAY_PASSWORD, logins[EDGE])
    assert f"user {EDGE}" in (out / "acl").read_text()
    assert json.loads(issued.read_text()) == {}  # card-0001 already had its secret from provisioning
    assert stat.S_IMODE(issued.stat().st_mode) == 0o600


def test_sync_refuses_a_device_named_like_a_gateway_and_a_placeholder_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    asyncio.run(provision(db_url, ("edge-xiqing-01",)))
    monkeypatch.setenv("ANXIN_BROKER_GATEWAYS", json.dumps({EDGE: GATEWAY_PASSWORD}))
    assert main(["broker", "sync", "--db", db_url, "--out-dir", str(tmp_path / "auth")]) == 1
    assert not (tmp_path / "auth" / "passwords").exists()
    monkeypatch.setenv("ANXIN_BROKER_GATEWAYS", json.dumps({EDGE: "replace-with-edge-1-mqtt-password"}))
    assert main(["broker", "sync", "--db", db_url, "--out-dir", str(tmp_path / "auth")]) == 2
