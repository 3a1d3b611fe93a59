"""Detectors of edge/detection run inside the gateway: a fall in acceleration reaches the cloud."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, DeviceLink

from contracts import AccelBatch, DeviceKind, EventKind, Status, encode
from edge.detection.adapter import DetectionAdapter
from edge.liveness.detector import Liveness
from edge.pipeline import Pipeline


def fall_samples(rate: int = 50) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Standing, tipping over for 1.2 s (the last 0.4 s near free fall), an impact of
    ~6 g, then lying still on the side."""
    rng = np.random.default_rng(1)
    tip = np.linspace(0.0, np.radians(80.0), int(rate * 1.2))
    weight = np.r_[np.ones(int(rate * 0.8)), np.linspace(1.0, 0.2, int(rate * 0.4))]
    parts = [
        np.tile([0.0, 0.0, 1.0], (rate * 4, 1)),
        weight[:, None] * np.column_stack([np.sin(tip), np.zeros_like(tip), np.cos(tip)]),
        np.array([[2.0, 0.5, 5.5], [3.0, 1.0, 4.0], [1.5, 0.2, 2.5]]),
        np.tile([1.0, 0.0, 0.05], (rate * 5, 1)),
    ]
    samples = np.vstack(parts)
    return samples + rng.normal(0, 0.01, samples.shape)


def accel_batches(device_id: str, first_seq: int = 1) -> list[bytes]:
    samples = fall_samples()
    return [
        encode(
            AccelBatch(
                device_id=device_id,
                seq=first_seq + i // 50,
                ts=BASE_TS + i * 20,
                rate_hz=50,
                samples=[(float(x), float(y), float(z)) for x, y, z in samples[i : i + 50]],
            )
        )
        for i in range(0, len(samples), 50)
    ]


async def test_fall_in_acceleration_becomes_a_p1_event(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory() as gateway:
        batches = accel_batches("wear-1")
        for payload in batches:
            await device.publish("wear-1", "accel", payload, qos=1)
        await cloud.wait_for(lambda: any(e.kind is EventKind.FALL for e in cloud.events))
        [fall] = [e for e in cloud.events if e.kind is EventKind.FALL]
        assert fall.severity.value == "P1"
        assert fall.key.startswith("wear-1:") and fall.key.endswith(".fall")
        assert fall.evidence is not None and fall.evidence["probability"] > 0.5
        assert len(fall.evidence["accel"]["samples"]) > 100
        assert gateway.accepted_count("accel") == len(batches)


def test_device_silence_is_raised_by_the_tick_on_the_device_clock() -> None:
    adapter = DetectionAdapter(lambda _d: DeviceKind.WEARABLE)
    liveness = Liveness(
        clock=adapter.clock,
        kind_of=lambda _d: DeviceKind.WEARABLE,
        plan_of=lambda _d: None,
        offline_grace_s=120,
    )
    pipeline = Pipeline("edge-1", [adapter, liveness])
    now = BASE_TS + 5_000  # the gateway clock is 5 s ahead of the device
    status = Status(device_id="w1", seq=9, ts=BASE_TS, battery_pct=80)
    assert pipeline.handle(status, received_ms=now).events == []
    assert pipeline.tick(now + 10 * 60_000 - 1) == []  # a wearable is silent after 10 min
    silent_at = now + 10 * 60_000
    [event] = pipeline.tick(silent_at)
    assert event.kind is EventKind.DEVICE_SILENT and event.seq == 9
    assert event.key.startswith("w1:9.device_silent.t")
    assert event.device_ts == BASE_TS + 10 * 60_000  # on the device's clock
    assert pipeline.tick(silent_at + 60_000) == []  # once per silent spell
    # a late message on the device clock is still accepted after the ticks
    assert pipeline.handle(status.model_copy(update={"seq": 10, "ts": BASE_TS + 1}), now).events == []


def test_repeated_detector_events_join_instead_of_resending() -> None:
    adapter = DetectionAdapter(lambda _d: DeviceKind.WEARABLE)
    pipeline = Pipeline("edge-1", [adapter])
    first = pipeline.handle(Status(device_id="w1", seq=1, ts=BASE_TS, battery_pct=10), BASE_TS).events
    assert [e.kind for e in first] == [EventKind.LOW_BATTERY]
    again = pipeline.handle(Status(device_id="w1", seq=2, ts=BASE_TS + 1, battery_pct=9), BASE_TS).events
    assert again == []
