"""Faults produce what they claim: each faulty frame fails (or passes) the contract the way it says."""

from __future__ import annotations

import itertools

import pytest

from contracts import ContractError, decode_uplink
from firmware_sim.faults import FaultSpecError, parse_faults
from firmware_sim.fleet import fleet_from_mix
from firmware_sim.models import AccelMode
from firmware_sim.simulation import FleetSimulation, Frame

START = 1_772_416_800_000


def frames_with(faults: str, hours: float = 2.0) -> tuple[list[Frame], list[str]]:
    sim = FleetSimulation(
        fleet_from_mix(20), seed=9, start_ms=START, faults=parse_faults(faults), accel_mode=AccelMode.OFF
    )
    adv = sim.advance(START + int(hours * 3_600_000))
    return adv.frames, [t.kind for t in adv.truths]


def reasons(frames: list[Frame]) -> list[str]:
    out = []
    for frame in frames:
        try:
            decode_uplink(frame.wire.topic, frame.wire.payload)
            out.append("ok")
        except ContractError as exc:
            out.append(exc.reason)
    return out


def test_no_faults_all_valid() -> None:
    frames, truths = frames_with("")
    assert set(reasons(frames)) == {"ok"} and truths == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("malformed", "bad_json"), ("oversized", "too_large"), ("mismatch", "device_mismatch")],
)
def test_bad_payload_faults_fail_with_their_reason(fault: str, reason: str) -> None:
    clean, _ = frames_with("")
    frames, truths = frames_with(f"{fault}=0.05")
    got = reasons(frames)
    assert got.count(reason) == truths.count(f"fault.{fault}") > 0
    assert got.count("ok") == len(clean)  # the real messages still go out


def test_duplicates_repeat_the_same_seq() -> None:
    frames, truths = frames_with("duplicate=0.05")
    payloads = [f.wire.payload for f in frames]
    assert len(payloads) - len(set(payloads)) == truths.count("fault.duplicate") > 0


def test_reorder_sends_seq_out_of_order() -> None:
    frames, truths = frames_with("reorder=0.05")
    by_device: dict[str, list[int]] = {}
    for frame in frames:
        message = decode_uplink(frame.wire.topic, frame.wire.payload)
        by_device.setdefault(message.device_id, []).append(message.seq)  # type: ignore[union-attr]
    inversions = sum(sum(a > b for a, b in itertools.pairwise(s)) for s in by_device.values())
    assert inversions == truths.count("fault.reorder") > 0


def test_spoof_publishes_a_valid_message_under_another_device() -> None:
    frames, truths = frames_with("spoof=0.05")
    spoofed = [
        f for f in frames if decode_uplink(f.wire.topic, f.wire.payload).device_id != _owner(frames, f)
    ]
    assert len(spoofed) == truths.count("fault.spoof") > 0


def _owner(frames: list[Frame], frame: Frame) -> str:
    return fleet_from_mix(20)[frame.device].device_id


def test_skew_moves_device_clocks() -> None:
    frames, truths = frames_with("skew=300", hours=0.5)
    assert truths.count("fault.clock_skew") == 20
    offsets = {abs((decode_uplink(f.wire.topic, f.wire.payload).ts or 0) - f.sim_ms) for f in frames}
    assert max(offsets) > 60_000 and max(offsets) <= 300_000


@pytest.mark.parametrize("text", ["bogus=0.1", "duplicate=2", "skew=-5", "malformed=x"])
def test_bad_fault_specs_are_refused(text: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_faults(text)
