"""The district's ``docker-compose.yml`` checked without Docker: structure, secrets, mounts, settings.

Docker cannot run in CI here, so the file is read as data: every service restarts and (unless it is a
one-shot job) has a healthcheck; every ``${VAR}`` is in ``.env.example`` and nothing secret is written in
the file; every mounted host path exists; every ``ANXIN_*`` variable is a field of that service's
settings class; every ``anxin`` command line parses with the real CLI. ``docker compose config`` runs
too when a Docker Compose is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from anxin.broker_sync import BrokerSyncSettings
from anxin.cli import build_parser
from cloud.settings import CloudSettings
from edge.settings import EdgeSettings
from firmware_sim.settings import SimSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?\-+][^}]*)?\}")
SECRET_NAME_RE = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$")
ONE_SHOT = {"broker-sync"}  # jobs that run to completion; the others are long-running
SETTINGS = {
    "ANXIN_CLOUD_": CloudSettings,
    "ANXIN_EDGE_": EdgeSettings,
    "ANXIN_BROKER_": BrokerSyncSettings,
    "ANXIN_SIM_": SimSettings,
}
REQUIRED = {"mosquitto", "postgres", "influxdb", "grafana", "prometheus", "cloud", "sim"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not KEY=value"
            values[key.strip()] = value.split(" #")[0].strip()
    return values


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def host_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for volume in service.get("volumes", []):
        source, _, target = str(volume).partition(":")
        if source.startswith((".", "/")):
            yield source, target.partition(":")[0]


def test_a_whole_district_is_there() -> None:
    names = set(services())
    assert names >= REQUIRED
    edges = [n for n, s in services().items() if s.get("command") == ["edge"]]
    assert len(edges) == 2, "two site gateways"
    assert {environment(services()[n])["ANXIN_EDGE_EDGE_ID"] for n in edges} == set(edges)


def test_every_service_restarts_and_reports_its_health() -> None:
    for name, service in services().items():
        restart = service.get("restart")
        if name in ONE_SHOT:
            assert restart == "on-failure", name
            waiting = [s for s in services().values() if name in s.get("depends_on", {})]
            assert waiting, f"nobody waits for the one-shot job {name}"
            for other in waiting:
                assert other["depends_on"][name]["condition"] == "service_completed_successfully"
            continue
        assert restart in ("unless-stopped", "always"), f"{name} has no restart policy"
        check = service.get("healthcheck", {})
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        assert check.get("interval") and check.get("retries"), name


def test_dependencies_exist_and_wait_for_health() -> None:
    names = set(services())
    for name, service in services().items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in names, (name, dependency)
            assert rule["condition"] in ("service_healthy", "service_completed_successfully"), (
                name,
                dependency,
            )


def test_every_variable_is_in_env_example_and_every_example_is_used() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(VAR_RE.findall(text))
    used |= {secret["environment"] for secret in compose().get("secrets", {}).values()}
    example = env_example()
    assert used - set(example) == set(), "variables missing from .env.example"
    assert set(example) - used == set(), ".env.example lists variables compose does not use"


def test_nothing_secret_is_written_in_the_compose_file() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if SECRET_NAME_RE.search(key) and not key.endswith("_FILE"):
                assert value == "" or "${" in value, f"{name}: {key} holds a literal secret"
            for var in VAR_RE.findall(value):
                if SECRET_NAME_RE.search(var):
                    assert f"${{{var}:?" in value or f"${{{var}:-}}" in value, f"{name}: {var} needs :? or :-"
    assert "BEGIN PRIVATE KEY" not in COMPOSE.read_text(encoding="utf-8")
    for key, value in env_example().items():
        if SECRET_NAME_RE.search(key) and value:
            assert value.startswith("replace-with-"), f".env.example: {key} must hold a placeholder"


def test_placeholders_from_env_example_are_refused_by_the_services(tmp_path: Path) -> None:
    example = env_example()
    with pytest.raises(ValueError, match="placeholder"):
        CloudSettings(operator_password=example["OPERATOR_PASSWORD"])
    with pytest.raises(ValueError, match="placeholder"):
        EdgeSettings(cloud_token=example["EDGE1_CLOUD_TOKEN"])
    with pytest.raises(ValueError, match="placeholder"):
        BrokerSyncSettings(gateways={"edge-xiqing-01": example["EDGE1_MQTT_PASSWORD"]})


def test_every_mounted_host_path_exists() -> None:
    for name, service in services().items():
        for source, target in host_mounts(service):
            assert (ROOT / source).exists(), f"{name} mounts {source} (-> {target}), which does not exist"
        for volume in service.get("volumes", []):
            named = str(volume).partition(":")[0]
            if not named.startswith((".", "/")):
                assert named in compose()["volumes"], (name, named)


def test_anxin_settings_in_compose_are_real_fields() -> None:
    for name, service in services().items():
        for key in environment(service):
            for prefix, settings in SETTINGS.items():
                if key.startswith(prefix):
                    field = key.removeprefix(prefix).lower()
                    assert field in settings.model_fields, (
                        f"{name}: {key} is not a setting of {settings.__name__}"
                    )


def test_anxin_command_lines_parse() -> None:
    parser = build_parser()
    for name, service in services().items():
        if service.get("image", "").startswith("anxin") and "command" in service:
            command = [re.sub(r"\$\{[^}]*\}", "600", str(arg)) for arg in service["command"]]
            args = parser.parse_args(command)
            assert getattr(args, "func", None), f"{name}: {command} runs nothing"


def test_the_broker_mounts_what_its_config_names() -> None:
    broker = services()["mosquitto"]
    targets = {target for _, target in host_mounts(broker)}
    targets |= {str(v).split(":")[1] for v in broker["volumes"] if not str(v).startswith(".")}
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    for key in ("password_file", "acl_file", "certfile", "keyfile", "persistence_location"):
        path = re.search(rf"^{key} (\S+)$", conf, re.M)
        assert path, key
        assert any(path.group(1).startswith(t.rstrip("/") + "/") for t in targets), (key, path.group(1))
    sync = services()["broker-sync"]
    out_dir = environment(sync)["ANXIN_BROKER_OUT_DIR"]
    assert (
        f"broker-auth:{out_dir}" in sync["volumes"] and "broker-auth:/mosquitto/auth:ro" in broker["volumes"]
    )
    assert "8883:8883" in broker["ports"] and not any(str(p).startswith("1883") for p in broker["ports"])


def test_telemetry_tokens_flow_from_the_influxdb_init_script(tmp_path: Path) -> None:
    script = ROOT / "deploy/influxdb/init/10-anxin-tokens.sh"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    text = script.read_text(encoding="utf-8")
    assert "--write-bucket" in text and "--read-bucket" in text
    edge_file = environment(services()["edge-xiqing-01"])["ANXIN_EDGE_INFLUX_TOKEN_FILE"]
    datasource = (ROOT / "dashboards/provisioning/datasources/influxdb.yaml").read_text(encoding="utf-8")
    grafana_file = re.search(r"\$__file\{([^}]+)\}", datasource)
    assert grafana_file
    for path in (edge_file, grafana_file.group(1)):
        assert Path(path).name in text, f"{path} is not written by the init script"
    token = tmp_path / "edge-write.token"
    token.write_text("a-real-write-token-0123456789\n")
    settings = EdgeSettings(
        cloud_token="edge-cloud-token-0123456", telemetry="influx", influx_token_file=token
    )
    assert settings.influx_token is not None
    assert settings.influx_token.get_secret_value() == "a-real-write-token-0123456789"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], check=False, capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip(
            "no Docker Compose here (docker has no compose plugin, no docker-compose): schema checks only"
        )
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = subprocess.run(
        [*command, "--env-file", str(env), "-f", str(COMPOSE), "config", "--quiet"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
