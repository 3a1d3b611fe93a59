"""Configuration of the district center's alert-dispatch service (env prefix ``ANXIN_CLOUD_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "password",
        "passw0rd",
        "admin",
        "token",
        "default",
        "example",
        "test",
        "123456",
        "12345678",
        "xxx",
    }
)
EDGE_TOKEN_MIN_LEN = 16
PASSWORD_MIN_LEN = 8
SESSION_SECRET_MIN_LEN = 16


def refuse_placeholder(value: str, *, what: str, min_len: int) -> str:
    """Raise ``ValueError`` when ``value`` looks like a placeholder or is too short to be a secret."""
    if value.strip().lower() in PLACEHOLDER_SECRETS or value.strip().lower().startswith("replace-with"):
        raise ValueError(f"{what} is a placeholder; choose a real secret")
    if len(value) < min_len:
        raise ValueError(f"{what} must be at least {min_len} characters")
    return value


class CloudSettings(BaseSettings):
    """Settings of ``anxin cloud``. Every field can be set as ``ANXIN_CLOUD_<FIELD>`` (maps as JSON)."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_CLOUD_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/anxin-cloud.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    edge_tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description="edge_id -> bearer token the gateway presents"
    )
    operator_password: SecretStr | None = Field(
        default=None, description="password of the `operator` account; generated and logged once if unset"
    )
    session_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the session cookie; random per process if unset"
    )
    notifier: Literal["console", "twilio"] = "console"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = Field(default="", description="sender number (E.164) or Messaging Service SID")
    twilio_base_url: str = "https://api.twilio.com"
    public_url: str = "http://127.0.0.1:8000"
    demo_data: bool = False
    locale: Literal["zh-CN", "en"] = "zh-CN"
    sse_keepalive_s: float = Field(default=15.0, gt=0, le=300)
    notify_retry_max: int = Field(default=6, ge=1, le=50)
    notify_timeout_s: float = Field(default=10.0, gt=0, le=120)
    metrics_token: SecretStr | None = Field(
        default=None,
        description="bearer token Prometheus presents at /metrics; unset = /metrics answers loopback only",
    )
    api_docs: bool = Field(default=False, description="serve the OpenAPI docs at /api/docs")
    incident_retention_days: float = Field(
        default=365.0, gt=0, le=36_500, description="closed incidents older than this are purged"
    )
    retention_interval_s: float = Field(default=3600.0, gt=0, le=86_400, description="purge job period")

    @field_validator("edge_tokens")
    @classmethod
    def _edge_tokens_are_real(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for edge_id, token in value.items():
            if not edge_id or len(edge_id) > 64:
                raise ValueError("edge ids must be 1-64 characters")
            refuse_placeholder(
                token.get_secret_value(), what=f"token of edge {edge_id!r}", min_len=EDGE_TOKEN_MIN_LEN
            )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_is_real(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            refuse_placeholder(value.get_secret_value(), what="metrics_token", min_len=EDGE_TOKEN_MIN_LEN)
        return value

    @field_validator("operator_password")
    @classmethod
    def _password_is_real(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            refuse_placeholder(value.get_secret_value(), what="operator_password", min_len=PASSWORD_MIN_LEN)
        return value

    @field_validator("session_secret")
    @classmethod
    def _session_secret_is_real(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            refuse_placeholder(
                value.get_secret_value(), what="session_secret", min_len=SESSION_SECRET_MIN_LEN
            )
        return value

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")
