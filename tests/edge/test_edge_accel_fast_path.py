"""The acceleration fast path decides exactly what the straightforward code decided.

An accel batch is converted to numpy once (``AccelBatch.array()``) and range-checked on that array;
``AccelStream`` appends into a buffer with room; the message digest is worked out only when an event
needs it. Each is checked here against the plain version it replaced: same verdicts, same arrays, same
events for the same input.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray

from contracts import (
    AccelBatch,
    ContractError,
    DeviceKind,
    FallSuspected,
    decode_uplink,
    message_digest,
    uplink_topic,
)
from contracts.uplink import ACCEL_RANGE_G
from edge.detection.accel_stream import AccelStream
from edge.detection.adapter import DetectionAdapter
from edge.detection.config import DEFAULT_CONFIG
from edge.detection.events import FallEvent
from edge.detection.fall import FallDetector, FallStream
from edge.detection.fall_model import load_default_model
from edge.detection.stream import Setup
from edge.pipeline import Pipeline
from firmware_sim.models.wearable import Wearable
from firmware_sim.signals.accel import Activity

TS = 1_764_000_000_000


def _batch(samples: list[tuple[float, float, float]], seq: int = 1) -> AccelBatch:
    return AccelBatch(device_id="w-1", seq=seq, ts=TS + seq * 1000, samples=samples)


def _old_range_check(samples: list[tuple[float, float, float]]) -> bool:
    """The validator before: a Python loop over every axis."""
    return all(-ACCEL_RANGE_G <= axis <= ACCEL_RANGE_G for sample in samples for axis in sample)


EDGE_VALUES = [0.0, -0.0, 1.0, 31.999999, 32.0, -32.0, 32.000001, -32.000001, 1e308, -1e308]
EDGE_VALUES += [math.inf, -math.inf, math.nan, 5e-324]


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_range_check_refuses_exactly_what_the_loop_refused(value: float) -> None:
    for position in range(3):
        sample = [0.0, -1.0, 0.1]
        sample[position] = value
        samples = [(0.0, -1.0, 0.0), (sample[0], sample[1], sample[2]), (0.1, 0.2, 0.3)]
        try:
            _batch(samples)
            accepted = True
        except ValueError as exc:
            assert "acceleration outside ±32 g" in str(exc)
            accepted = False
        assert accepted == _old_range_check(samples), (value, position)


def test_a_refused_batch_is_refused_on_the_wire_the_same_way() -> None:
    payload = b'{"v":1,"type":"accel","device_id":"w-1","seq":1,"ts":%d,"samples":[[0,0,1],[0,0,40]]}' % TS
    with pytest.raises(ContractError) as refused:
        decode_uplink(uplink_topic("w-1", "accel"), payload)
    assert refused.value.reason == "invalid"


def test_the_array_is_the_samples_made_once_and_read_only() -> None:
    rng = np.random.default_rng(5)
    samples = [tuple(float(x) for x in row) for row in np.round(rng.normal(0, 2, (50, 3)), 3)]
    batch = _batch(samples)  # type: ignore[arg-type]
    array = batch.array()
    reference = np.asarray(batch.samples, dtype=np.float64)
    assert array.dtype == reference.dtype and array.shape == reference.shape == (50, 3)
    assert np.array_equal(array, reference) and array.flags.c_contiguous
    assert batch.array() is array  # once per message
    with pytest.raises(ValueError):
        array[0, 0] = 1.0  # no reader can change what the next one reads
    assert batch == _batch(samples)  # type: ignore[arg-type]  # a cache is not part of the value
    moved = batch.model_copy(update={"samples": [(0.0, 0.0, 1.0)]})
    assert moved.array().tolist() == [[0.0, 0.0, 1.0]]  # a copy with other samples: its own array
    assert batch.array() is not moved.array() and np.array_equal(batch.array(), reference)


class ConcatStream(AccelStream):
    """The stream before: the whole kept window concatenated anew on every batch."""

    def _push(self, arr: NDArray[np.float64], mag: NDArray[np.float64], keep: int) -> None:
        self.acc = np.concatenate((self.acc, arr))[-keep:]
        self.mag = np.concatenate((self.mag, mag))[-keep:]


def _batches(rng: np.random.Generator) -> Iterator[tuple[NDArray[np.float64], int, float]]:
    t, rate = 1_000_000, 50.0
    for i in range(400):
        n = int(rng.integers(1, 120))
        samples = rng.normal(0, 1.5, (n, 3))
        if i % 37 == 5:
            samples[int(rng.integers(n))] = np.nan  # a corrupt row: held over by the last good one
        yield samples, t, rate
        t += round(n * 1000 / rate)
        if i % 50 == 49:
            t += 5_000  # a gap: a new segment
        if i == 200:
            rate = 25.0  # a rate change: a new segment


def test_buffered_stream_keeps_exactly_what_concatenation_kept() -> None:
    rng = np.random.default_rng(11)
    new, old = AccelStream(keep_s=3.0), ConcatStream(keep_s=3.0)
    views: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
    for samples, t0, rate in _batches(rng):
        assert new.append(samples.copy(), t0, rate) == old.append(samples.copy(), t0, rate)
        assert (new.start, new.count, new.segment, new.rate_hz) == (
            old.start,
            old.count,
            old.segment,
            old.rate_hz,
        )
        assert np.array_equal(new.acc, old.acc) and np.array_equal(new.mag, old.mag)
        assert new.time_ms(new.count - 1) == old.time_ms(old.count - 1)
        views.append((new.acc, new.acc.copy()))
    for view, then in views:  # what a reader took earlier never changes under it
        assert np.array_equal(view, then)


def _wearable_batches(count: int) -> list[AccelBatch]:
    """Simulator wearables' batches (walking, sitting, falls with and without getting up), decoded
    as the gateway decodes them."""
    out: list[AccelBatch] = []
    for n in range(3):
        wearable = Wearable(f"w-{n}", f"p-{n}", np.random.default_rng(40 + n), TS)
        wearable.activity = (Activity.WALK, Activity.SIT, Activity.CHORES)[n]
        for k in range(count):
            now = TS + k * 1000
            if k in (20, 70):
                wearable.fall(now, get_up_after_s=None if k == 20 else 8.0)
            if k in (45, 95):
                wearable.activity = Activity.WALK
            raw = wearable.handlers()["accel"](now)[0].raw
            assert raw is not None
            message = decode_uplink(uplink_topic(wearable.device_id, "accel"), raw)
            assert isinstance(message, AccelBatch)
            out.append(message)
    return out


def test_the_gateway_path_raises_the_falls_the_plain_path_raised() -> None:
    batches = _wearable_batches(120)
    # the plain path: each batch converted from its list, the stream concatenating
    plain: dict[str, FallDetector] = {}
    expected = []
    for b in batches:
        if b.device_id not in plain:
            plain[b.device_id] = FallDetector(b.device_id, load_default_model("waist"))
            plain[b.device_id].scorer.stream = ConcatStream(keep_s=plain[b.device_id].scorer.stream._keep_s)
        samples = np.asarray(b.samples, dtype=np.float64)
        expected += plain[b.device_id].update(samples, b.ts, float(b.rate_hz))
    assert expected, "the simulated falls must raise something, or this test shows nothing"
    # the gateway path: the fall detector the adapter builds for a wearable, on the decoded messages
    model = load_default_model("waist")
    streams: dict[str, FallStream] = {}
    got: list[FallEvent] = []
    for b in batches:
        if b.device_id not in streams:
            streams[b.device_id] = FallStream(Setup(b.device_id, DeviceKind.WEARABLE, DEFAULT_CONFIG, model))
        got += streams[b.device_id].observe(b, b.ts)
    assert got == expected


def test_digest_is_worked_out_only_for_an_event_and_is_the_same() -> None:
    calls: list[bytes] = []
    payload = b'{"any":"bytes"}'

    def digest() -> str:
        calls.append(payload)
        return message_digest(payload)

    pipeline = Pipeline("edge-1", [DetectionAdapter(lambda _d: DeviceKind.WEARABLE)])
    quiet = _batch([(0.0, -1.0, 0.0)] * 50)
    assert pipeline.handle(quiet, TS, digest=digest).events == []
    assert calls == []  # telemetry that raised nothing was never hashed
    alarm = FallSuspected(device_id="w-1", seq=2, ts=TS + 2000, peak_g=4.0)
    [event] = pipeline.handle(alarm, TS + 2000, digest=digest).events
    assert event.digest == message_digest(payload) and len(calls) == 1
    [same] = pipeline.handle(alarm, TS + 2000, digest=message_digest(payload)).events
    assert same.digest == event.digest
