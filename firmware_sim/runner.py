"""Wires the pure fleet simulation to real MQTT: ``run_simulation`` (CLI, bench) and ``run_fleet`` (demo)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from contracts import ContractError, DeviceKind, decode_downlink
from firmware_sim.clock import SimClock
from firmware_sim.faults import FaultRates
from firmware_sim.fleet import PREFIX, DeviceSpec, check_unique, subject_for
from firmware_sim.groundtruth import GroundTruthWriter
from firmware_sim.link import LinkStats
from firmware_sim.models import AccelMode
from firmware_sim.progress import report
from firmware_sim.scenario import TimelineEvent
from firmware_sim.settings import SimSettings
from firmware_sim.simulation import Advance, FleetSimulation, LinkCommand
from firmware_sim.transport import FleetTransport

log = logging.getLogger(__name__)

MAX_TICK_S = 0.05  # wall seconds between simulation ticks at most
DRAIN_TIMEOUT_S = 10.0


@dataclass
class RunConfig:
    mqtt_url: str
    fleet: list[DeviceSpec]
    seed: int
    speed: float = 1.0
    start_ms: int | None = None  # None: the wall clock when the fleet is connected
    duration_s: float | None = None  # None: until cancelled
    timeline: list[TimelineEvent] = field(default_factory=list)
    faults: FaultRates = field(default_factory=FaultRates)
    accel_mode: AccelMode = AccelMode.FULL
    ground_truth: Path | None = None
    sos_every_s: float | None = None
    first_sos_s: float | None = None  # first periodic SOS after this many simulated seconds
    progress: bool = False
    settings: SimSettings = field(default_factory=SimSettings)
    credentials: dict[str, str] = field(default_factory=dict)  # device id -> broker secret


@dataclass
class RunResult:
    stats: LinkStats
    devices: int
    connect_s: float
    run_s: float
    sim_ms: int
    messages: int  # PUBLISH packets written to sockets during the run
    generated: int  # frames the models produced (nominal rate × time)
    truths: int
    bad_downlinks: int
    max_lag_s: float  # how far (wall seconds) the messages trailed the simulated clock at worst

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.run_s if self.run_s > 0 else 0.0


class FleetRun:
    """One run: the pure simulation, the MQTT transport, the simulated clock, the ground-truth file.

    ``sim`` exposes every device's state (``sim.devices[i].display``) for tests; ``downlink_applied`` is
    set each time a downlink reached a device model.
    """

    def __init__(self, config: RunConfig) -> None:
        check_unique(config.fleet)
        self.config = config
        self._provisional_start = config.start_ms or int(time.time() * 1000)
        self.sim = FleetSimulation(
            config.fleet,
            seed=config.seed,
            start_ms=self._provisional_start,
            timeline=config.timeline,
            faults=config.faults,
            accel_mode=config.accel_mode,
            sos_every_s=config.sos_every_s,
            first_sos_s=config.first_sos_s,
        )
        self.transport = FleetTransport(
            config.mqtt_url,
            [d.device_id for d in config.fleet],
            on_downlink=self.on_downlink,
            presence_ts=lambda i: self.sim.devices[i].ts(self.now_ms()),
            connect_concurrency=config.settings.connect_concurrency,
            keepalive_s=config.settings.keepalive_s,
            credentials=config.credentials,
            ca_file=config.settings.ca_file,
        )
        self.clock: SimClock | None = None
        self.downlink_applied = asyncio.Event()
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        self.bad_downlinks = 0
        self.truths = 0
        self.frames = 0
        self._writer = GroundTruthWriter(config.ground_truth) if config.ground_truth else None

    def now_ms(self) -> int:
        return self.clock.now_ms() if self.clock else self.sim.now_ms

    def on_downlink(self, i: int, topic: str, payload: bytes) -> None:
        device_id = self.sim.fleet[i].device_id
        try:
            message = decode_downlink(payload)
        except ContractError as exc:
            self.bad_downlinks += 1
            log.warning("sim.bad_downlink device=%s reason=%s", device_id, exc.reason)
            return
        if message.device_id != device_id:
            self.bad_downlinks += 1
            log.warning("sim.bad_downlink device=%s reason=device_mismatch", device_id)
            return
        self.sim.deliver_downlink(i, message, self.now_ms())
        log.debug("sim.downlink device=%s type=%s", device_id, message.type)
        self.downlink_applied.set()

    def apply(self, adv: Advance) -> None:
        self.frames += len(adv.frames)
        for frame in adv.frames:
            self.transport.publish(frame.device, frame.wire)
        for action in adv.links:
            if action.command is LinkCommand.RESTORE:
                self.transport.restore(action.device)
            else:
                self.transport.drop(action.device)
        if adv.truths:
            self.truths += len(adv.truths)
            if self._writer is not None:
                self._writer.write(adv.truths)

    async def _drive(self, clock: SimClock, end_ms: int | None) -> None:
        # at most one tick's worth of simulated time per step, so a backlog never starves the sockets
        slice_ms = max(1, int(MAX_TICK_S * 1000 * self.config.speed))
        while True:
            now = clock.now_ms()
            target = min(now, self.sim.now_ms + slice_ms)
            if end_ms is not None:
                target = min(target, end_ms)
            self.apply(self.sim.advance(target))
            self.lag_s = max(0.0, (clock.now_ms() - self.sim.now_ms) / 1000 / self.config.speed)
            self.max_lag_s = max(self.max_lag_s, self.lag_s)
            if end_ms is not None and target >= end_ms:
                return
            if target < now:
                await asyncio.sleep(0)  # behind: let the transport write, then catch up
                continue
            upcoming = self.sim.next_time_ms
            delay = MAX_TICK_S if upcoming is None else min(MAX_TICK_S, clock.wall_delay_s(upcoming))
            await asyncio.sleep(delay)

    async def run(self, started: asyncio.Event | None = None) -> RunResult:
        """Connect the fleet, run ``duration_s`` of simulated time (or until cancelled), disconnect."""
        config, transport = self.config, self.transport
        began = time.monotonic()
        connect_s = run_s = 0.0
        sent_before = sent_after = 0
        try:
            async with asyncio.TaskGroup() as tg:
                net = tg.create_task(transport.run())
                ui = tg.create_task(self._progress()) if config.progress else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(transport.all_connected.wait(), config.settings.connect_timeout_s)
                connect_s = time.monotonic() - began
                log.info(
                    "sim.connected devices=%d of=%d seconds=%.1f",
                    transport.first_connected,
                    len(config.fleet),
                    connect_s,
                )
                start_ms = self._provisional_start if config.start_ms else int(time.time() * 1000)
                self.sim.rebase(start_ms)  # nothing has happened yet: re-anchor the timers on the real start
                self.clock = SimClock(start_ms, config.speed)
                end_ms = None if config.duration_s is None else start_ms + int(config.duration_s * 1000)
                if started is not None:
                    started.set()
                run_began = time.monotonic()
                sent_before = transport.stats.sent
                await self._drive(self.clock, end_ms)
                run_s = time.monotonic() - run_began
                sent_after = transport.stats.sent
                await transport.drain(DRAIN_TIMEOUT_S)
                await transport.close()
                net.cancel()
                if ui is not None:
                    ui.cancel()
        finally:
            for link in transport.links:
                link.disconnect()
            if self._writer is not None:
                self._writer.close()
        return RunResult(
            stats=transport.stats,
            devices=len(config.fleet),
            connect_s=connect_s,
            run_s=run_s,
            sim_ms=self.now_ms(),
            messages=sent_after - sent_before,
            generated=self.frames,
            truths=self.truths,
            bad_downlinks=self.bad_downlinks,
            max_lag_s=self.max_lag_s,
        )

    async def _progress(self) -> None:
        await report(
            self.transport.stats,
            len(self.config.fleet),
            sim_ms=self.now_ms,
            lag_s=lambda: self.lag_s,
            speed=self.config.speed,
            interval_s=self.config.settings.progress_interval_s,
        )


async def run_simulation(config: RunConfig, *, started: asyncio.Event | None = None) -> RunResult:
    """Connect the fleet, run it for ``config.duration_s`` of simulated time (or until cancelled)."""
    return await FleetRun(config).run(started)


def fleet_of(devices: list[tuple[str, DeviceKind]]) -> list[DeviceSpec]:
    """Device list → fleet; subjects follow the id convention (``card-0120`` → ``D120``), else the id."""
    out = []
    for device_id, kind_value in devices:
        kind = DeviceKind(kind_value)
        prefix, _, number = device_id.rpartition("-")
        conventional = prefix == PREFIX[kind] and number.isdigit()
        out.append(DeviceSpec(device_id, kind, subject_for(kind, int(number)) if conventional else device_id))
    return out


async def run_fleet(
    *,
    mqtt_url: str,
    devices: list[tuple[str, DeviceKind]],
    seed: int,
    speed: float,
    sos_every_s: float | None,
    ground_truth: Path | None,
    started: asyncio.Event | None = None,
    first_sos_s: float | None = None,
    credentials: dict[str, str] | None = None,
) -> None:
    """Run ``devices`` against the broker at ``mqtt_url`` until cancelled (used by ``anxin demo``).

    ``started`` is set once every device is connected (or the connect timeout passed). With
    ``sos_every_s`` some device of the fleet presses SOS on average that often (simulated seconds);
    ``first_sos_s`` fixes when the first of those presses happens (the demo wants one right away).
    """
    config = RunConfig(
        mqtt_url=mqtt_url,
        fleet=fleet_of(devices),
        seed=seed,
        speed=speed,
        sos_every_s=sos_every_s,
        first_sos_s=first_sos_s,
        ground_truth=ground_truth,
        accel_mode=AccelMode.FULL,
        credentials=credentials or {},
    )
    await run_simulation(config, started=started)
