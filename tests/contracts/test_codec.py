"""Contract round-trips and rejections: every reason a gateway counts must be produced here."""

from __future__ import annotations

import contextlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import contracts as c
from contracts.cli import example_uplinks
from contracts.errors import ContractError
from contracts.topics import UplinkChannel, parse_downlink_topic
from contracts.uplink import CHANNEL_OF

TS = 1_764_513_600_000


@pytest.mark.parametrize("name", sorted(CHANNEL_OF))
def test_every_example_round_trips(name: str) -> None:
    message = example_uplinks("wear-0007")[name]
    topic = c.uplink_topic("wear-0007", CHANNEL_OF[name])
    decoded = c.decode_uplink(topic, c.encode(message))
    assert decoded == message


def _sos(**overrides: object) -> bytes:
    data: dict[str, object] = {"v": 1, "device_id": "card-0001", "seq": 7, "ts": TS, "type": "sos"}
    data.update(overrides)
    return orjson.dumps(data)


SOS_TOPIC = "anxin/v1/up/card-0001/sos"


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "field"),
    [
        (SOS_TOPIC, b"{not json", "bad_json", None),
        (SOS_TOPIC, b"[1, 2]", "bad_json", None),
        (SOS_TOPIC, _sos(v=2), "bad_version", "v"),
        (SOS_TOPIC, _sos(v="1"), "bad_version", "v"),
        (SOS_TOPIC, _sos(type="teleport"), "invalid", "type"),
        (SOS_TOPIC, _sos(type="vitals", hr_bpm=70), "invalid", "type"),  # wrong channel
        (SOS_TOPIC, _sos(seq=-1), "invalid", "seq"),
        (SOS_TOPIC, _sos(seq="7"), "invalid", "seq"),
        (SOS_TOPIC, _sos(ts=1_764_513_600), "invalid", "ts"),  # seconds, not ms
        (SOS_TOPIC, _sos(device_id="card-0002"), "device_mismatch", "device_id"),
        (SOS_TOPIC, _sos(device_id="card/0001"), "invalid", "device_id"),
        ("anxin/v1/up/card-0001/sos/extra", _sos(), "bad_topic", "topic"),
        ("anxin/v1/up/card+1/sos", _sos(), "bad_topic", "topic"),
        ("anxin/v1/up/card-0001/selfdestruct", _sos(), "bad_topic", "topic"),
        ("other/card-0001/sos", _sos(), "bad_topic", "topic"),
        (SOS_TOPIC, b" " * (c.MAX_PAYLOAD_BYTES + 1), "too_large", None),
    ],
)
def test_rejections_name_reason_and_field(topic: str, payload: bytes, reason: str, field: str | None) -> None:
    with pytest.raises(ContractError) as caught:
        c.decode_uplink(topic, payload)
    assert caught.value.reason == reason
    assert caught.value.field == field


def test_unknown_fields_are_ignored_by_readers() -> None:
    message = c.decode_uplink(SOS_TOPIC, _sos(firmware_extra={"x": 1}))
    assert isinstance(message, c.SosPress)
    assert message.key == "card-0001:7"


def test_error_messages_do_not_echo_payload_values() -> None:
    payload = orjson.dumps(
        {"v": 1, "device_id": "wear-0001", "seq": 1, "ts": TS, "type": "vitals", "hr_bpm": 977}
    )
    with pytest.raises(ContractError) as caught:
        c.decode_uplink("anxin/v1/up/wear-0001/vitals", payload)
    assert "977" not in str(caught.value)
    assert caught.value.field == "hr_bpm"


def test_accel_rejects_out_of_range_and_nan() -> None:
    base = {"v": 1, "device_id": "wear-0001", "seq": 1, "ts": TS, "type": "accel"}
    for bad in ([[0.0, 0.0, 99.0]], [[0.0, 0.0]], []):
        with pytest.raises(ContractError):
            c.decode_uplink("anxin/v1/up/wear-0001/accel", orjson.dumps({**base, "samples": bad}))
    nan_payload = orjson.dumps(base)[:-1] + b',"samples":[[NaN,0,1]]}'
    with pytest.raises(ContractError):
        c.decode_uplink("anxin/v1/up/wear-0001/accel", nan_payload)


def test_downlink_round_trip_and_topic() -> None:
    ack = c.OperatorAcknowledged(
        device_id="card-0001", ts=TS, ref_seq=7, incident_key="card-0001:7", operator="op-07", eta_min=12
    )
    assert c.decode_downlink(c.encode(ack)) == ack
    assert parse_downlink_topic(c.downlink_topic("card-0001")) == ("card-0001", c.DownlinkChannel.ALARM)


def test_shared_subscription_filter() -> None:
    assert c.uplink_filter() == "anxin/v1/up/+/+"
    assert c.uplink_filter("edge") == "$share/edge/anxin/v1/up/+/+"


valid_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")


@given(valid_ids, st.sampled_from(list(UplinkChannel)))
def test_valid_ids_make_parseable_topics(device_id: str, channel: UplinkChannel) -> None:
    parsed = c.parse_uplink_topic(c.uplink_topic(device_id, channel))
    assert (parsed.device_id, parsed.channel) == (device_id, channel)


@given(
    st.tuples(st.text(max_size=30), st.sampled_from(["+", "#", "/", " ", "\x00"]), st.text(max_size=30)).map(
        "".join
    )
)
def test_ids_with_wildcards_or_separators_are_refused(device_id: str) -> None:
    with pytest.raises(ContractError):
        c.validate_device_id(device_id)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_escape_as_other_errors(payload: bytes) -> None:
    with contextlib.suppress(ContractError):
        c.decode_uplink(SOS_TOPIC, payload)


@given(
    st.dictionaries(
        st.sampled_from(["v", "device_id", "seq", "ts", "type", "ref_seq", "fix", "trigger"]),
        st.one_of(
            st.none(),
            st.integers(-(2**63), 2**63 - 1),
            st.floats(),
            st.text(max_size=10),
            st.lists(st.integers(-(2**63), 2**63 - 1)),
        ),
    )
)
def test_arbitrary_objects_never_escape_as_other_errors(data: dict[str, object]) -> None:
    with contextlib.suppress(ContractError):
        c.decode_uplink(SOS_TOPIC, orjson.dumps(data))


def test_edge_event_key_pattern() -> None:
    event = c.EdgeEvent(
        key=c.event_key("card-0001", 7),
        edge_id="edge-1",
        device_id="card-0001",
        seq=7,
        kind=c.EventKind.SOS,
        severity=c.Severity.P1,
        device_ts=TS,
        edge_ts=TS + 40,
    )
    assert event.key == "card-0001:7"


def test_unknown_fields_are_found_at_any_depth() -> None:
    from contracts.care_plan import CarePlan
    from contracts.codec import unknown_fields

    raw = {
        "vitals": {"hr_high_bpm": 120, "hr_hgih": 1},
        "fences": [{"name": "学校", "lat": 39.1, "lon": 117.0, "radius_m": 300, "radius": 5}],
        "colour": "red",
    }
    plan = CarePlan.model_validate(raw)
    assert unknown_fields(plan, raw) == ["vitals.hr_hgih", "fences.0.radius", "colour"]
    assert unknown_fields(plan, plan.model_dump(mode="json")) == []


def test_alarm_channels_are_known_by_the_topic_alone() -> None:
    from contracts.topics import ALARM_CHANNELS, is_alarm_channel, uplink_subtree

    alarms = {ch for ch in UplinkChannel if is_alarm_channel(c.uplink_topic("card-0001", ch))}
    assert alarms == set(ALARM_CHANNELS) == {UplinkChannel.SOS, UplinkChannel.FALL}
    assert not is_alarm_channel("anxin/v1/up/card-0001/sos_extra")
    assert uplink_subtree() == "anxin/v1/up/#"
