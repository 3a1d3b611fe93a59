"""The NOTIFY payload between center workers (pure): packing, the size limit, references, gaps."""

from __future__ import annotations

import pytest

from cloud.live.hub import OPERATORS, LiveEvent, edge_channel
from cloud.live.notify_payload import PAYLOAD_LIMIT, PayloadError, decode_pack, encode_packs


def _incident(incident_id: int, note: str = "") -> LiveEvent:
    return LiveEvent(name="incident.updated", data={"id": incident_id, "street_id": 3, "note": note})


def test_events_are_packed_in_order_under_the_limit_and_read_back() -> None:
    events = [(OPERATORS, _incident(i, "x" * 300)) for i in range(60)]
    events.append((edge_channel("edge-1"), LiveEvent(name="commands", data={})))
    payloads, lost = encode_packs("w1", events)
    assert lost == 0 and len(payloads) > 1
    assert all(len(p.encode()) < PAYLOAD_LIMIT for p in payloads)
    read = [relayed for p in payloads for relayed in decode_pack(p).events]
    assert [(r.channel, r.event) for r in read] == events
    assert {decode_pack(p).worker for p in payloads} == {"w1"}


def test_an_incident_event_too_large_to_send_goes_as_a_reference() -> None:
    big = _incident(42, "名" * 4000)  # 12,000 bytes in UTF-8
    [payload], lost = encode_packs("w1", [(OPERATORS, big)])
    assert lost == 0 and len(payload.encode()) < 200
    [relayed] = decode_pack(payload).events
    assert relayed.incident_id == 42 and relayed.event.name == "incident.updated" and relayed.event.data == {}


def test_another_event_too_large_is_lost_and_the_pack_says_gap() -> None:
    huge = LiveEvent(name="sms.sent", data={"body": "x" * 9000})
    small = LiveEvent(name="incident.realert", data={"id": 1})
    payloads, lost = encode_packs("w1", [(OPERATORS, huge), (OPERATORS, small)])
    assert lost == 1
    [pack] = [decode_pack(p) for p in payloads]
    assert pack.gap and [r.event for r in pack.events] == [small]
    [alone], _ = encode_packs("w1", [], gap=True)  # a gap with nothing else to say still goes out
    assert decode_pack(alone).gap and decode_pack(alone).events == []
    assert encode_packs("w1", []) == ([], 0)


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", '{"v": 2, "w": "a", "e": []}', '{"v": 1, "w": "a"}', '{"v": 1, "w": "a", "e": [1]}'],
)
def test_payloads_of_others_are_refused(payload: str) -> None:
    with pytest.raises(PayloadError):
        decode_pack(payload)
