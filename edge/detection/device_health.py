"""Device health: silence, battery, strap, reconnect storms — one monitor per device.

Silence is classified by what the device said last: low battery then silence is
``battery_depleted``; silence with a good battery is ``device_silent``. A wearable
that reports ``worn=False`` while its battery is fine is ``strap_removed``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contracts import DeviceKind, Presence, Status, WearState
from edge.detection.events import DetectionEvent, EventKind
from edge.detection.stream import DetectorSpec, Observed, Setup
from edge.detection.time_order import TimeOrder
from edge.detection.vital_artifacts import is_plausible

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthConfig:
    """Thresholds for one device kind. Silent after ``missed_beats`` heartbeats;
    ``low_battery`` at ≤ ``low_battery_pct``, re-armed at ≥ ``clear_battery_pct``;
    a storm is ``storm_reconnects`` reconnects within ``storm_window_s``."""

    heartbeat_s: float
    missed_beats: int = 3
    low_battery_pct: float = 15.0
    clear_battery_pct: float = 25.0
    strap_confirm: int = 2
    storm_reconnects: int = 5
    storm_window_s: float = 600.0
    watch_silence: bool = True  # the gateway watches silence itself (edge.liveness): False there


HEALTH_DEFAULTS: dict[DeviceKind, HealthConfig] = {
    DeviceKind.SOS_CARD: HealthConfig(heartbeat_s=3600.0, missed_beats=3),
    DeviceKind.WEARABLE: HealthConfig(heartbeat_s=300.0, missed_beats=3),
    DeviceKind.CHILD_MONITOR: HealthConfig(heartbeat_s=60.0, missed_beats=5),
    DeviceKind.HOME_HUB: HealthConfig(heartbeat_s=300.0, missed_beats=3),  # on mains; motion every 5 min
}


class DeviceHealthMonitor:
    """Call :meth:`heartbeat` for every uplink (with battery/wear when known),
    :meth:`reconnect` on every (re)connection and :meth:`tick` periodically with the
    current message time."""

    def __init__(self, source_id: str, kind: DeviceKind, config: HealthConfig | None = None) -> None:
        self.source_id = source_id
        self.kind = kind
        self.config = config if config is not None else HEALTH_DEFAULTS[kind]
        self._order = TimeOrder()
        self._last_seen: int | None = None
        self._battery: float | None = None
        self._silent = False
        self._low = False
        self._not_worn = 0
        self._strap_alarmed = False
        self._reconnects: deque[int] = deque()
        self._storm = False

    def heartbeat(
        self, t_ms: int, *, battery_pct: float | None = None, worn: bool | None = None
    ) -> list[DetectionEvent]:
        """A sign of life from the device."""
        events = self.tick(t_ms)
        self._last_seen = t_ms
        self._silent = False
        cfg = self.config
        if is_plausible(battery_pct, 0.0, 100.0) or battery_pct == 0:
            self._battery = float(battery_pct)  # type: ignore[arg-type]
            if self._battery <= cfg.low_battery_pct and not self._low:
                self._low = True
                events.append(self._event(EventKind.LOW_BATTERY, "battery_below_threshold", t_ms, t_ms))
            elif self._battery >= cfg.clear_battery_pct:
                self._low = False
        if worn is True:
            self._not_worn, self._strap_alarmed = 0, False
        elif worn is False:
            self._not_worn += 1
            if self._not_worn >= cfg.strap_confirm and not self._strap_alarmed and not self._low:
                self._strap_alarmed = True
                events.append(self._event(EventKind.STRAP_REMOVED, "not_worn_battery_ok", t_ms, t_ms))
        return events

    def reconnect(self, t_ms: int) -> list[DetectionEvent]:
        """The device (re)connected to the broker."""
        events = self.heartbeat(t_ms)
        window_ms = round(self.config.storm_window_s * 1000)
        self._reconnects.append(t_ms)
        while self._reconnects and self._reconnects[0] <= t_ms - window_ms:
            self._reconnects.popleft()
        n = len(self._reconnects)
        if n >= self.config.storm_reconnects and not self._storm:
            self._storm = True
            events.append(
                self._event(EventKind.RECONNECT_STORM, "reconnects_in_window", t_ms, self._reconnects[0])
            )
        elif n < self.config.storm_reconnects / 2:
            self._storm = False
        return events

    def tick(self, t_ms: int) -> list[DetectionEvent]:
        """Check for silence at ``t_ms``: one event per silent spell."""
        self._order.advance(t_ms)
        last = self._last_seen
        cfg = self.config
        if not cfg.watch_silence or last is None or self._silent:
            return []
        if t_ms - last <= cfg.heartbeat_s * cfg.missed_beats * 1000:
            return []
        self._silent = True
        if self._low:
            return [self._event(EventKind.BATTERY_DEPLETED, "silent_after_low_battery", t_ms, last)]
        return [self._event(EventKind.DEVICE_SILENT, "missed_heartbeats", t_ms, last)]

    def _event(self, kind: EventKind, reason: str, t_ms: int, onset_ms: int) -> DetectionEvent:
        measures = (("battery_pct", self._battery),) if self._battery is not None else ()
        return DetectionEvent(
            kind=kind,
            source_id=self.source_id,
            t_ms=t_ms,
            onset_ms=onset_ms,
            reason=reason,
            measures=measures,
        )


class HealthStream:
    """The gateway's health watch for one device of known kind: every uplink is a heartbeat (status
    carries the battery, wear state whether it is worn), an online presence a reconnect. Silence is not
    watched here: the gateway's :class:`~edge.liveness.detector.Liveness` does that (persisted across
    restarts, last will, thresholds from the care plan)."""

    def __init__(self, setup: Setup) -> None:
        assert setup.kind is not None
        config = dataclasses.replace(HEALTH_DEFAULTS[setup.kind], watch_silence=False)
        self.monitor = DeviceHealthMonitor(setup.device_id, setup.kind, config)

    def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]:
        if isinstance(message, Presence):
            return self.monitor.reconnect(t_ms) if message.online else ()
        battery = message.battery_pct if isinstance(message, Status) else None
        worn = (message.state == "worn") if isinstance(message, WearState) else None
        return self.monitor.heartbeat(t_ms, battery_pct=battery, worn=worn)

    def tick(self, t_ms: int) -> Sequence[DetectionEvent]:
        return self.monitor.tick(t_ms)

    def reconfigure(self, config: DetectorConfig) -> bool:
        return False


def _health(setup: Setup) -> HealthStream | None:
    # thresholds depend on the kind; a pack's sensors never connect (their hub's health covers them)
    return HealthStream(setup) if setup.kind in HEALTH_DEFAULTS else None


SPEC = DetectorSpec("device_health", _health)
