"""One small exception tree for everything that arrives on the wire."""

from __future__ import annotations


class ContractError(ValueError):
    """A message or topic does not follow the Anxin wire contract.

    ``reason`` is a short stable code (used as a metrics label); ``field`` names the offending field
    when one can be named. The message never contains payload values (they may be personal data).
    """

    reason = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TopicError(ContractError):
    reason = "bad_topic"


class PayloadTooLarge(ContractError):
    reason = "too_large"


class MalformedPayload(ContractError):
    reason = "bad_json"


class UnsupportedVersion(ContractError):
    reason = "bad_version"


class InvalidPayload(ContractError):
    reason = "invalid"


class DeviceMismatch(ContractError):
    reason = "device_mismatch"
