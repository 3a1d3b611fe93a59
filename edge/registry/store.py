"""Which devices belong to this gateway: the cloud's registry snapshot, cached in the edge database.

Before the first snapshot ever arrived (a brand-new gateway whose cloud is not reachable yet) every
device is accepted: refusing would drop real alarms during commissioning, and the cloud rejects
unknown devices at intake anyway. Once a snapshot exists (fetched now or cached from an earlier run)
devices missing from it are rejected as ``unknown_device``.

Each entry may carry the person's care plan (:class:`~contracts.care_plan.CarePlan`), cached with the
snapshot, and the person's masked name and guardians (:class:`~contracts.guardians.GuardianContact`):
degraded mode texts them when the center does not confirm an alarm in time. The guardians' numbers are
personal data kept in the edge database — keep ``data_dir`` readable by the gateway's user only. A plan
that does not validate is dropped (``None``: the detectors keep their defaults) and counted in
``bad_plans``; the device itself stays known.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from contracts import DeviceKind
from contracts.care_plan import CarePlan
from contracts.guardians import GuardianContact
from contracts.ids import DeviceId
from edge.database import Database

log = logging.getLogger(__name__)

_FETCHED_AT = "registry_fetched_ms"


class RegisteredDevice(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    device_id: DeviceId
    kind: DeviceKind
    subject_id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] | None = None
    care_plan: CarePlan | None = None
    hub_id: DeviceId | None = None  # a service-pack sensor: the hub that publishes for it
    room: Annotated[str, StringConstraints(max_length=16)] | None = None
    masked_name: str | None = None
    guardians: tuple[GuardianContact, ...] = ()

    @field_validator("masked_name")
    @classmethod
    def _masked_only(cls, value: str | None) -> str | None:
        """Only a masked name (surname + ``**``) is kept; anything else is dropped."""
        return value if value is not None and value.endswith("**") and len(value) <= 66 else None

    @field_validator("guardians", mode="wrap")
    @classmethod
    def _good_guardians(
        cls, value: Any, handler: ValidatorFunctionWrapHandler
    ) -> tuple[GuardianContact, ...]:
        """A malformed guardian list leaves the device without guardians (logged), never unknown."""
        try:
            found: tuple[GuardianContact, ...] = handler(value)
        except ValidationError as exc:
            log.warning("registry.bad_guardians errors=%d", exc.error_count())
            return ()
        return found

    @field_validator("care_plan", mode="wrap")
    @classmethod
    def _plan_or_none(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> CarePlan | None:
        try:
            plan: CarePlan | None = handler(value)
        except ValidationError as exc:
            log.warning("registry.bad_care_plan errors=%d", exc.error_count())
            return None
        return plan


def parse_snapshot(data: Any) -> tuple[list[RegisteredDevice], int]:
    """Validate the cloud's answer (a JSON list); return the good entries and how many were bad
    (an entry whose only fault is its care plan is good, with ``care_plan=None``)."""
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        data = data["devices"]
    if not isinstance(data, list):
        raise ValueError("registry snapshot must be a JSON list")
    good: list[RegisteredDevice] = []
    bad = 0
    for item in data:
        try:
            good.append(RegisteredDevice.model_validate(item))
        except ValidationError:
            bad += 1
    return good, bad


class DeviceRegistry:
    """In-memory view of the snapshot (pure); ``loaded`` is False until a first snapshot exists."""

    __slots__ = ("_devices", "fetched_ms", "loaded")

    def __init__(self) -> None:
        self._devices: dict[str, RegisteredDevice] = {}
        self.loaded = False
        self.fetched_ms: int | None = None

    def __len__(self) -> int:
        return len(self._devices)

    def replace(self, devices: Iterable[RegisteredDevice], *, fetched_ms: int | None) -> None:
        self._devices = {device.device_id: device for device in devices}
        self.loaded = True
        self.fetched_ms = fetched_ms

    def get(self, device_id: str) -> RegisteredDevice | None:
        return self._devices.get(device_id)

    def device_ids(self) -> list[str]:
        return list(self._devices)

    def knows(self, device_id: str) -> bool:
        return device_id in self._devices

    def sensor_of(self, hub_id: str, sensor_id: str) -> RegisteredDevice | None:
        """The sensor ``sensor_id`` if it is registered to ``hub_id`` (else None: another home's, unknown)."""
        sensor = self._devices.get(sensor_id)
        return sensor if sensor is not None and sensor.hub_id == hub_id else None

    def sensors_of(self, hub_id: str) -> list[RegisteredDevice]:
        """Every sensor registered to ``hub_id``."""
        return [d for d in self._devices.values() if d.hub_id == hub_id]


class RegistryStore:
    """The snapshot's copy on disk, so a restarted gateway knows its devices while the cloud is down."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, devices: list[RegisteredDevice], *, fetched_ms: int) -> None:
        rows = [
            (
                d.device_id,
                d.kind.value,
                d.subject_id,
                None if d.care_plan is None else d.care_plan.model_dump_json(),
                d.hub_id,
                d.room,
                d.masked_name,
                _GUARDIANS.dump_json(d.guardians).decode() if d.guardians else None,
            )
            for d in devices
        ]

        def write(conn: sqlite3.Connection) -> None:
            with conn:  # one transaction: never a half-written snapshot
                conn.execute("BEGIN")
                conn.execute("DELETE FROM registry")
                conn.executemany(
                    "INSERT INTO registry (device_id, kind, subject_id, care_plan, hub_id, room, masked_name,"
                    " guardians)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute(
                    "INSERT INTO meta (name, value) VALUES (?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (_FETCHED_AT, str(fetched_ms)),
                )

        await self._db.run(write)

    async def load(self) -> tuple[list[RegisteredDevice], int] | None:
        """The cached snapshot and when it was fetched, or None if none was ever saved."""

        def read(
            conn: sqlite3.Connection,
        ) -> tuple[
            list[tuple[str, str, str | None, str | None, str | None, str | None, str | None, str | None]],
            str | None,
        ]:
            meta = conn.execute("SELECT value FROM meta WHERE name = ?", (_FETCHED_AT,)).fetchone()
            rows = conn.execute(
                "SELECT device_id, kind, subject_id, care_plan, hub_id, room, masked_name, guardians"
                " FROM registry"
            ).fetchall()
            return rows, None if meta is None else str(meta[0])

        rows, fetched = await self._db.run(read)
        if fetched is None:
            return None
        plans: dict[str, CarePlan | None] = {}  # a person's devices share one plan: parse it once
        devices = []
        for device_id, kind, subject_id, plan_json, hub_id, room, masked_name, guardians_json in rows:
            if plan_json is not None and plan_json not in plans:
                plans[plan_json] = _plan(plan_json)
            plan = None if plan_json is None else plans[plan_json]
            devices.append(
                RegisteredDevice(
                    device_id=device_id,
                    kind=DeviceKind(kind),
                    subject_id=subject_id,
                    care_plan=plan,
                    hub_id=hub_id,
                    room=room,
                    masked_name=masked_name,
                    guardians=_guardians(guardians_json),
                )
            )
        return devices, int(fetched)


_GUARDIANS: TypeAdapter[tuple[GuardianContact, ...]] = TypeAdapter(tuple[GuardianContact, ...])


def _guardians(text: str | None) -> tuple[GuardianContact, ...]:
    if text is None:
        return ()
    try:
        return _GUARDIANS.validate_json(text)
    except ValidationError:
        log.warning("registry.bad_cached_guardians")
        return ()


def _plan(text: str) -> CarePlan | None:
    try:
        return CarePlan.model_validate_json(text)
    except ValidationError:
        log.warning("registry.bad_cached_care_plan")
        return None
