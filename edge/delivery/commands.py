"""Command stream: downlinks the cloud wants delivered (operator acknowledged, alarm closed, config).

The gateway keeps ``GET /api/v1/edges/{edge_id}/commands`` (Server-Sent Events) open, reconnecting with
backoff and ``Last-Event-ID``. Each command's downlink is published to the device at QoS 1; once the
broker confirmed it (PUBACK) the command is acknowledged to the cloud. A command that fails is not
acknowledged, so the cloud replays it on the next connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from contracts import DeviceConfig, DownlinkChannel, EdgeCommand, downlink_topic, encode
from edge.delivery.backoff import Backoff
from edge.delivery.cloud_client import CloudClient
from edge.delivery.sse import SseEvent, SseParser
from edge.errors import CloudRejected, CloudUnavailable, EdgeError
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)

# (topic, payload) -> returns once the broker confirmed the publish; raises EdgeError otherwise
Publish = Callable[[str, bytes], Awaitable[None]]


class CommandStream:
    def __init__(
        self,
        *,
        edge_id: str,
        cloud: CloudClient,
        publish: Publish,
        metrics: EdgeMetrics,
        backoff: Backoff,
        idle_timeout_s: float,
    ) -> None:
        self._edge_id = edge_id
        self._cloud = cloud
        self._publish = publish
        self._metrics = metrics
        self._backoff = backoff
        self._idle_timeout_s = idle_timeout_s
        self.last_event_id: str | None = None
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except CloudRejected as exc:
                log.error("commands.refused status=%d", exc.status)
            except (CloudUnavailable, EdgeError) as exc:
                log.info("commands.disconnected error=%s", exc)
            finally:
                self.connected.clear()
            await asyncio.sleep(self._backoff.next_delay())

    async def _follow(self) -> None:
        async with self._cloud.command_stream(
            last_event_id=self.last_event_id, idle_timeout_s=self._idle_timeout_s
        ) as lines:
            log.info("commands.connected")
            self._backoff.reset()
            self.connected.set()
            parser = SseParser(self.last_event_id)
            async for line in lines:
                event = parser.feed_line(line)
                if event is not None:
                    await self._handle(event)
        raise CloudUnavailable("command stream ended")

    async def _handle(self, event: SseEvent) -> None:
        if event.event not in ("message", "command"):
            return  # e.g. "ping"
        try:
            command = EdgeCommand.model_validate_json(event.data)
        except ValidationError:
            self._metrics.commands.labels(result="invalid").inc()
            log.warning("commands.invalid event_id=%s", event.id)
            return
        if command.edge_id != self._edge_id or command.downlink.device_id != command.device_id:
            self._metrics.commands.labels(result="invalid").inc()
            log.warning("commands.mismatch command=%d", command.id)
            return
        downlink = command.downlink
        channel = DownlinkChannel.CONFIG if isinstance(downlink, DeviceConfig) else DownlinkChannel.ALARM
        await self._publish(downlink_topic(command.device_id, channel), encode(downlink))
        self._metrics.downlinks.labels(type=downlink.type).inc()
        await self._cloud.ack_command(command.id)
        self.last_event_id = event.id if event.id is not None else str(command.id)
        self._metrics.commands.labels(result="delivered").inc()
        log.info(
            "commands.delivered command=%d device=%s type=%s", command.id, command.device_id, downlink.type
        )
