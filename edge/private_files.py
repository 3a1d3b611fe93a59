"""Files that hold personal data: 0600, in a folder created 0700 (cloud/ has its own copy).

SQLite creates its ``-wal`` and ``-shm`` files with the permissions of the database file, so creating
the database file 0600 before SQLite opens it keeps all three private. A folder that already exists is
not changed (it may be shared, e.g. ``/tmp``); if others can enter it, a warning says how to fix it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) 0700; warn when an existing one is open to group or others."""
    if not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True)
        path.chmod(DIR_MODE)  # mkdir's mode is masked by the umask
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("storage.folder_not_private path=%s mode=%o fix='chmod 700 %s'", path, mode, path)


def private_file(path: Path) -> None:
    """Make sure ``path`` exists with mode 0600 (created empty if missing), in a private folder."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
