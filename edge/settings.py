"""Settings of the edge gateway (environment prefix ``ANXIN_EDGE_``)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import MAX_PAYLOAD_BYTES
from edge.ingest.partition import Partition

_PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "changethis", "secret", "token", "xxx"})
PLACEHOLDER_PREFIX = "replace-with"  # what .env.example holds


def _is_placeholder(value: str) -> bool:
    text = value.strip().lower()
    return text in _PLACEHOLDER_SECRETS or text.startswith(PLACEHOLDER_PREFIX)


NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """``mqtt://[user[:password]@]host[:port]`` (or ``mqtts://`` for TLS) split into parts."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    ca_file: Path | None = None  # CA of the broker's certificate (TLS); None = the system's CAs

    def tls_context(self) -> ssl.SSLContext:
        """Verify the broker's certificate and host name against ``ca_file`` (or the system's CAs)."""
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


def parse_mqtt_url(url: str, ca_file: Path | None = None) -> MqttEndpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError("mqtt_url must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError("mqtt_url needs a host")
    if parts.path not in ("", "/"):
        raise ValueError("mqtt_url takes no path")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ValueError("mqtt_url has a bad port") from exc
    return MqttEndpoint(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ca_file=ca_file,
    )


class EdgeSettings(BaseSettings):
    """Everything the gateway needs; each field is also a flag of ``anxin edge``."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_EDGE_", extra="ignore")

    edge_id: Annotated[str, Field(pattern=NAME_PATTERN, description="this gateway's id at the cloud")] = (
        "edge-1"
    )
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883", description="broker, mqtt://[user[:password]@]host[:port] (mqtts:// = TLS)"
    )
    mqtt_ca_file: Path | None = Field(
        None, description="CA certificate of the broker's TLS listener (mqtts://); default: system CAs"
    )
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = Field(
        "auto", description="MQTT version; auto = 5, falling back to 3.1.1 if the broker refuses it"
    )
    mqtt_client_id: Annotated[str, Field(pattern=NAME_PATTERN)] | None = Field(
        None, description="stable client id for the persistent session (default anxin-edge-<edge_id>)"
    )
    shared_group: Annotated[str, Field(pattern=NAME_PATTERN)] | None = Field(
        None, description="MQTT 5 shared-subscription group, so several gateway workers split the load"
    )
    workers: Annotated[int, Field(ge=1, le=32)] = Field(
        1, description="gateway worker processes; devices are partitioned among them by a hash of their id"
    )
    worker: Annotated[int, Field(ge=0, le=31)] | None = Field(
        None, description="this process's partition (set by the --workers supervisor, not by hand)"
    )
    cloud_url: str = Field("http://127.0.0.1:8000", description="district center base URL")
    cloud_token: SecretStr = Field(..., description="bearer token of this edge at the cloud")
    data_dir: Path = Field(Path("var/edge"), description="folder of the outbox database (edge.sqlite3)")
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(0, description="/metrics port, 0 = off")
    metrics_host: str = Field("127.0.0.1", description="/metrics listen address")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token Prometheus presents at /metrics (needed off loopback)"
    )
    accept_unknown_devices: bool = Field(
        False, description="accept devices missing from the registry snapshot (tests and demo only)"
    )
    max_payload_bytes: Annotated[int, Field(ge=256, le=1024 * 1024)] = MAX_PAYLOAD_BYTES
    ingest_queue_size: Annotated[int, Field(ge=2, le=1_000_000)] = Field(
        10_000, description="telemetry queued in the gateway; accel/vitals shed from half of it, all at it"
    )
    shed_lag_s: Annotated[float, Field(gt=0, le=600)] = Field(
        2.0, description="shed accel/vitals once telemetry waits this long in the gateway, all at 4×"
    )
    sequence_window: Annotated[int, Field(ge=1, le=65_536)] = 256
    max_seq_jump: Annotated[int, Field(ge=1, le=2**53)] = Field(
        100_000, description="a larger forward seq jump is quarantined until a second message confirms it"
    )
    max_boot_jump: Annotated[int, Field(ge=1, le=2**32)] = Field(
        16, description="a larger forward boot jump is quarantined (alarms are still accepted)"
    )
    max_clock_ahead_s: Annotated[float, Field(ge=0, le=30 * 86_400)] = Field(
        900.0, description="a device clock further ahead of the gateway's is quarantined (alarms still pass)"
    )
    forward_batch: Annotated[int, Field(ge=1, le=1000)] = 32
    forward_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    backoff_initial_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    http_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    mqtt_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    registry_refresh_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    command_idle_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 90.0
    delivered_retention_s: Annotated[float, Field(ge=0)] = 7 * 86_400.0
    tick_s: Annotated[float, Field(gt=0, le=3600, description="period of time-driven detection")] = 30.0
    session_expiry_s: Annotated[int, Field(ge=0, le=2**32 - 1)] = 86_400
    alarm_keepalive_s: Annotated[int, Field(ge=5, le=600, description="keep-alive of the alarm lane")] = 15
    cloud_probe_s: Annotated[float, Field(gt=0, le=60)] = Field(
        1.0, description="while the cloud is down, ask its /healthz this often (ends the backoff early)"
    )
    degraded_after_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0,
        description="text the guardians from the edge when the cloud has not confirmed a P1 alarm by then",
    )
    notifier: Literal["console", "twilio", "off"] = Field(
        "console",
        description="degraded-mode SMS: console (kept, GET /dev/sms on the metrics port), twilio, off",
    )
    twilio_account_sid: str = Field("", description="Twilio account SID (notifier=twilio)")
    twilio_auth_token: SecretStr | None = Field(None, description="Twilio auth token (notifier=twilio)")
    twilio_from: str = Field(
        "", description="Twilio sender: an E.164 number or a Messaging Service SID (MG…)"
    )
    offline_grace_s: Annotated[float, Field(ge=0, le=86_400)] = Field(
        120.0, description="a device whose last will (offline) came is reported silent unless back by then"
    )
    last_seen_flush_s: Annotated[float, Field(gt=0, le=600)] = Field(
        5.0, description="how often devices' last-seen times are written to the edge database"
    )
    telemetry: Literal["sqlite", "influx", "off"] = Field(
        "sqlite", description="telemetry store: sqlite (data_dir/telemetry.sqlite3), influx (InfluxDB 2), off"
    )
    influx_url: str = Field("http://127.0.0.1:8086", description="InfluxDB 2 base URL (telemetry=influx)")
    influx_org: str = Field("anxin", description="InfluxDB organization")
    influx_bucket: str = Field("telemetry", description="InfluxDB bucket")
    influx_token: SecretStr | None = Field(None, description="InfluxDB API token with write access")
    influx_token_file: Path | None = Field(
        None, description="file holding the InfluxDB token (instead of influx_token), e.g. a compose volume"
    )
    telemetry_batch: Annotated[int, Field(ge=1, le=50_000)] = 500
    telemetry_flush_s: Annotated[float, Field(gt=0, le=300, description="telemetry flush interval")] = 1.0
    telemetry_buffer: Annotated[int, Field(ge=1, le=10_000_000, description="points kept in memory")] = 50_000
    telemetry_retention_days: Annotated[float, Field(gt=0, le=3650, description="sqlite telemetry")] = 30.0
    telemetry_sample_s: Annotated[float, Field(gt=0, le=3600, description="gateway counters period")] = 10.0

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str) -> str:
        parse_mqtt_url(value)
        return value

    @field_validator("mqtt_ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"mqtt_ca_file {value} does not exist")
        return value

    @field_validator("cloud_url")
    @classmethod
    def _check_cloud_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("cloud_url must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("cloud_token")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr) -> SecretStr:
        if _is_placeholder(value.get_secret_value()):
            raise ValueError("cloud_token is empty or a placeholder; set the edge's real token")
        return value

    @field_validator("influx_url")
    @classmethod
    def _check_influx_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("influx_url must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _worker_is_one_of_the_workers(self) -> EdgeSettings:
        if self.worker is not None and self.worker >= self.workers:
            raise ValueError(
                f"worker {self.worker} is not one of --workers {self.workers} (0..{self.workers - 1})"
            )
        return self

    @model_validator(mode="after")
    def _open_metrics_need_a_token(self) -> EdgeSettings:
        loopback = self.metrics_host in ("127.0.0.1", "::1", "localhost")
        if self.metrics_port and not loopback and self.metrics_token is None:
            raise ValueError("metrics_host is not loopback: set metrics_token so only Prometheus can scrape")
        if self.metrics_token is not None:
            value = self.metrics_token.get_secret_value()
            if _is_placeholder(value) or len(value) < 16:
                raise ValueError("metrics_token must be a real secret of at least 16 characters")
        return self

    @model_validator(mode="after")
    def _twilio_needs_credentials(self) -> EdgeSettings:
        if self.notifier == "twilio":
            token = "" if self.twilio_auth_token is None else self.twilio_auth_token.get_secret_value()
            if not self.twilio_account_sid or not self.twilio_from or _is_placeholder(token):
                raise ValueError(
                    "notifier=twilio needs twilio_account_sid, twilio_auth_token and twilio_from; "
                    "set them or use notifier=console"
                )
        return self

    @model_validator(mode="after")
    def _influx_needs_a_token(self) -> EdgeSettings:
        if self.influx_token is None and self.influx_token_file is not None:
            try:
                self.influx_token = SecretStr(self.influx_token_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ValueError(f"cannot read influx_token_file: {exc.strerror}") from None
        if self.telemetry == "influx":
            token = "" if self.influx_token is None else self.influx_token.get_secret_value()
            if _is_placeholder(token):
                raise ValueError("telemetry=influx needs influx_token; it is empty or a placeholder")
        return self

    @property
    def partition(self) -> Partition:
        return Partition(self.worker or 0, self.workers)

    @property
    def _worker_suffix(self) -> str:
        """``.w<index>`` for the files of one worker of several, else nothing."""
        return f".w{self.worker or 0}" if self.workers > 1 else ""

    @property
    def telemetry_path(self) -> Path:
        return self.data_dir / f"telemetry{self._worker_suffix}.sqlite3"

    @property
    def mqtt(self) -> MqttEndpoint:
        return parse_mqtt_url(self.mqtt_url, self.mqtt_ca_file)

    @property
    def client_id(self) -> str:
        base = self.mqtt_client_id or f"anxin-edge-{self.edge_id}"
        return f"{base}-w{self.worker or 0}" if self.workers > 1 else base

    @property
    def database_path(self) -> Path:
        return self.data_dir / f"edge{self._worker_suffix}.sqlite3"

    @property
    def worker_metrics_port(self) -> int:
        """Each worker's /metrics: ``metrics_port + index`` (0 = off)."""
        return self.metrics_port + (self.worker or 0) if self.metrics_port > 0 else 0
