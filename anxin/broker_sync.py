"""``anxin broker sync``: Mosquitto's password file and ACL from the center's device registry.

Reads every device login (device id + the hash of the secret it got at provisioning) from the cloud's
database, adds one account per gateway (``ANXIN_BROKER_GATEWAYS``, passwords hashed here), and writes
``passwords`` and ``acl`` (0600, atomically) for Mosquitto; send the broker SIGHUP afterwards to load
them. ``--issue-missing FILE`` first gives a secret to every registered device that has none and writes
those secrets to FILE (JSON, 0600) — for simulated and lab fleets only; real devices get theirs at
``POST /api/v1/devices``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broker.auth_files import Account, AuthFileError, render_acl, render_password_file, write_private
from cloud.db import open_database
from cloud.registry import secrets as device_secrets
from cloud.registry import service as registry_service

log = logging.getLogger(__name__)

PASSWORD_FILE = "passwords"
ACL_FILE = "acl"
GATEWAY_PASSWORD_MIN_LEN = 16


class BrokerSyncSettings(BaseSettings):
    """Settings of ``anxin broker sync`` (env prefix ``ANXIN_BROKER_``; flags override them)."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_BROKER_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/anxin-cloud.db",
        description="the center's database (as the cloud's)",
    )
    gateways: dict[str, SecretStr] = Field(
        default_factory=dict, description='gateway username -> MQTT password, e.g. {"edge-xiqing-01": "…"}'
    )
    out_dir: Path = Field(default=Path("var/broker"), description="where `passwords` and `acl` are written")

    @field_validator("gateways")
    @classmethod
    def _gateway_passwords_are_real(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for username, password in value.items():
            if password.get_secret_value().lower().startswith("replace-with"):
                raise ValueError(f"the MQTT password of gateway {username!r} is a placeholder")
            if len(password.get_secret_value()) < GATEWAY_PASSWORD_MIN_LEN:
                raise ValueError(
                    f"the MQTT password of gateway {username!r} must be at least "
                    f"{GATEWAY_PASSWORD_MIN_LEN} characters"
                )
        return value


@dataclass(frozen=True, slots=True)
class SyncResult:
    devices: int
    gateways: int
    issued: int
    password_file: Path
    acl_file: Path


def existing_hashes(path: Path) -> dict[str, str]:
    """``username -> hash`` of a password file written before (empty when there is none)."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        username, sep, hashed = line.partition(":")
        if sep:
            found[username] = hashed
    return found


def gateway_accounts(gateways: Mapping[str, str], previous: Mapping[str, str]) -> list[Account]:
    """One account per gateway; an unchanged password keeps its old hash, so the file stays stable."""
    accounts = []
    for username, password in sorted(gateways.items()):
        old = previous.get(username, "")
        hashed = old if device_secrets.matches(password, old) else device_secrets.mosquitto_hash(password)
        accounts.append(Account(username, hashed))
    return accounts


def merge_credentials(path: Path, issued: Mapping[str, str]) -> None:
    """Add ``issued`` secrets to the JSON credentials file at ``path`` (0600)."""
    known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    known.update(issued)
    write_private(path, json.dumps(dict(sorted(known.items())), indent=1) + "\n")


async def sync_broker_files(
    *,
    database_url: str,
    gateways: Mapping[str, str],
    out_dir: Path,
    issue_missing_to: Path | None = None,
) -> SyncResult:
    """Write ``out_dir/passwords`` and ``out_dir/acl`` from the registry (see the module docstring)."""
    db = await open_database(database_url)
    try:
        async with db.sessions() as session:
            issued: dict[str, str] = {}
            if issue_missing_to is not None:
                issued = await registry_service.issue_missing_secrets(session=session)
            logins = await registry_service.device_logins(session=session)
            if issue_missing_to is not None:
                merge_credentials(issue_missing_to, issued)  # secrets on disk before their hashes commit
            await session.commit()
    finally:
        await db.close()
    password_file, acl_file = out_dir / PASSWORD_FILE, out_dir / ACL_FILE
    text = render_password_file(
        [Account(device_id, hashed) for device_id, hashed in logins],
        gateway_accounts(gateways, existing_hashes(password_file)),
    )
    write_private(password_file, text)
    write_private(acl_file, render_acl(gateways))
    log.info("broker.synced devices=%d gateways=%d issued=%d", len(logins), len(gateways), len(issued))
    return SyncResult(len(logins), len(gateways), len(issued), password_file, acl_file)


def _run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.db:
        overrides["database_url"] = args.db
    if args.out_dir:
        overrides["out_dir"] = Path(args.out_dir)
    try:
        settings = BrokerSyncSettings(**overrides)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            log.error("broker.bad_setting field=%s message=%s", ".".join(map(str, err["loc"])), err["msg"])
        return 2
    try:
        result = asyncio.run(
            sync_broker_files(
                database_url=settings.database_url,
                gateways={k: v.get_secret_value() for k, v in settings.gateways.items()},
                out_dir=settings.out_dir,
                issue_missing_to=args.issue_missing,
            )
        )
    except AuthFileError as exc:
        log.error("broker.sync_refused reason=%s", exc)
        return 1
    sys.stdout.write(
        f"wrote {result.password_file} ({result.devices} devices, {result.gateways} gateways) and "
        f"{result.acl_file}; now send mosquitto SIGHUP (docker compose kill -s SIGHUP mosquitto)\n"
    )
    return 0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "broker",
        help="broker tools: write Mosquitto's logins and ACL from the device registry",
        description="Broker tools. `anxin broker sync` writes Mosquitto's password file and ACL from the "
        "center's device registry (ANXIN_BROKER_DATABASE_URL) and the gateway accounts "
        "(ANXIN_BROKER_GATEWAYS); see docs/deploy.md.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sync = actions.add_parser(
        "sync",
        help="write `passwords` and `acl` for Mosquitto from the device registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sync.add_argument(
        "--db", metavar="URL", default=None, help="database URL (env ANXIN_BROKER_DATABASE_URL)"
    )
    sync.add_argument(
        "--out-dir", default=None, help="folder for `passwords` and `acl` (env ANXIN_BROKER_OUT_DIR)"
    )
    sync.add_argument(
        "--issue-missing",
        metavar="FILE",
        type=Path,
        default=None,
        help="give devices without a secret one and write the secrets to FILE (simulated fleets only)",
    )
    sync.set_defaults(func=_run)
