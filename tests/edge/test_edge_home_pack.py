"""The gateway's handling of a home hub (pure): pull-cord like SOS, hazards acknowledged, foreign sensors."""

from __future__ import annotations

from contracts import EventKind, Hazard, HazardAlarm, PullCordAlarm, encode
from contracts.intake import key_is_derived
from edge.ingest.sequence import SequenceTracker
from edge.ingest.validation import Accepted, Rejected, Validator
from edge.pipeline import Pipeline
from edge.registry.store import DeviceRegistry, RegisteredDevice

TS = 1_772_856_600_000


def registry() -> DeviceRegistry:
    reg = DeviceRegistry()
    reg.replace(
        [
            RegisteredDevice(device_id="hub-0001", kind="home_hub", subject_id="1"),
            RegisteredDevice(
                device_id="hub-0001-cord",
                kind="pull_cord",
                subject_id="1",
                hub_id="hub-0001",
                room="bathroom",
            ),
            RegisteredDevice(device_id="hub-0002", kind="home_hub", subject_id="2"),
            RegisteredDevice(
                device_id="hub-0002-smoke",
                kind="smoke_detector",
                subject_id="2",
                hub_id="hub-0002",
                room="kitchen",
            ),
        ],
        fetched_ms=TS,
    )
    return reg


def validator() -> Validator:
    return Validator(
        registry(),
        SequenceTracker(256),
        accept_unknown_devices=False,
        max_payload_bytes=16_384,
        reference_ms=lambda t: t,
    )


def test_the_pull_cord_is_an_alarm_keyed_by_its_message_and_acknowledged() -> None:
    cord = PullCordAlarm(device_id="hub-0001", seq=7, ts=TS, sensor_id="hub-0001-cord")
    outcome = Pipeline("edge-1").handle(cord, TS + 40)
    [event] = outcome.events
    assert (event.kind, event.key, event.severity.value) == (EventKind.PULL_CORD, "hub-0001:7", "P1")
    assert event.evidence == {"sensor_id": "hub-0001-cord", "sensor_kind": "pull_cord", "source": "pull_cord"}
    assert key_is_derived(event)
    assert outcome.ack is not None and (outcome.ack.ref_seq, outcome.ack.incident_key) == (7, "hub-0001:7")


def test_a_hazard_is_acknowledged_even_when_no_detector_raised_anything() -> None:
    clear = HazardAlarm(
        device_id="hub-0002", seq=9, ts=TS, sensor_id="hub-0002-smoke", hazard=Hazard.SMOKE, state="clear"
    )
    outcome = Pipeline("edge-1").handle(clear, TS)
    assert outcome.events == [] and outcome.ack is not None and outcome.ack.ref_seq == 9


def test_a_smoke_alarm_from_an_unknown_hub_still_reaches_a_human() -> None:
    smoke = HazardAlarm(
        device_id="hub-0099", seq=3, ts=TS, sensor_id="hub-0099-smoke", hazard=Hazard.SMOKE, state="alarm"
    )
    outcome = Pipeline("edge-1").handle(smoke, TS, unassigned=True)
    [event] = outcome.events
    assert (event.kind, event.unassigned, event.key) == (EventKind.SMOKE, True, "hub-0099:3.smoke")
    assert key_is_derived(event) and outcome.ack is not None


def test_a_hub_speaks_only_for_its_own_sensors() -> None:
    check = validator()
    own = HazardAlarm(
        device_id="hub-0002", seq=1, ts=TS, sensor_id="hub-0002-smoke", hazard=Hazard.SMOKE, state="alarm"
    )
    foreign = PullCordAlarm(device_id="hub-0002", seq=2, ts=TS, sensor_id="hub-0001-cord")
    unknown = PullCordAlarm(device_id="hub-0002", seq=3, ts=TS, sensor_id="hub-0002-nothing")
    assert isinstance(check.check("anxin/v1/up/hub-0002/hazard", encode(own), TS), Accepted)
    for message in (foreign, unknown):
        verdict = check.check("anxin/v1/up/hub-0002/pull_cord", encode(message), TS)
        assert isinstance(verdict, Rejected) and verdict.reason == "foreign_sensor"
    # the refused message moved nothing: the hub's next message is accepted
    nxt = PullCordAlarm(device_id="hub-0002", seq=4, ts=TS, sensor_id="hub-0002-smoke")
    assert isinstance(check.check("anxin/v1/up/hub-0002/pull_cord", encode(nxt), TS), Accepted)
