"""Uplink payloads: what devices publish.

Every uplink carries ``v`` (schema version), ``device_id``, ``boot`` (counter restarts; version 2, absent =
0), a per-boot monotonic ``seq`` and ``ts``, the device's clock in Unix epoch milliseconds. ``type`` says
which message it is; each type travels on one channel (see :data:`CHANNEL_OF`). Readers ignore unknown
fields, so firmware may add fields.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import chain
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from contracts.identity import BOOT_MAX, event_key
from contracts.ids import DeviceId
from contracts.topics import UplinkChannel
from contracts.version import SCHEMA_VERSION, UplinkVersion

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

SEQ_MAX = 2**53 - 1  # fits a JSON number exactly
# 2001-09-09 .. 2286-11-20 in ms: rules out seconds-vs-ms mistakes without rejecting skewed clocks.
TS_MIN_MS = 1_000_000_000_000
TS_MAX_MS = 9_999_999_999_999
ACCEL_MAX_SAMPLES = 500  # 10 s at 50 Hz
ACCEL_RANGE_G = 32.0


class _Uplink(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_max_length=256)

    v: UplinkVersion = SCHEMA_VERSION
    device_id: DeviceId
    boot: Annotated[
        int, Field(ge=0, le=BOOT_MAX, strict=True, description="counter restarts (reset, battery swap)")
    ] = 0
    seq: Annotated[int, Field(ge=0, le=SEQ_MAX, strict=True)]
    ts: Annotated[int, Field(ge=TS_MIN_MS, le=TS_MAX_MS, strict=True, description="device clock, epoch ms")]

    @property
    def key(self) -> str:
        """Idempotency key at every hop: device id + boot + seq (see :mod:`contracts.identity`)."""
        return event_key(self.device_id, self.seq, self.boot)


class LocationSource(StrEnum):
    GNSS = "gnss"
    LBS = "lbs"  # cell towers
    WIFI = "wifi"


class Fix(BaseModel):
    """A position as embedded in other messages (e.g. where the SOS was pressed)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)]
    source: LocationSource


class SosPress(_Uplink):
    """The SOS button was pressed (long press on the card, button on the wearable or watch)."""

    type: Literal["sos"] = "sos"
    trigger: Literal["button", "voice", "card"] = "button"
    fix: Fix | None = None


class SosCancel(_Uplink):
    """The person cancelled a recent SOS (or a fall alarm) on the device: ``ref_seq`` (same boot)."""

    type: Literal["sos_cancel"] = "sos_cancel"
    ref_seq: Annotated[int, Field(ge=0, le=SEQ_MAX, strict=True)]


class FallSuspected(_Uplink):
    """The wearable's own firmware suspects a fall (the gateway runs its own detector too)."""

    type: Literal["fall"] = "fall"
    peak_g: Annotated[float, Field(ge=0, le=ACCEL_RANGE_G * 2)]
    confidence: Annotated[float, Field(ge=0, le=1)] = 0.5


def _as_array(samples: list[tuple[float, float, float]]) -> NDArray[np.float64]:
    """(n, 3) float64, read-only: the same values as ``np.array(samples)``, from a flat iterator (numpy's
    conversion of a list of tuples first discovers the shape element by element: several times slower).
    numpy is imported on first use only (the center reads no acceleration)."""
    import numpy as np

    flat = np.fromiter(chain.from_iterable(samples), dtype=np.float64, count=3 * len(samples))
    array = flat.reshape(len(samples), 3)
    array.flags.writeable = False
    return array


def _within(array: NDArray[np.float64], limit: float) -> bool:
    """-limit <= a <= limit for every element (False for NaN, as the comparison in Python)."""
    return bool((abs(array) <= limit).all())


class _Memo:
    """What a message worked out from its own fields once (a cache): never part of its value, so any
    two are equal and a copy of a message may share it."""

    __slots__ = ("array", "source")

    def __init__(self) -> None:
        self.source: object = None  # the field value ``array`` was made from (a copy may share the memo)
        self.array: Any = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Memo)

    def __hash__(self) -> int:
        return 0


class AccelBatch(_Uplink):
    """Tri-axial acceleration in g at ``rate_hz``; sample i was taken at ``ts + i * 1000 / rate_hz``."""

    type: Literal["accel"] = "accel"
    rate_hz: Annotated[int, Field(ge=1, le=400)] = 50
    samples: Annotated[list[tuple[float, float, float]], Field(min_length=1, max_length=ACCEL_MAX_SAMPLES)]
    placement: Literal["waist", "pendant", "wrist"] = "waist"
    _memo: _Memo = PrivateAttr(default_factory=_Memo)

    @model_validator(mode="after")
    def _in_range(self) -> AccelBatch:
        # every axis within ±range (NaN is not): checked on the array the detectors read anyway
        if not _within(self.array(), ACCEL_RANGE_G):
            raise ValueError(f"acceleration outside ±{ACCEL_RANGE_G:g} g")
        return self

    def array(self) -> NDArray[np.float64]:
        """The samples as a read-only (n, 3) float64 array, made once per message however many readers
        ask (validation, the detectors, the telemetry summary)."""
        memo: _Memo = self.__pydantic_private__["_memo"]  # type: ignore[index]  # (not via __getattr__)
        if memo.source is not self.samples:
            memo.source, memo.array = self.samples, _as_array(self.samples)
        return memo.array  # type: ignore[no-any-return]


class Vitals(_Uplink):
    """One heart rate / SpO2 reading. ``None`` means no reading (sensor off or not measured)."""

    type: Literal["vitals"] = "vitals"
    hr_bpm: Annotated[int, Field(ge=0, le=300)] | None = None
    spo2_pct: Annotated[int, Field(ge=0, le=100)] | None = None
    motion: bool = False  # the wearer was moving: readings are less trustworthy


class Location(_Uplink):
    type: Literal["location"] = "location"
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)]
    source: LocationSource
    speed_mps: Annotated[float, Field(ge=0, le=150)] | None = None


class Status(_Uplink):
    """Heartbeat, sent every few minutes; also carries battery state."""

    type: Literal["status"] = "status"
    battery_pct: Annotated[int, Field(ge=0, le=100)]
    charging: bool = False
    rssi_dbm: Annotated[int, Field(ge=-150, le=0)] | None = None
    firmware: Annotated[str, Field(max_length=32)] | None = None
    low_battery: bool = False


class WearState(_Uplink):
    type: Literal["wear"] = "wear"
    state: Literal["worn", "removed"]


class Presence(BaseModel):
    """Online/offline. Published retained by the device on connect, and set as its MQTT last will.

    The last will is fixed at connect time, so presence carries no ``seq`` and is never an incident key.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: UplinkVersion = SCHEMA_VERSION
    type: Literal["presence"] = "presence"
    device_id: DeviceId
    online: bool
    ts: Annotated[int, Field(ge=0, le=TS_MAX_MS)] | None = None


# The smart service pack's messages build on ``_Uplink`` above (a hub publishing for its sensors).
from contracts.home import (  # noqa: E402
    DoorState,
    HazardAlarm,
    HomeUplink,
    MotionCount,
    PullCordAlarm,
    SensorStatus,
)

UplinkMessage: TypeAlias = (
    SosPress | SosCancel | FallSuspected | AccelBatch | Vitals | Location | Status | WearState | HomeUplink
)
AnyUplink: TypeAlias = UplinkMessage | Presence

CHANNEL_OF: dict[str, UplinkChannel] = {
    "sos": UplinkChannel.SOS,
    "sos_cancel": UplinkChannel.SOS,
    "fall": UplinkChannel.FALL,
    "accel": UplinkChannel.ACCEL,
    "vitals": UplinkChannel.VITALS,
    "location": UplinkChannel.LOCATION,
    "status": UplinkChannel.STATUS,
    "wear": UplinkChannel.WEAR,
    "presence": UplinkChannel.PRESENCE,
    "hazard": UplinkChannel.HAZARD,
    "pull_cord": UplinkChannel.PULL_CORD,
    "door": UplinkChannel.DOOR,
    "motion": UplinkChannel.MOTION,
    "sensor_status": UplinkChannel.SENSOR,
}

MODEL_OF: dict[str, type[BaseModel]] = {
    "sos": SosPress,
    "sos_cancel": SosCancel,
    "fall": FallSuspected,
    "accel": AccelBatch,
    "vitals": Vitals,
    "location": Location,
    "status": Status,
    "wear": WearState,
    "presence": Presence,
    "hazard": HazardAlarm,
    "pull_cord": PullCordAlarm,
    "door": DoorState,
    "motion": MotionCount,
    "sensor_status": SensorStatus,
}

# Alarms go at QoS 1; high-rate telemetry may use QoS 0.
QOS_OF: dict[UplinkChannel, int] = {
    UplinkChannel.SOS: 1,
    UplinkChannel.FALL: 1,
    UplinkChannel.WEAR: 1,
    UplinkChannel.PRESENCE: 1,
    UplinkChannel.STATUS: 1,
    UplinkChannel.LOCATION: 1,
    UplinkChannel.VITALS: 0,
    UplinkChannel.ACCEL: 0,
    UplinkChannel.HAZARD: 1,
    UplinkChannel.PULL_CORD: 1,
    UplinkChannel.DOOR: 1,
    UplinkChannel.MOTION: 1,
    UplinkChannel.SENSOR: 1,
}
