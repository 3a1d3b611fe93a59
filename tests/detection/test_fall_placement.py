"""Placement: a model per placement, chosen from the care plan or the device's own batches."""

from __future__ import annotations

import pytest

from contracts import AccelBatch, DeviceKind
from contracts.care_plan import CarePlan
from edge.detection.adapter import DetectionAdapter
from edge.detection.fall import FallStream
from edge.detection.fall_model import PLACEMENTS, load_default_model

TS = 1_772_413_200_000


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_every_placement_ships_its_own_model(placement: str) -> None:
    model = load_default_model(placement)
    assert model.placement == placement
    assert 0.0 < model.threshold < 1.0


def test_an_unknown_placement_gets_the_waist_model() -> None:
    assert load_default_model("ankle").placement == "waist"


def _batch(seq: int, placement: str) -> AccelBatch:
    return AccelBatch(
        device_id="wear-1", seq=seq, ts=TS + seq * 1000, samples=[(0.0, 0.0, 1.0)] * 50, placement=placement
    )  # type: ignore[arg-type]


def _fall_placement(adapter: DetectionAdapter) -> str:
    streams = [d for name, d in adapter._devices["wear-1"].detectors if name == "fall"]
    assert len(streams) == 1 and isinstance(streams[0], FallStream)
    return streams[0].placement


def test_the_gateway_runs_the_model_of_the_placement_the_device_declares() -> None:
    adapter = DetectionAdapter(lambda _d: DeviceKind.WEARABLE)
    adapter.observe(_batch(1, "waist"), TS)
    assert _fall_placement(adapter) == "waist"
    adapter.observe(_batch(2, "wrist"), TS + 1000)
    assert _fall_placement(adapter) == "wrist"


def test_the_registry_care_plan_placement_wins_over_the_device() -> None:
    plan = CarePlan(wearable_placement="pendant")
    adapter = DetectionAdapter(lambda _d: DeviceKind.WEARABLE, plan_of=lambda _d: plan)
    adapter.observe(_batch(1, "waist"), TS)
    assert _fall_placement(adapter) == "pendant"


def test_a_plan_without_placement_keeps_the_default() -> None:
    assert CarePlan().wearable_placement is None
    assert CarePlan.model_validate({"wearable_placement": "wrist"}).wearable_placement == "wrist"
    with pytest.raises(ValueError):
        CarePlan.model_validate({"wearable_placement": "ankle"})
