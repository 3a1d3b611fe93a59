"""The shipped Prometheus config: checked by the real ``promtool`` and held against the compose file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def test_promtool_accepts_the_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/system-deps installs the prometheus package)")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("cloud_metrics_token", "edge_metrics_token"):
        (secrets / name).write_text("scrape-token-0123456789\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace("/run/secrets/", f"{secrets}/"))
    result = subprocess.run(
        [promtool, "check", "config", str(config)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(config.read_text().replace("scrape_configs:", "scrape_configz:"))
    assert subprocess.run(
        [promtool, "check", "config", str(broken)], check=False, capture_output=True, timeout=60
    ).returncode


def test_every_anxin_service_is_scraped_with_a_token_compose_provides() -> None:
    compose = load(ROOT / "docker-compose.yml")
    services, secrets = compose["services"], compose["secrets"]
    jobs = {job["job_name"]: job for job in load(CONFIG)["scrape_configs"]}
    targets = {
        target.split(":")[0]: (job, target.split(":")[1])
        for job in jobs.values()
        for group in job["static_configs"]
        for target in group["targets"]
    }
    anxin = [name for name, s in services.items() if s.get("command") in (["edge"],) or name == "cloud"]
    for name in anxin:
        assert name in targets, f"{name} is not scraped"
        job, port = targets[name]
        auth = job["authorization"]
        assert auth["type"] == "Bearer"
        secret = Path(auth["credentials_file"]).name
        assert secret in secrets and secret in services["prometheus"]["secrets"]
        env = services[name]["environment"]
        expected_port = env.get("ANXIN_EDGE_METRICS_PORT") or "8000"
        assert port == expected_port, (name, port)
        token_var = secrets[secret]["environment"]
        assert f"${{{token_var}" in str(
            env.get("ANXIN_EDGE_METRICS_TOKEN") or env.get("ANXIN_CLOUD_METRICS_TOKEN")
        )
