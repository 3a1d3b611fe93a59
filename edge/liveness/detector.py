"""The gateway's dead-device detector: every message is a sign of life, a last will starts the grace
period, the periodic tick reports who went quiet (:class:`~edge.liveness.silence.SilenceWatch`).

It is one of the gateway's detectors (the :class:`~edge.pipeline.Detector` port), after the detection
adapter, sharing its :class:`~edge.detection.fleet_clock.FleetClock`. Thresholds come from the person's
care plan (``silence``, per device kind); a device the registry does not know is not watched. The state
is restored from the edge database at start (``restore``) and written back in batches (``flush``), so a
device already quiet when the gateway restarts is still reported on time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contracts import DeviceKind, Presence, Status, UplinkMessage
from contracts.care_plan import DEFAULT_CARE_PLAN, CarePlan
from edge.detection.fleet_clock import FleetClock
from edge.liveness.last_seen import LastSeenStore
from edge.liveness.silence import SilenceWatch
from edge.pipeline import Finding

LOW_BATTERY_PCT = 15  # a status at or below this (or flagged low) makes a later silence "battery_depleted"


def silence_threshold_ms(kind: DeviceKind, plan: CarePlan | None) -> int:
    silence = (plan or DEFAULT_CARE_PLAN).silence
    minutes = {
        DeviceKind.SOS_CARD: silence.sos_card_min,
        DeviceKind.WEARABLE: silence.wearable_min,
        DeviceKind.CHILD_MONITOR: silence.child_monitor_min,
    }[kind]
    return round(minutes * 60_000)


class Liveness:
    name = "liveness"

    def __init__(
        self,
        *,
        clock: FleetClock,
        kind_of: Callable[[str], DeviceKind | None],
        plan_of: Callable[[str], CarePlan | None],
        offline_grace_s: float,
        feed_clock: bool = False,
    ) -> None:
        """``feed_clock``: this detector tells the clock about each message (when no detection adapter
        runs before it to do so)."""
        self._clock = clock
        self._kind_of = kind_of
        self._plan_of = plan_of
        self._feed_clock = feed_clock
        self.watch = SilenceWatch(threshold_ms=self._threshold_ms, grace_ms=round(offline_grace_s * 1000))

    def _threshold_ms(self, device_id: str) -> int | None:
        kind = self._kind_of(device_id)
        return None if kind is None else silence_threshold_ms(kind, self._plan_of(device_id))

    def observe(self, message: UplinkMessage | Presence, received_ms: int) -> Sequence[Finding]:
        device_id = message.device_id
        if isinstance(message, Presence):
            if not message.online:
                self.watch.offline(device_id, wall_ms=received_ms)
                return ()
            fleet = self._clock.now(received_ms)
            self.watch.reconnected(
                device_id, connect_ts=message.ts, device_ts=message.ts or fleet, fleet_ms=fleet
            )
            return ()
        if self._feed_clock:
            self._clock.observe(device_id, message.ts, received_ms)
        low = None
        if isinstance(message, Status):
            low = not message.charging and (message.low_battery or message.battery_pct <= LOW_BATTERY_PCT)
        self.watch.heard(
            device_id, device_ts=message.ts, fleet_ms=self._clock.now(received_ms), low_battery=low
        )
        return ()

    def tick(self, now_ms: int) -> Sequence[tuple[str, Finding]]:
        found = self.watch.check(fleet_now=self._clock.now(now_ms), wall_now=now_ms)
        return [
            (
                q.device_id,
                Finding(
                    q.kind,
                    q.t_ms,
                    q.reason,
                    {
                        "reason": q.reason,
                        "onset_ms": q.last_ts,
                        "quiet_s": round(q.quiet_ms / 1000),
                        "threshold_s": round(q.threshold_ms / 1000),
                    },
                ),
            )
            for q in found
        ]

    async def restore(self, store: LastSeenStore) -> int:
        """Load the last-seen state saved before a restart; returns how many devices."""
        states = await store.load()
        self.watch.restore(states)
        return len(states)

    async def flush(self, store: LastSeenStore) -> int:
        """Write what changed since the last flush (one transaction); returns how many devices."""
        dirty = self.watch.take_dirty()
        try:
            await store.save(dirty)
        except BaseException:
            self.watch.mark_dirty(device_id for device_id, _ in dirty)  # written next time
            raise
        return len(dirty)
