"""Which user a Mosquitto started by us runs as, so that it can write its persistence folder.

Started as root, ``mosquitto`` drops to the ``mosquitto`` user after reading its config and opening its
port; from then on it saves sessions and queued QoS 1 messages as that user. A folder made by root
(``tempfile.mkdtemp`` is mode 0700, pytest's ``tmp_path`` sits under a 0700 folder) is not writable
for it, and every save fails ("Error saving in-memory database ... Permission denied") — the broker then
loses every queued alarm on a restart. So as root the data folder is handed to the ``mosquitto`` user
when that user can reach it, and otherwise the broker is told to stay root (``user root``).
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DROP_TO = "mosquitto"


@dataclass(frozen=True, slots=True)
class BrokerUser:
    name: str | None  # the ``user`` line of the config; None: not root, mosquitto keeps our user
    reason: str


def _can_enter(path: Path, uid: int, gid: int) -> bool:
    info = path.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def reachable_by(path: Path, uid: int, gid: int) -> bool:
    """Can ``uid``/``gid`` walk down to ``path`` (search permission on every folder above it)?"""
    return all(_can_enter(folder, uid, gid) for folder in path.resolve().parents)


def broker_user(data_dir: Path) -> BrokerUser:
    """Choose the broker's user for ``data_dir`` (and, as root, give the folder to that user)."""
    if os.geteuid() != 0:
        return BrokerUser(None, "not_root")
    try:
        entry = pwd.getpwnam(DROP_TO)
    except KeyError:
        return BrokerUser("root", "no_mosquitto_user")
    if not reachable_by(data_dir, entry.pw_uid, entry.pw_gid):
        log.info("broker.stays_root reason=data_dir_not_reachable_by_mosquitto_user dir=%s", data_dir)
        return BrokerUser("root", "data_dir_not_reachable")
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)  # queued messages carry vitals and positions
    for child in data_dir.iterdir():  # a database saved by an earlier broker that stayed root
        if child.name.startswith("mosquitto.db"):
            os.chown(child, entry.pw_uid, entry.pw_gid)
    return BrokerUser(DROP_TO, "dropped")
