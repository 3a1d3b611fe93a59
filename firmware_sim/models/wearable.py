"""Fall/SOS wearable (waist): 50 Hz acceleration in batches, vitals every minute, worn/removed, SOS."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import numpy as np
import orjson

from contracts import (
    SCHEMA_VERSION,
    AlarmClosed,
    DeviceConfig,
    DeviceKind,
    DownlinkMessage,
    FallSuspected,
    UplinkChannel,
    Vitals,
    WearState,
)
from firmware_sim.models.base import DeviceModel, Injection, Outgoing, local_hour
from firmware_sim.models.display import DisplayState
from firmware_sim.signals.accel import RATE_HZ, AccelSynth, Activity
from firmware_sim.signals.vitals import Episode, VitalsSynth

EVENT_WINDOW_MS = 30_000
FALL_CONFIRM_MS = 2_000  # the firmware waits for post-impact stillness before it raises the alarm

# (activity, weight, min minutes, max minutes) for the waking day
DAY_ROUTINE = (
    (Activity.SIT, 0.45, 10.0, 60.0),
    (Activity.CHORES, 0.25, 5.0, 30.0),
    (Activity.WALK, 0.22, 2.0, 20.0),
    (Activity.STAIRS, 0.08, 0.5, 2.0),
)


def accel_payload(
    device_id: str, *, boot: int, seq: int, ts: int, samples: np.ndarray, placement: str = "waist"
) -> bytes:
    """The wire bytes of one acceleration batch (``samples``: (n, 3) in g at ``RATE_HZ``), encoded
    straight from the array (no pydantic model per batch: a wearable sends one every second)."""
    body = {
        "v": SCHEMA_VERSION,
        "type": "accel",
        "device_id": device_id,
        "boot": boot,
        "seq": seq,
        "ts": ts,
        "rate_hz": RATE_HZ,
        "samples": samples,
        "placement": placement,
    }
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


class AccelMode(StrEnum):
    FULL = "full"  # a batch every accel_batch_s, always (≈1 msg/s per wearable)
    EVENTS = "events"  # only in a 30 s window from an on-device trigger (falls, hard bumps)
    OFF = "off"


class Wearable(DeviceModel):
    kind = DeviceKind.WEARABLE
    heartbeat_s = 300
    drain_pct_per_h = 2.0  # about two days on a charge

    def __init__(
        self,
        device_id: str,
        subject_id: str,
        rng: np.random.Generator,
        start_ms: int,
        accel_mode: AccelMode = AccelMode.FULL,
    ) -> None:
        super().__init__(device_id, subject_id, rng, start_ms)
        self.accel_mode = accel_mode
        self.accel_batch_s = 1
        self.fall_detection = True
        self.activity = Activity.SIT
        self.removed = False  # taken off by the wearer (scripted) - charging also takes it off
        self.episode = Episode.NONE
        self.accel = AccelSynth(rng)
        self.vitals = VitalsSynth(rng)
        self._accel_until = 0
        self._fall_peak = 0.0
        self.wake_h = float(rng.uniform(5.8, 7.2))
        self.bed_h = float(rng.uniform(21.0, 22.8))
        self._timers["vitals"] = start_ms + int(rng.uniform(0, 60) * 1000)
        self._timers["activity"] = start_ms
        if accel_mode is AccelMode.FULL:
            self._timers["accel"] = start_ms + int(rng.uniform(0, 1000))

    def handlers(self) -> dict[str, Callable[[int], list[Outgoing]]]:
        return {
            **super().handlers(),
            "vitals": self._on_vitals,
            "activity": self._on_activity,
            "accel": self._on_accel,
            "fall_alert": self._on_fall_alert,
            "getup": self._on_getup,
            "rewear": self._on_rewear,
            "episode_end": self._on_episode_end,
        }

    @property
    def worn(self) -> bool:
        return not (self.removed or self.charging)

    def current_activity(self) -> Activity:
        return self.activity if self.worn else Activity.REMOVED

    # -- routine -----------------------------------------------------------------------------------
    def _on_activity(self, now_ms: int) -> list[Outgoing]:
        hour = local_hour(now_ms)
        if hour >= self.bed_h or hour < self.wake_h:
            self.activity = Activity.SLEEP
            hours_left = (self.wake_h - hour) % 24
            self._timers["activity"] = now_ms + int(hours_left * 3_600_000) + 1
            return []
        weights = np.array([w for _, w, _, _ in DAY_ROUTINE])
        pick = int(self.rng.choice(len(DAY_ROUTINE), p=weights / weights.sum()))
        activity, _, lo, hi = DAY_ROUTINE[pick]
        self.activity = activity
        self._timers["activity"] = now_ms + int(self.rng.uniform(lo, hi) * 60_000)
        return []

    def _on_status(self, now_ms: int) -> list[Outgoing]:
        was_worn = self.worn
        out = super()._on_status(now_ms)
        if self.worn != was_worn:
            out.append(self._wear(now_ms))
        return out

    def _wear(self, now_ms: int) -> Outgoing:
        state = "worn" if self.worn else "removed"
        msg = WearState(
            device_id=self.device_id, boot=self.boot, seq=self.next_seq(), ts=self.ts(now_ms), state=state
        )
        return Outgoing(UplinkChannel.WEAR, msg)

    # -- signals ------------------------------------------------------------------------------------
    def _on_vitals(self, now_ms: int) -> list[Outgoing]:
        self._timers["vitals"] = now_ms + 60_000
        r = self.vitals.reading(self.current_activity(), worn=self.worn, episode=self.episode)
        msg = Vitals(
            device_id=self.device_id,
            boot=self.boot,
            seq=self.next_seq(),
            ts=self.ts(now_ms),
            hr_bpm=r.hr_bpm,
            spo2_pct=r.spo2_pct,
            motion=r.motion,
        )
        return [Outgoing(UplinkChannel.VITALS, msg)]

    def _on_accel(self, now_ms: int) -> list[Outgoing]:
        n = RATE_HZ * self.accel_batch_s
        if self.accel_mode is AccelMode.FULL or now_ms < self._accel_until:
            self._timers["accel"] = now_ms + self.accel_batch_s * 1000
        samples = np.round(self.accel.batch(self.current_activity(), n), 3)
        seq = self.next_seq()
        raw = accel_payload(self.device_id, boot=self.boot, seq=seq, ts=self.ts(now_ms), samples=samples)
        return [Outgoing(UplinkChannel.ACCEL, None, raw=raw, seq=seq)]

    def _trigger_accel(self, now_ms: int) -> None:
        if self.accel_mode is AccelMode.EVENTS:
            self._accel_until = now_ms + EVENT_WINDOW_MS
            self._timers.setdefault("accel", now_ms)

    # -- falls ------------------------------------------------------------------------------------
    def fall(self, now_ms: int, get_up_after_s: float | None) -> None:
        peak = float(np.clip(self.rng.lognormal(np.log(5.5), 0.25), 3.2, 8.0))
        self._fall_peak = peak
        self.injection_detail = {
            "peak_g": round(peak, 2),
            "lying": get_up_after_s is None,
            "before": self.current_activity().value,
        }
        self.accel.queue_fall(peak, get_up_after_s=get_up_after_s)
        self.activity = Activity.LYING
        self._timers.pop("activity", None)
        if get_up_after_s is not None:
            self._timers["getup"] = now_ms + 1_500 + int(get_up_after_s * 1000)
        if self.fall_detection:
            self._timers["fall_alert"] = now_ms + FALL_CONFIRM_MS
        self._trigger_accel(now_ms)

    def _on_fall_alert(self, now_ms: int) -> list[Outgoing]:
        seq = self.next_seq()
        self.open_alarms.add(seq)
        self._set_display(DisplayState.ALARM_SENT)
        msg = FallSuspected(
            device_id=self.device_id,
            boot=self.boot,
            seq=seq,
            ts=self.ts(now_ms),
            peak_g=round(self._fall_peak, 2),
            confidence=0.8,
        )
        return [self.raise_alarm(seq, Outgoing(UplinkChannel.FALL, msg), now_ms)]

    def _on_getup(self, now_ms: int) -> list[Outgoing]:
        self.activity = Activity.SIT
        self._timers["activity"] = now_ms + 60_000
        return []

    def _on_rewear(self, now_ms: int) -> list[Outgoing]:
        self.removed = False
        return [self._wear(now_ms)]

    def _on_episode_end(self, now_ms: int) -> list[Outgoing]:
        self.episode = Episode.NONE
        return []

    def inject_specific(self, event: Injection, now_ms: int) -> list[Outgoing]:
        if event.kind == "fall":
            if self.activity is Activity.LYING:  # already on the floor: cannot fall again
                self.injection_detail = {"already_down": True}
                return []
            get_up = event.params.get("get_up_after_s")
            self.fall(now_ms, None if get_up is None else float(get_up))
            return []
        if event.kind == "adl_bump":
            self.accel.queue_bump()
            self._trigger_accel(now_ms)
            return []
        if event.kind in (Episode.HR_HIGH, Episode.HR_LOW, Episode.SPO2_LOW):
            self.episode = Episode(event.kind)
            self._timers["episode_end"] = now_ms + int(float(event.params.get("duration_s", 900)) * 1000)
            return []
        if event.kind == "strap_removed":
            was_worn = self.worn
            self.removed = True
            duration = event.params.get("duration_s")
            if duration is not None:
                self._timers["rewear"] = now_ms + int(float(duration) * 1000)
            return [self._wear(now_ms)] if was_worn else []
        return super().inject_specific(event, now_ms)

    def on_downlink(self, message: DownlinkMessage, now_ms: int) -> None:
        super().on_downlink(message, now_ms)
        if isinstance(message, AlarmClosed) and self.activity is Activity.LYING and not self.open_alarms:
            self._on_getup(now_ms)  # the responders helped the person up

    def apply_config(self, config: DeviceConfig) -> None:
        super().apply_config(config)
        if config.accel_batch_s is not None:
            self.accel_batch_s = config.accel_batch_s
        if config.fall_detection is not None:
            self.fall_detection = config.fall_detection
