"""Configuration of the district center's alert-dispatch service (env prefix ``ANXIN_CLOUD_``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud.phones import E164_RE

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
SmsProvider = Literal["aliyun", "twilio"]


def _default_sms_routes() -> dict[str, SmsProvider]:
    return {"+86": "aliyun"}


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
    notifier: Literal["console", "twilio", "aliyun"] = Field(
        default="console",
        description="console: the built-in SMS sink (dev phone page); twilio: Twilio SMS and voice (and "
        "Aliyun SMS for the sms_routes prefixes when aliyun_access_key_id is set); aliyun: Aliyun SMS only",
    )
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = Field(default="", description="sender number (E.164) or Messaging Service SID")
    twilio_caller_id: str = Field(default="", description="the center's number calls show (E.164)")
    twilio_base_url: str = "https://api.twilio.com"
    center_line: str = Field(default="", description="phone click-to-call rings when an operator has none")
    staff_phones: dict[str, str] = Field(
        default_factory=dict, description="username -> the operator's own phone (E.164) for click-to-call"
    )
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: SecretStr = SecretStr("")
    aliyun_sign_name: str = Field(default="", description="the registered SMS signature (签名), e.g. 安心")
    aliyun_template_code: str = Field(
        default="", description="the registered template (SMS_…) whose one variable carries the text"
    )
    aliyun_template_param: str = Field(default="content", description="that variable's name")
    aliyun_endpoint: str = "dysmsapi.aliyuncs.com"
    aliyun_callback_token: SecretStr = SecretStr("")
    sms_routes: dict[str, SmsProvider] = Field(
        default_factory=_default_sms_routes,
        description="number prefix -> SMS provider (longest prefix wins; aliyun only when configured)",
    )
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
    password_hash_memory_kib: int = Field(
        default=65_536, ge=8_192, le=1_048_576, description="argon2id memory cost of new password hashes"
    )
    password_hash_time_cost: int = Field(default=3, ge=1, le=10, description="argon2id passes")
    escalation_policies: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="the center's escalation policy per severity, overriding the built-in ones, e.g. "
        '{"P1": {"steps": [{"action": "realert_consoles", "after_s": 20, "repeat_s": 20}], '
        '"ladder_wait_s": 120}}; checked when the service starts (cloud.escalation.policy)',
    )
    escalation_late_grace_s: float = Field(default=5.0, gt=0, le=600, description="auditor: a step this late")

    @field_validator("twilio_caller_id", "center_line")
    @classmethod
    def _e164_or_empty(cls, value: str) -> str:
        if value and not E164_RE.match(value):
            raise ValueError("must be an E.164 number (+8613800001234)")
        return value

    @field_validator("staff_phones")
    @classmethod
    def _staff_phones_are_e164(cls, value: dict[str, str]) -> dict[str, str]:
        for phone in value.values():
            if not E164_RE.match(phone):
                raise ValueError("staff phones must be E.164 numbers (+8613800001234)")
        return value

    @property
    def aliyun_configured(self) -> bool:
        return bool(
            self.aliyun_access_key_id
            and self.aliyun_access_key_secret.get_secret_value()
            and self.aliyun_sign_name
            and self.aliyun_template_code
        )

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

    @field_validator("aliyun_callback_token")
    @classmethod
    def _callback_token_is_real(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value():
            refuse_placeholder(
                value.get_secret_value(), what="aliyun_callback_token", min_len=EDGE_TOKEN_MIN_LEN
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
