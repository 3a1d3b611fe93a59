"""Encoding and decoding of wire messages (JSON via orjson), with the size limit applied first."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.downlink import DownlinkMessage
from contracts.errors import (
    DeviceMismatch,
    InvalidPayload,
    MalformedPayload,
    PayloadTooLarge,
    UnsupportedVersion,
)
from contracts.topics import parse_uplink_topic
from contracts.uplink import CHANNEL_OF, MODEL_OF, AnyUplink
from contracts.version import SUPPORTED_VERSIONS

MAX_PAYLOAD_BYTES = 16 * 1024  # an accel batch of 500 samples is ~13 KiB

M = TypeVar("M", bound=BaseModel)

_DOWNLINK = TypeAdapter[DownlinkMessage](DownlinkMessage)


def encode(message: BaseModel) -> bytes:
    """Serialise a contract model to compact JSON (unset optional fields left out)."""
    return orjson.dumps(message.model_dump(mode="json", exclude_none=True))


def _load_object(payload: bytes | bytearray | str, limit: int) -> dict[str, Any]:
    if len(payload) > limit:
        raise PayloadTooLarge(f"payload larger than {limit} bytes")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise MalformedPayload("payload is not valid JSON") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("payload must be a JSON object")
    return data


def _first_error_field(exc: ValidationError) -> str | None:
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return None
    return ".".join(str(part) for part in errors[0]["loc"]) or None


def _validation_message(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:3]]
    return "; ".join(parts)


def validate_object(model: type[M], data: dict[str, Any]) -> M:
    """Validate a decoded object against ``model``, translating pydantic's error (no input values)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload(_validation_message(exc), field=_first_error_field(exc)) from exc


def decode_uplink(
    topic: str, payload: bytes | bytearray | str, *, limit: int = MAX_PAYLOAD_BYTES
) -> AnyUplink:
    """Decode and validate one uplink message received on ``topic``.

    Raises a :class:`contracts.errors.ContractError` subclass whose ``reason`` says why: ``bad_topic``,
    ``too_large``, ``bad_json``, ``bad_version``, ``invalid``, ``device_mismatch``.
    """
    where = parse_uplink_topic(topic)
    data = _load_object(payload, limit)
    version = data.get("v")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(f"schema version must be one of {sorted(SUPPORTED_VERSIONS)}", field="v")
    kind = data.get("type")
    model = MODEL_OF.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InvalidPayload("unknown or missing message type", field="type")
    if CHANNEL_OF[kind] is not where.channel:  # type: ignore[index]
        raise InvalidPayload(
            f"type {kind!r} does not belong on channel {where.channel.value!r}", field="type"
        )
    message = validate_object(model, data)
    if message.device_id != where.device_id:  # type: ignore[attr-defined]
        raise DeviceMismatch("device_id in payload differs from the topic", field="device_id")
    return message  # type: ignore[return-value]


def decode_downlink(payload: bytes | bytearray | str, *, limit: int = MAX_PAYLOAD_BYTES) -> DownlinkMessage:
    """Decode a downlink (used by devices and the simulator)."""
    data = _load_object(payload, limit)
    try:
        return _DOWNLINK.validate_python(data)
    except ValidationError as exc:
        raise InvalidPayload(_validation_message(exc), field=_first_error_field(exc)) from exc


def unknown_fields(model: BaseModel, data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the keys in ``data`` that ``model`` (validated from it) does not know.

    Readers ignore unknown fields; a writer-facing API (e.g. the cloud's care-plan PUT) uses this to
    refuse a typo instead of silently dropping it.
    """
    if not isinstance(data, dict):
        return []
    fields = type(model).model_fields
    found: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in fields:
            found.append(path)
            continue
        current = getattr(model, key)
        if isinstance(current, BaseModel):
            found += unknown_fields(current, value, f"{path}.")
        elif isinstance(current, list | tuple) and isinstance(value, list):
            for index, (item, raw) in enumerate(zip(current, value, strict=False)):
                if isinstance(item, BaseModel):
                    found += unknown_fields(item, raw, f"{path}.{index}.")
    return found
