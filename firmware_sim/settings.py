"""Settings of the simulator process (env prefix ``ANXIN_SIM_``); CLI flags override them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANXIN_SIM_", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"  # mqtts://host:8883 for TLS
    ca_file: Path | None = None  # CA that signed the broker's certificate (TLS); None = system CAs
    credentials_file: Path | None = None  # JSON {device_id: secret}; username = device id
    connect_concurrency: Annotated[int, Field(ge=1, le=5_000)] = 64
    keepalive_s: Annotated[int, Field(ge=5, le=3_600)] = 60
    connect_timeout_s: Annotated[float, Field(gt=0, le=3_600)] = 300.0  # wait for the fleet before starting
    progress_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
