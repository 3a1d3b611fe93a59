"""The whole fleet in simulated time, without I/O: devices + timeline + faults → frames, truths, link actions.

``advance(until_ms)`` is the only way time moves. The runner calls it with the simulated clock; tests call
it directly, so a day-long scenario runs in seconds and the output never depends on wall time.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from enum import StrEnum

from contracts import DeviceKind, DownlinkMessage, uplink_topic
from contracts.topics import UplinkChannel
from firmware_sim.faults import FaultRates, MessageFaults, WireMessage
from firmware_sim.fleet import DeviceSpec
from firmware_sim.groundtruth import Truth
from firmware_sim.models import AccelMode, DeviceModel, Injection, Outgoing, build_device
from firmware_sim.randomness import device_rng
from firmware_sim.scenario import INTERNAL_KINDS, TimelineEvent


class LinkCommand(StrEnum):
    DROP = "drop"  # the connection dies without DISCONNECT (the broker publishes the last will)
    RESTORE = "restore"  # the device may reconnect
    HALT = "halt"  # the device is dead: drop and never reconnect (until RESTORE)


@dataclass(frozen=True, slots=True)
class Frame:
    device: int
    sim_ms: int
    wire: WireMessage


@dataclass(frozen=True, slots=True)
class LinkAction:
    device: int
    sim_ms: int
    command: LinkCommand


@dataclass
class Advance:
    frames: list[Frame] = field(default_factory=list)
    truths: list[Truth] = field(default_factory=list)
    links: list[LinkAction] = field(default_factory=list)


class FleetSimulation:
    def __init__(
        self,
        fleet: list[DeviceSpec],
        *,
        seed: int,
        start_ms: int,
        timeline: list[TimelineEvent] | None = None,
        faults: FaultRates | None = None,
        accel_mode: AccelMode = AccelMode.FULL,
        sos_every_s: float | None = None,
        first_sos_s: float | None = None,
    ) -> None:
        self.fleet = fleet
        self.now_ms = start_ms
        self.devices: list[DeviceModel] = [
            build_device(
                d.device_id,
                d.kind,
                subject_id=d.subject_id,
                seed=seed,
                start_ms=start_ms,
                accel_mode=accel_mode,
            )
            for d in fleet
        ]
        self._topics = [{ch: uplink_topic(d.device_id, ch) for ch in UplinkChannel} for d in fleet]
        self._events: list[tuple[int, int, TimelineEvent]] = [(e.ts, e.order, e) for e in timeline or []]
        heapq.heapify(self._events)
        self._added = 1 << 40  # order of events added while running: after the scenario's
        self._sos_every_ms = int(sos_every_s * 1000) if sos_every_s else None
        self._sos_rng = device_rng(seed, "*fleet*", "periodic-sos")
        self._next_sos: int | None = None
        if self._sos_every_ms:
            first_gap = int(first_sos_s * 1000) if first_sos_s is not None else self._draw_sos_gap()
            self._next_sos = start_ms + first_gap
        self._heap: list[tuple[int, int]] = []
        for i in range(len(self.devices)):
            self._push(i)
        faults = faults or FaultRates()
        self._faults: list[MessageFaults] | None = None
        self._start_truths: list[Truth] = []
        if faults.any_message_fault:
            self._faults = [MessageFaults(faults, device_rng(seed, d.device_id, "faults")) for d in fleet]
        if faults.skew_s > 0:
            for dev in self.devices:
                skew_s = float(device_rng(seed, dev.device_id, "skew").uniform(-faults.skew_s, faults.skew_s))
                dev.skew_ms = int(skew_s * 1000)
                self._start_truths.append(
                    Truth(
                        start_ms,
                        dev.device_id,
                        "fault.clock_skew",
                        dev.subject_id,
                        {"skew_s": round(skew_s, 3)},
                    )
                )
        self.messages = 0

    def _push(self, i: int) -> None:
        due = self.devices[i].next_due_ms
        if due is not None:
            heapq.heappush(self._heap, (due, i))

    @property
    def next_time_ms(self) -> int | None:
        """When something next happens (a device timer or a timeline event)."""
        candidates = [
            t for t in (self._heap[0][0] if self._heap else None, self._event_ts()) if t is not None
        ]
        return min(candidates) if candidates else None

    def _event_ts(self) -> int | None:
        return self._events[0][0] if self._events else None

    def schedule(self, event: TimelineEvent) -> None:
        """Add an event while running (ordered after scenario events at the same time)."""
        self._added += 1
        heapq.heappush(self._events, (event.ts, self._added, event))

    def _draw_sos_gap(self) -> int:
        assert self._sos_every_ms is not None
        return max(1, int(self._sos_rng.exponential(self._sos_every_ms)))

    def _schedule_periodic_sos(self, until_ms: int) -> None:
        while self._next_sos is not None and self._next_sos <= until_ms and self.devices:
            i = int(self._sos_rng.integers(len(self.devices)))
            if self.devices[i].powered:
                self.schedule(TimelineEvent(self._next_sos, 0, i, "sos"))
            self._next_sos += self._draw_sos_gap()

    def advance(self, until_ms: int) -> Advance:
        """Run every timer and timeline event up to and including ``until_ms``."""
        result = Advance()
        if self._start_truths:
            result.truths.extend(self._start_truths)
            self._start_truths = []
        self._schedule_periodic_sos(until_ms)
        while True:
            event_ts = self._event_ts()
            device_ts = self._heap[0][0] if self._heap else None
            if event_ts is not None and event_ts <= until_ms and (device_ts is None or event_ts <= device_ts):
                self._apply_event(heapq.heappop(self._events)[2], result)
            elif device_ts is not None and device_ts <= until_ms:
                due, i = heapq.heappop(self._heap)
                dev = self.devices[i]
                if dev.next_due_ms != due:
                    continue  # stale entry: the device was re-scheduled
                self._emit(i, due, dev.step(due), result)
                self._push(i)
            else:
                break
        self.now_ms = max(self.now_ms, until_ms)
        return result

    def _apply_event(self, event: TimelineEvent, result: Advance) -> None:
        if event.device < 0:  # fleet-wide marker (reconnect storm): truth only
            result.truths.append(Truth(event.ts, "*", event.kind, "", dict(event.params)))
            return
        i, dev = event.device, self.devices[event.device]
        self._emit(i, event.ts, dev.step(event.ts), result)
        detail = dict(event.params)
        if event.kind == "offline":
            result.links.append(LinkAction(i, event.ts, LinkCommand.DROP))
        elif event.kind == "_online":
            result.links.append(LinkAction(i, event.ts, LinkCommand.RESTORE))
        elif event.kind == "_power_on":
            dev.power_on(event.ts)
            result.links.append(LinkAction(i, event.ts, LinkCommand.RESTORE))
        elif not dev.powered:
            detail["device_off"] = True  # a dead device cannot press, fall-detect or report anything
        elif event.kind not in INTERNAL_KINDS:
            dev.injection_detail = {}
            self._emit(i, event.ts, dev.inject(Injection(event.kind, dict(event.params)), event.ts), result)
            detail.update(dev.injection_detail)
            if not dev.powered:
                result.links.append(LinkAction(i, event.ts, LinkCommand.HALT))
        if event.truth:
            spec = self.fleet[i]
            result.truths.append(Truth(event.ts, spec.device_id, event.kind, spec.subject_id, detail))
        self._push(i)

    def _emit(self, i: int, now_ms: int, outgoing: list[Outgoing], result: Advance) -> None:
        topics = self._topics[i]
        for out in outgoing:
            wire = WireMessage(topics[out.channel], out.encode(), out.qos, out.retain)
            if self._faults is None:
                result.frames.append(Frame(i, now_ms, wire))
                continue
            victim = (i + 1) % len(self.fleet)
            frames, injected = self._faults[i].apply(
                wire, self.fleet[i].device_id, self._topics[victim][out.channel], self.fleet[victim].device_id
            )
            result.frames.extend(Frame(i, now_ms, f) for f in frames)
            spec = self.fleet[i]
            seq = out.seq if out.seq is not None else getattr(out.message, "seq", None)
            for kind in injected:
                detail: dict[str, object] = {"seq": seq, "channel": out.channel.value}
                if kind in ("spoof", "mismatch"):
                    detail["victim"] = self.fleet[victim].device_id
                result.truths.append(Truth(now_ms, spec.device_id, f"fault.{kind}", spec.subject_id, detail))
        self.messages += len(outgoing)

    def rebase(self, start_ms: int) -> None:
        """Move a simulation that has not advanced yet to start at ``start_ms`` (all timers shift)."""
        delta = start_ms - self.now_ms
        if delta == 0:
            return
        for dev in self.devices:
            dev.shift(delta)
        self._heap = []
        for i in range(len(self.devices)):
            self._push(i)
        self._events = [(ts + delta, order, replace(e, ts=e.ts + delta)) for ts, order, e in self._events]
        heapq.heapify(self._events)
        if self._next_sos is not None:
            self._next_sos += delta
        self._start_truths = [replace(t, ts=t.ts + delta) for t in self._start_truths]
        self.now_ms = start_ms

    def deliver_downlink(self, i: int, message: DownlinkMessage, now_ms: int) -> None:
        self.devices[i].on_downlink(message, now_ms)
        self._push(i)

    def kinds(self) -> dict[DeviceKind, int]:
        counts: dict[DeviceKind, int] = {}
        for d in self.fleet:
            counts[d.kind] = counts.get(d.kind, 0) + 1
        return counts
