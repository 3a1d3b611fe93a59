"""``anxin cloud --workers N``: refused on SQLite with a clear message; one session secret for all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloud.settings import CloudSettings
from cloud.workers import WorkersRefused, shared_settings


def test_several_workers_on_sqlite_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "cloud", "--workers", "2", "--port", "0"],
        env={"ANXIN_CLOUD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "cloud.workers_refused" in done.stderr and "needs PostgreSQL" in done.stderr
    assert not (tmp_path / "cloud.db").exists()  # refused before anything was opened


def test_workers_share_one_session_secret() -> None:
    url = "postgresql+asyncpg://anxin@db/anxin"
    generated = shared_settings(CloudSettings(database_url=url), 2)
    assert generated.session_secret is not None and len(generated.session_secret.get_secret_value()) >= 32
    chosen = CloudSettings(database_url=url, session_secret="a-chosen-secret-0123456789")
    assert shared_settings(chosen, 2) is chosen
    with pytest.raises(WorkersRefused, match="needs PostgreSQL"):
        shared_settings(CloudSettings(database_url="sqlite+aiosqlite:///x.db"), 2)
