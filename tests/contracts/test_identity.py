"""The alarm's identity: boot beside seq, v1 messages still read, keys derived from the body only."""

from __future__ import annotations

import orjson
import pytest

import contracts as c
from contracts.identity import event_key, finding_key, message_digest, tick_key, variant_key
from contracts.intake import EdgeEvent, EventKind, Severity, derived_keys, key_is_derived

TS = 1_764_513_600_000
SOS_TOPIC = "anxin/v1/up/card-0001/sos"


def test_a_v1_message_reads_as_boot_0_with_the_v1_key() -> None:
    v1 = orjson.dumps({"v": 1, "type": "sos", "device_id": "card-0001", "seq": 7, "ts": TS})
    message = c.decode_uplink(SOS_TOPIC, v1)
    assert isinstance(message, c.SosPress)
    assert (message.boot, message.key) == (0, "card-0001:7")


def test_boot_is_part_of_the_key_and_round_trips() -> None:
    sos = c.SosPress(device_id="card-0001", boot=3, seq=7, ts=TS)
    assert sos.v == c.SCHEMA_VERSION == 2
    decoded = c.decode_uplink(SOS_TOPIC, c.encode(sos))
    assert decoded == sos and decoded.key == "card-0001:b3.7"  # type: ignore[union-attr]


@pytest.mark.parametrize("boot", [-1, 2**32, "1", 1.5])
def test_a_bad_boot_is_invalid(boot: object) -> None:
    payload = orjson.dumps(
        {"v": 2, "type": "sos", "device_id": "card-0001", "boot": boot, "seq": 1, "ts": TS}
    )
    with pytest.raises(c.ContractError) as caught:
        c.decode_uplink(SOS_TOPIC, payload)
    assert (caught.value.reason, caught.value.field) == ("invalid", "boot")


def test_keys_of_different_messages_never_collide() -> None:
    keys = {
        event_key("d", 5),
        event_key("d", 5, 1),
        event_key("d", 1, 5),
        event_key("d", 15),
        event_key("d", 51),
        finding_key("d", 5, 0, "fall"),
        finding_key("d", 5, 1, "fall"),
        tick_key("d", 5, 0, "device_silent", TS),
        variant_key(event_key("d", 5), message_digest(b"a")),
        variant_key(event_key("d", 5), message_digest(b"b")),
    }
    assert len(keys) == 10


def test_the_digest_tells_copies_from_different_messages() -> None:
    one = c.encode(c.SosPress(device_id="card-0001", seq=5, ts=TS))
    assert message_digest(one) == message_digest(bytes(one))
    assert message_digest(one) != message_digest(
        c.encode(c.SosPress(device_id="card-0001", seq=5, ts=TS + 1))
    )
    assert len(message_digest(one)) == 16


def _event(kind: EventKind = EventKind.SOS, **overrides: object) -> EdgeEvent:
    values: dict[str, object] = {
        "key": "card-0001:5",
        "edge_id": "edge-1",
        "device_id": "card-0001",
        "seq": 5,
        "kind": kind,
        "severity": Severity.P1,
        "device_ts": TS,
        "edge_ts": TS + 5,
    }
    values.update(overrides)
    return EdgeEvent.model_validate(values)


@pytest.mark.parametrize(
    ("overrides", "derived"),
    [
        ({}, True),
        ({"key": "card-0001:6"}, False),  # another seq's key
        ({"key": "card-0002:5"}, False),  # another device's key
        ({"boot": 2}, False),  # boot 2 has its own keys
        ({"boot": 2, "key": "card-0001:b2.5"}, True),
        ({"digest": "0123456789abcdef", "key": "card-0001:5.x0123456789abcdef"}, True),
        ({"digest": "0123456789abcdef", "key": "card-0001:5.xfedcba9876543210"}, False),
        ({"key": "card-0001:5.x0123456789abcdef"}, False),  # a variant needs its digest in the body
        ({"key": "card-0001:5.sos"}, False),
    ],
)
def test_an_alarm_key_must_follow_from_its_body(overrides: dict[str, object], derived: bool) -> None:
    assert key_is_derived(_event(**overrides)) is derived


def test_finding_and_tick_keys_follow_from_kind_and_time() -> None:
    fall = _event(EventKind.FALL, key="wear-1:9.fall", device_id="wear-1", seq=9)
    assert key_is_derived(fall)
    assert not key_is_derived(_event(EventKind.FALL, key="wear-1:9", device_id="wear-1", seq=9))
    silent = _event(EventKind.DEVICE_SILENT, key=f"card-0001:5.device_silent.t{TS}", severity=Severity.P3)
    assert key_is_derived(silent)
    assert not key_is_derived(silent.model_copy(update={"device_ts": TS + 1}))
    assert derived_keys(fall) == {"wear-1:9.fall", f"wear-1:9.fall.t{TS}"}


def test_the_longest_keys_fit_the_contract() -> None:
    device = "d" * 64
    longest = variant_key(finding_key(device, 2**53 - 1, 2**32 - 1, "battery_depleted"), "f" * 16)
    tick = tick_key(device, 2**53 - 1, 2**32 - 1, "battery_depleted", 9_999_999_999_999)
    assert max(len(longest), len(tick)) <= 140
    alarm = variant_key(event_key(device, 2**53 - 1, 2**32 - 1), "f" * 16)
    assert len(alarm) <= 128  # downlinks carry it as incident_key


def test_old_edge_events_stay_valid() -> None:
    v1 = {
        "v": 1,
        "key": "card-0001:5",
        "edge_id": "edge-1",
        "device_id": "card-0001",
        "seq": 5,
        "kind": "sos",
        "severity": "P1",
        "device_ts": TS,
        "edge_ts": TS,
    }
    event = EdgeEvent.model_validate(v1)
    assert (event.boot, event.digest, event.unassigned) == (0, None, False) and key_is_derived(event)


def test_downlinks_name_the_boot_and_stay_version_1() -> None:
    ack = c.AlarmReceived(device_id="card-0001", ts=TS, ref_seq=5, ref_boot=2, incident_key="card-0001:b2.5")
    decoded = c.decode_downlink(c.encode(ack))
    assert decoded == ack and decoded.v == 1
    old = c.decode_downlink(
        b'{"v":1,"type":"alarm_received","device_id":"card-0001","ts":1,"ref_seq":5,"incident_key":"k"}'
    )
    assert isinstance(old, c.AlarmReceived) and old.ref_boot == 0
