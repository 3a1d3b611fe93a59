"""Silence decisions (pure: times passed in).

Per device: when it was last heard — on the *fleet clock* (:class:`~edge.detection.fleet_clock.FleetClock`,
device time taken from the messages, so a simulation at 60× shows silence 60× sooner) and on its own
clock — whether its MQTT last will (``presence`` offline) came since (on the gateway's wall clock: a
reconnect takes real seconds whatever the simulation speed), whether its battery was low, and whether
the current quiet spell was reported already.

A device is reported once per quiet spell:

* ``device_silent`` (``missed_heartbeats``) when nothing came for its kind's threshold (care plan
  ``silence``: card 30 min, wearable 10 min, child monitor 10 min by default);
* ``battery_depleted`` instead when its last word was a low battery;
* ``device_silent`` (``last_will_offline``) when its last will came and it did not reconnect within
  the grace period (``offline_grace_s``).

Any message from the device ends the spell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from contracts import EventKind


@dataclass(frozen=True, slots=True)
class Seen:
    """What is known of one device (also the row kept in the edge database)."""

    fleet_ms: int  # fleet clock when its last message arrived
    device_ts: int  # that message's own timestamp
    offline_ms: int | None = None  # gateway clock when its last will arrived (None: not since)
    silent: bool = False  # this quiet spell was reported
    low_battery: bool = False


@dataclass(frozen=True, slots=True)
class Quiet:
    """A device to report: ``t_ms`` on its own clock (its last timestamp + the quiet time)."""

    device_id: str
    kind: EventKind
    reason: str
    t_ms: int
    last_ts: int
    quiet_ms: int
    threshold_ms: int


class SilenceWatch:
    """``threshold_ms(device_id)`` says how long a device may stay quiet (None: not watched, e.g. a
    device the registry does not know)."""

    def __init__(self, *, threshold_ms: Callable[[str], int | None], grace_ms: int) -> None:
        self._threshold_ms = threshold_ms
        self._grace_ms = grace_ms
        self._seen: dict[str, Seen] = {}
        self._dirty: set[str] = set()

    def __len__(self) -> int:
        return len(self._seen)

    def get(self, device_id: str) -> Seen | None:
        return self._seen.get(device_id)

    def restore(self, seen: Iterable[tuple[str, Seen]]) -> None:
        """What the edge database remembered from before a restart (not dirty)."""
        for device_id, state in seen:
            self._seen[device_id] = state

    def _set(self, device_id: str, state: Seen) -> None:
        self._seen[device_id] = state
        self._dirty.add(device_id)

    def heard(
        self, device_id: str, *, device_ts: int, fleet_ms: int, low_battery: bool | None = None
    ) -> None:
        """A message from the device: the quiet spell (if any) is over."""
        old = self._seen.get(device_id)
        low = (old.low_battery if old is not None else False) if low_battery is None else low_battery
        if old is not None and fleet_ms < old.fleet_ms:
            fleet_ms, device_ts = old.fleet_ms, max(old.device_ts, device_ts)  # never back in time
        self._set(device_id, Seen(fleet_ms=fleet_ms, device_ts=max(device_ts, 0), low_battery=low))

    def reconnected(self, device_id: str, *, connect_ts: int | None, device_ts: int, fleet_ms: int) -> None:
        """An ``online`` presence. A retained one the broker replays (its connect time not newer than
        the last message) is no sign of life; one without a timestamp is taken as one."""
        old = self._seen.get(device_id)
        if old is not None and connect_ts is not None and connect_ts <= old.device_ts:
            return
        self.heard(device_id, device_ts=device_ts, fleet_ms=fleet_ms)

    def offline(self, device_id: str, *, wall_ms: int) -> None:
        """Its MQTT last will: offline unless it reconnects within the grace period."""
        old = self._seen.get(device_id)
        if old is None or old.offline_ms is not None or old.silent:
            return  # never heard (nothing to compare with), already offline, or already reported
        self._set(device_id, replace(old, offline_ms=wall_ms))

    def check(self, *, fleet_now: int, wall_now: int) -> list[Quiet]:
        """Devices whose quiet spell is to be reported now (each once)."""
        found: list[Quiet] = []
        for device_id, state in self._seen.items():
            if state.silent:
                continue
            threshold = self._threshold_ms(device_id)
            if threshold is None:
                continue
            quiet = max(0, fleet_now - state.fleet_ms)
            if state.offline_ms is not None and wall_now - state.offline_ms >= self._grace_ms:
                kind, reason = EventKind.DEVICE_SILENT, "last_will_offline"
            elif quiet >= threshold:
                kind, reason = (
                    (EventKind.BATTERY_DEPLETED, "silent_after_low_battery")
                    if state.low_battery
                    else (EventKind.DEVICE_SILENT, "missed_heartbeats")
                )
            else:
                continue
            found.append(
                Quiet(device_id, kind, reason, state.device_ts + quiet, state.device_ts, quiet, threshold)
            )
        for quiet_device in found:
            self._set(quiet_device.device_id, replace(self._seen[quiet_device.device_id], silent=True))
        return found

    def mark_dirty(self, device_ids: Iterable[str]) -> None:
        """A write failed: these are still to be written."""
        self._dirty.update(d for d in device_ids if d in self._seen)

    def take_dirty(self) -> list[tuple[str, Seen]]:
        """The states changed since the last call (to be written to the edge database)."""
        dirty = [(device_id, self._seen[device_id]) for device_id in self._dirty]
        self._dirty.clear()
        return dirty
