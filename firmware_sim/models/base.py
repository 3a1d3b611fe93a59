"""What every Anxin device firmware does: seq, clock, heartbeat, battery, SOS button, downlink states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from contracts import (
    AlarmClosed,
    AlarmReceived,
    DeviceConfig,
    DeviceKind,
    DownlinkMessage,
    Fix,
    OperatorAcknowledged,
    Presence,
    SosCancel,
    SosPress,
    Status,
    UplinkChannel,
    encode,
)
from contracts.uplink import QOS_OF, TS_MIN_MS
from firmware_sim.models.alarm_repeat import AlarmRepeater
from firmware_sim.models.display import DISPLAY_TEXT, DisplayState

DAY_MS = 86_400_000
CST_OFFSET_MS = 8 * 3_600_000
LOW_BATTERY_PCT = 20
FIRMWARE = "anxin-sim/1.0"


def local_hour(now_ms: int) -> float:
    """Hour of day in China Standard Time (UTC+8), 0 <= h < 24."""
    return ((now_ms + CST_OFFSET_MS) % DAY_MS) / 3_600_000


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message the firmware wants to publish: a contract model, or (hot path: acceleration) its
    already-encoded JSON, which tests check against ``contracts.decode_uplink``."""

    channel: UplinkChannel
    message: BaseModel | None
    raw: bytes | None = None
    seq: int | None = None
    retain: bool = False

    @property
    def qos(self) -> int:
        return QOS_OF[self.channel]

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.message is not None
        return encode(self.message)


@dataclass(frozen=True, slots=True)
class Injection:
    """A scenario event delivered to one device (``kind`` as in the ground truth)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


class UnsupportedInjection(ValueError):
    """The device model cannot perform this scenario event (e.g. a fall on an SOS card)."""


class DeviceModel:
    """Base firmware. Subclasses add timers in ``__init__`` and handlers in ``handlers()``.

    Timers are ``name -> due epoch ms``; ``step(now_ms)`` fires every due timer in (due, name) order and
    stamps messages with the timer's due time, so the message stream never depends on how often the
    caller steps.
    """

    kind: DeviceKind
    heartbeat_s = 300
    drain_pct_per_h = 1.0

    def __init__(self, device_id: str, subject_id: str, rng: np.random.Generator, start_ms: int) -> None:
        self.device_id = device_id
        self.subject_id = subject_id
        self.rng = rng
        self.seq = 0
        self.boot = 0  # counter restarts: a factory reset or battery swap starts seq again, boot + 1
        self.skew_ms = 0
        self.powered = True
        self.display = DisplayState.IDLE
        self.display_text_zh = ""
        self.open_alarms: set[int] = set()
        self.unconfirmed: AlarmRepeater[Outgoing] = AlarmRepeater()  # sent again until alarm_received
        self.ignored_downlinks = 0
        self.injection_detail: dict[str, Any] = {}  # what the last scenario event did (for ground truth)
        self.battery = float(rng.uniform(45.0, 100.0))
        self.charging = False
        self._battery_at = start_ms
        self._low_reported = False
        self.sos_cancel_window_s = 10
        self._pending_cancel: dict[int, int] = {}  # ref seq -> due ms
        self._timers: dict[str, int] = {
            "status": start_ms + int(rng.uniform(0, self.heartbeat_s) * 1000),
        }

    # -- timers ---------------------------------------------------------------------------------
    def handlers(self) -> dict[str, Callable[[int], list[Outgoing]]]:
        return {"status": self._on_status, "cancel": self._on_cancel, "alarm_repeat": self._on_alarm_repeat}

    @property
    def next_due_ms(self) -> int | None:
        return min(self._timers.values()) if self.powered and self._timers else None

    def step(self, now_ms: int) -> list[Outgoing]:
        out: list[Outgoing] = []
        table = self.handlers()
        while self.powered and self._timers:
            name, due = min(self._timers.items(), key=lambda item: (item[1], item[0]))
            if due > now_ms:
                break
            del self._timers[name]
            self._update_battery(due)
            out.extend(table[name](due))
            out.extend(self.low_battery_check(due))
            if self.battery <= 0.0:
                self.powered = False
        return out

    def ts(self, now_ms: int) -> int:
        """The device clock: simulated time plus this device's skew."""
        return max(TS_MIN_MS, now_ms + self.skew_ms)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- battery and heartbeat -------------------------------------------------------------------
    def _update_battery(self, now_ms: int) -> None:
        hours = max(0, now_ms - self._battery_at) / 3_600_000
        self._battery_at = now_ms
        if self.charging:
            self.battery = min(100.0, self.battery + 30.0 * hours)
        else:
            self.battery = max(0.0, self.battery - self.drain_pct_per_h * hours)

    def status(self, now_ms: int) -> Outgoing:
        pct = int(self.battery)
        return Outgoing(
            UplinkChannel.STATUS,
            Status(
                device_id=self.device_id,
                boot=self.boot,
                seq=self.next_seq(),
                ts=self.ts(now_ms),
                battery_pct=pct,
                charging=self.charging,
                rssi_dbm=int(self.rng.integers(-105, -60)),
                firmware=FIRMWARE,
                low_battery=pct < LOW_BATTERY_PCT,
            ),
        )

    def _on_status(self, now_ms: int) -> list[Outgoing]:
        self._timers["status"] = now_ms + self.heartbeat_s * 1000
        self._maybe_charge(now_ms)
        out = [self.status(now_ms)]
        self._low_reported = self.battery < LOW_BATTERY_PCT
        return out

    def _maybe_charge(self, now_ms: int) -> None:
        """Charging habit: plugged in in the evening when below 60 %, unplugged when full."""
        if self.charging and self.battery >= 99.5:
            self.charging = False
        elif not self.charging and self.battery < 60 and 20.0 <= local_hour(now_ms) < 22.0:
            self.charging = True

    def low_battery_check(self, now_ms: int) -> list[Outgoing]:
        """A low-battery report as soon as the battery crosses the threshold (not only at heartbeat)."""
        if self.battery < LOW_BATTERY_PCT and not self._low_reported:
            self._low_reported = True
            return [self.status(now_ms)]
        return []

    # -- SOS -----------------------------------------------------------------------------------------
    def fix(self, now_ms: int) -> Fix | None:
        return None

    def press_sos(self, now_ms: int, cancel_after_s: float | None = None) -> list[Outgoing]:
        seq = self.next_seq()
        self.open_alarms.add(seq)
        self._set_display(DisplayState.ALARM_SENT)
        if cancel_after_s is not None and cancel_after_s <= self.sos_cancel_window_s:
            self._pending_cancel[seq] = now_ms + int(cancel_after_s * 1000)
            self._timers["cancel"] = min(self._pending_cancel.values())
        press = SosPress(
            device_id=self.device_id, boot=self.boot, seq=seq, ts=self.ts(now_ms), fix=self.fix(now_ms)
        )
        return [self.raise_alarm(seq, Outgoing(UplinkChannel.SOS, press), now_ms)]

    def raise_alarm(self, seq: int, alarm: Outgoing, now_ms: int) -> Outgoing:
        """Send ``alarm`` now and again (same bytes) until the gateway confirms it."""
        self.unconfirmed.add(seq, alarm, now_ms)
        self._schedule_repeat()
        return alarm

    def _schedule_repeat(self) -> None:
        due = self.unconfirmed.next_due_ms
        if due is None:
            self._timers.pop("alarm_repeat", None)
        else:
            self._timers["alarm_repeat"] = due

    def _on_alarm_repeat(self, now_ms: int) -> list[Outgoing]:
        out = self.unconfirmed.due(now_ms)
        self._schedule_repeat()
        return out

    def _stop_repeating(self, seq: int) -> None:
        if self.unconfirmed.confirm(seq):
            self._schedule_repeat()

    def _on_cancel(self, now_ms: int) -> list[Outgoing]:
        out: list[Outgoing] = []
        for ref, due in sorted(self._pending_cancel.items()):
            if due <= now_ms:
                del self._pending_cancel[ref]
                self.open_alarms.discard(ref)
                self._stop_repeating(ref)  # cancelled: the cancel itself tells the gateway
                msg = SosCancel(
                    device_id=self.device_id,
                    boot=self.boot,
                    seq=self.next_seq(),
                    ts=self.ts(now_ms),
                    ref_seq=ref,
                )
                out.append(Outgoing(UplinkChannel.SOS, msg))
        if not self.open_alarms:
            self._set_display(DisplayState.IDLE)
        if self._pending_cancel:
            self._timers["cancel"] = min(self._pending_cancel.values())
        return out

    # -- scenario events -----------------------------------------------------------------------------
    def inject(self, event: Injection, now_ms: int) -> list[Outgoing]:
        """Perform a scenario event at ``now_ms`` (call after ``step(now_ms)``)."""
        self._update_battery(now_ms)
        if event.kind == "sos":
            return self.press_sos(now_ms, event.params.get("cancel_after_s"))
        if event.kind in ("device_silent", "battery_depleted"):
            if event.kind == "battery_depleted":
                self.battery = 0.0
            self.powered = False
            return []
        if event.kind == "low_battery":
            self.battery = min(self.battery, float(event.params.get("pct", LOW_BATTERY_PCT - 3)))
            self.charging = False
            return self.low_battery_check(now_ms)
        if event.kind == "clock_skew":
            self.skew_ms = int(float(event.params.get("skew_s", 300)) * 1000)
            return []
        if event.kind == "factory_reset":
            self.factory_reset()
            return []
        return self.inject_specific(event, now_ms)

    def factory_reset(self) -> None:
        """Counter restart (factory reset, battery swap): seq starts again under the next boot number."""
        self.boot += 1
        self.seq = 0
        self.open_alarms.clear()
        self.unconfirmed.clear()  # the device's memory is gone: nothing left to repeat
        self._schedule_repeat()
        self._pending_cancel.clear()
        self._timers.pop("cancel", None)
        self._set_display(DisplayState.IDLE)

    def inject_specific(self, event: Injection, now_ms: int) -> list[Outgoing]:
        raise UnsupportedInjection(f"{self.kind.value} cannot do {event.kind!r}")

    def power_on(self, now_ms: int) -> None:
        """Back from silence (battery replaced / coverage back): timers resume from ``now_ms``."""
        self.powered = True
        self.battery = max(self.battery, 50.0)
        self._battery_at = now_ms
        self._timers = {name: max(due, now_ms) for name, due in self._timers.items()}

    def shift(self, delta_ms: int) -> None:
        """Move every timer by ``delta_ms`` (before the first step: re-anchoring the start)."""
        self._timers = {name: due + delta_ms for name, due in self._timers.items()}
        self._pending_cancel = {ref: due + delta_ms for ref, due in self._pending_cancel.items()}
        self.unconfirmed.shift(delta_ms)
        self._battery_at += delta_ms

    # -- downlinks -------------------------------------------------------------------------------------
    def on_downlink(self, message: DownlinkMessage, now_ms: int) -> None:
        if isinstance(message, DeviceConfig):
            self.apply_config(message)
            return
        if message.ref_boot != self.boot or message.ref_seq not in self.open_alarms:
            self.ignored_downlinks += 1
            return
        self._stop_repeating(message.ref_seq)  # the gateway has it (operator_ack / closed imply it)
        if isinstance(message, AlarmReceived):
            if self.display is not DisplayState.HELP_COMING:
                self._set_display(DisplayState.ALARM_RECEIVED)
        elif isinstance(message, OperatorAcknowledged):
            self._set_display(DisplayState.HELP_COMING, message.text_zh)
        elif isinstance(message, AlarmClosed):
            self.open_alarms.discard(message.ref_seq)
            if not self.open_alarms:
                self._set_display(DisplayState.IDLE)

    def apply_config(self, config: DeviceConfig) -> None:
        if config.heartbeat_s is not None:
            self.heartbeat_s = config.heartbeat_s
        if config.sos_cancel_window_s is not None:
            self.sos_cancel_window_s = config.sos_cancel_window_s

    def _set_display(self, state: DisplayState, text_zh: str | None = None) -> None:
        self.display = state
        self.display_text_zh = text_zh or DISPLAY_TEXT[state][0]

    def presence(self, online: bool, now_ms: int | None) -> Presence:
        return Presence(
            device_id=self.device_id, online=online, ts=None if now_ms is None else self.ts(now_ms)
        )
