"""Device models follow the contract: every message decodes, seq is monotonic, SOS/cancel/downlink flow."""

from __future__ import annotations

import itertools

import pytest

from contracts import (
    AlarmClosed,
    AlarmReceived,
    DeviceConfig,
    DeviceKind,
    FallSuspected,
    OperatorAcknowledged,
    SosCancel,
    SosPress,
    Status,
    Vitals,
    WearState,
    decode_uplink,
    uplink_topic,
)
from firmware_sim.models import DisplayState, Injection, build_device
from firmware_sim.models.base import DeviceModel, Outgoing, UnsupportedInjection
from firmware_sim.models.wearable import AccelMode, Wearable

START_MS = 1_772_416_800_000  # 2026-03-02 10:00 CST


def shown(device: DeviceModel) -> DisplayState:
    return device.display  # read through a call so mypy does not keep the narrowed state


def decoded(device: DeviceModel, outs: list[Outgoing]) -> list[object]:
    return [decode_uplink(uplink_topic(device.device_id, o.channel), o.encode()) for o in outs]


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_every_message_of_a_day_decodes_and_seq_is_monotonic(kind: DeviceKind) -> None:
    device = build_device(
        "dev-1", kind, subject_id="S1", seed=3, start_ms=START_MS, accel_mode=AccelMode.EVENTS
    )
    outs = device.step(START_MS + 24 * 3_600_000)
    outs += device.inject(Injection("sos"), START_MS + 24 * 3_600_000)
    messages = decoded(device, outs)
    seqs = [m.seq for m in messages]  # type: ignore[attr-defined]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({type(m) for m in messages}) >= 3
    assert any(isinstance(m, Status) for m in messages)


def test_full_accel_batches_are_valid_contract_messages() -> None:
    device = build_device("wear-0001", DeviceKind.WEARABLE, subject_id="E001", seed=1, start_ms=START_MS)
    outs = [o for o in device.step(START_MS + 10_000) if o.channel == "accel"]
    assert 9 <= len(outs) <= 11
    for message in decoded(device, outs):
        assert len(message.samples) == 50  # type: ignore[attr-defined]


def test_card_sos_with_fix_then_cancel_within_window() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    card.step(START_MS)
    press = decoded(card, card.inject(Injection("sos", {"cancel_after_s": 3.0}), START_MS))
    assert isinstance(press[0], SosPress) and press[0].fix is not None
    assert shown(card) is DisplayState.ALARM_SENT
    later = decoded(card, card.step(START_MS + 3_000))
    cancels = [m for m in later if isinstance(m, SosCancel)]
    assert len(cancels) == 1 and cancels[0].ref_seq == press[0].seq
    assert shown(card) is DisplayState.IDLE


def test_cancel_after_the_window_is_not_sent() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    card.inject(Injection("sos", {"cancel_after_s": 30.0}), START_MS)
    assert not [o for o in card.step(START_MS + 60_000) if isinstance(o.message, SosCancel)]


def test_downlinks_drive_the_card_display() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    seq = card.inject(Injection("sos"), START_MS)[0].message.seq  # type: ignore[union-attr]
    common = {"device_id": "card-0001", "ts": START_MS, "ref_seq": seq, "incident_key": f"card-0001:{seq}"}
    card.on_downlink(AlarmReceived(**common), START_MS + 1)
    assert shown(card) is DisplayState.ALARM_RECEIVED
    card.on_downlink(OperatorAcknowledged(**common, operator="op-07"), START_MS + 2)
    assert shown(card) is DisplayState.HELP_COMING
    assert card.display_text_zh == "已收到求助，救助人员正在赶来"
    card.on_downlink(AlarmReceived(**common), START_MS + 3)  # a late repeat must not go back
    assert shown(card) is DisplayState.HELP_COMING
    card.on_downlink(AlarmClosed(**common, outcome="resolved"), START_MS + 4)
    assert shown(card) is DisplayState.IDLE


def test_downlink_for_an_unknown_alarm_is_ignored() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    card.on_downlink(
        AlarmReceived(device_id="card-0001", ts=START_MS, ref_seq=999, incident_key="card-0001:999"), START_MS
    )
    assert shown(card) is DisplayState.IDLE and card.ignored_downlinks == 1


def test_config_downlink_changes_the_heartbeat() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    card.step(START_MS + 3_600_000)
    card.on_downlink(DeviceConfig(device_id="card-0001", ts=START_MS, heartbeat_s=60), START_MS)
    outs = card.step(START_MS + 2 * 3_600_000)
    assert sum(isinstance(o.message, Status) for o in outs) >= 55


def test_low_battery_is_reported_at_once() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    outs = card.inject(Injection("low_battery"), START_MS)
    assert len(outs) == 1 and isinstance(outs[0].message, Status)
    assert outs[0].message.low_battery and outs[0].message.battery_pct < 20


def test_silent_device_sends_nothing_more() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    card.inject(Injection("device_silent"), START_MS)
    assert card.step(START_MS + 3_600_000) == [] and card.next_due_ms is None


def test_wearable_removed_reports_wear_state_and_no_vitals() -> None:
    wear = build_device(
        "wear-0001",
        DeviceKind.WEARABLE,
        subject_id="E001",
        seed=1,
        start_ms=START_MS,
        accel_mode=AccelMode.OFF,
    )
    outs = wear.inject(Injection("strap_removed", {"duration_s": 600}), START_MS)
    assert isinstance(outs[0].message, WearState) and outs[0].message.state == "removed"
    vitals = [o.message for o in wear.step(START_MS + 300_000) if isinstance(o.message, Vitals)]
    assert vitals and all(v.hr_bpm is None for v in vitals)
    back = [o.message for o in wear.step(START_MS + 700_000) if isinstance(o.message, WearState)]
    assert [w.state for w in back] == ["worn"]


def test_a_card_cannot_fall() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    with pytest.raises(UnsupportedInjection):
        card.inject(Injection("fall"), START_MS)


def test_clock_skew_moves_the_device_clock() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    card.inject(Injection("clock_skew", {"skew_s": -120}), START_MS)
    out = card.inject(Injection("sos"), START_MS + 1_000)
    assert out[0].message.ts == START_MS + 1_000 - 120_000  # type: ignore[union-attr]


def test_factory_reset_restarts_seq_under_the_next_boot() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    before = card.inject(Injection("sos"), START_MS)[0].message
    assert isinstance(before, SosPress) and before.boot == 0
    card.inject(Injection("factory_reset"), START_MS + 1_000)
    after = card.inject(Injection("sos"), START_MS + 2_000)[0].message
    assert isinstance(after, SosPress) and (after.boot, after.seq) == (1, 1)
    assert after.key != before.key and after.key == "card-0001:b1.1"
    stale = {"device_id": "card-0001", "ts": START_MS, "ref_seq": 1, "incident_key": before.key}
    card.on_downlink(AlarmReceived(**stale), START_MS + 3_000)  # boot 0's ack: not this alarm
    assert shown(card) is DisplayState.ALARM_SENT and card.ignored_downlinks == 1
    card.on_downlink(AlarmReceived(**stale, ref_boot=1), START_MS + 3_000)
    assert shown(card) is DisplayState.ALARM_RECEIVED


def test_fall_alarm_then_help_gets_the_person_up() -> None:
    wear = build_device(
        "wear-0001",
        DeviceKind.WEARABLE,
        subject_id="E001",
        seed=1,
        start_ms=START_MS,
        accel_mode=AccelMode.EVENTS,
    )
    assert isinstance(wear, Wearable)
    wear.step(START_MS)
    wear.inject(Injection("fall"), START_MS)
    assert wear.injection_detail["lying"] is True and 3.0 <= wear.injection_detail["peak_g"] <= 8.0
    alarm = next(o.message for o in wear.step(START_MS + 5_000) if isinstance(o.message, FallSuspected))
    assert shown(wear) is DisplayState.ALARM_SENT and wear.activity == "lying"
    wear.inject(Injection("fall"), START_MS + 6_000)
    assert wear.injection_detail == {"already_down": True}  # someone on the floor cannot fall again
    ref = {"device_id": "wear-0001", "ts": START_MS, "ref_seq": alarm.seq, "incident_key": alarm.key}
    wear.on_downlink(AlarmClosed(**ref, outcome="resolved"), START_MS + 600_000)
    assert shown(wear) is DisplayState.IDLE and wear.activity == "sit"


def _repeats(device: DeviceModel, until_ms: int, step_ms: int = 1_000) -> list[tuple[int, Outgoing]]:
    out: list[tuple[int, Outgoing]] = []
    for now in range(START_MS + step_ms, until_ms + 1, step_ms):
        out += [(now, o) for o in device.step(now) if o.channel in ("sos", "fall")]
    return out


def test_sos_is_repeated_byte_for_byte_with_capped_backoff_until_alarm_received() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    [press] = card.inject(Injection("sos"), START_MS)
    sent = _repeats(card, START_MS + 200_000)
    times = [START_MS] + [t for t, _ in sent]
    gaps_s = [(b - a) // 1000 for a, b in itertools.pairwise(times)]
    assert gaps_s == [5, 10, 20, 40, 60, 60]  # doubling, capped at 60 s
    assert {o.encode() for _, o in sent} == {press.encode()}  # the same identity and bytes each time
    seq = press.message.seq  # type: ignore[union-attr]
    card.on_downlink(
        AlarmReceived(device_id="card-0001", ts=START_MS, ref_seq=seq, incident_key=f"card-0001:{seq}"),
        START_MS + 200_500,
    )
    assert not [o for o in card.step(START_MS + 3_600_000) if o.channel == "sos"]
    assert len(card.unconfirmed) == 0 and card.unconfirmed.repeats == 6


def test_a_confirmed_sos_is_not_repeated_and_a_cancelled_one_stops() -> None:
    card = build_device("card-0001", DeviceKind.SOS_CARD, subject_id="D001", seed=1, start_ms=START_MS)
    [press] = card.inject(Injection("sos"), START_MS)
    seq = press.message.seq  # type: ignore[union-attr]
    card.on_downlink(
        AlarmReceived(device_id="card-0001", ts=START_MS, ref_seq=seq, incident_key=f"card-0001:{seq}"),
        START_MS + 100,
    )
    assert _repeats(card, START_MS + 120_000) == []
    card.inject(Injection("sos", {"cancel_after_s": 8.0}), START_MS + 120_000)
    later = [o.message for _, o in _repeats(card, START_MS + 400_000)]
    assert [type(m) for m in later] == [SosPress, SosCancel]  # one repeat at +5 s, then the cancel


def test_a_device_fall_alarm_is_repeated_until_confirmed() -> None:
    wear = build_device(
        "wear-0001",
        DeviceKind.WEARABLE,
        subject_id="E001",
        seed=1,
        start_ms=START_MS,
        accel_mode=AccelMode.OFF,
    )
    wear.step(START_MS)
    wear.inject(Injection("fall"), START_MS)
    falls = [o for _, o in _repeats(wear, START_MS + 20_000) if o.channel == "fall"]
    assert len(falls) == 3 and len({o.encode() for o in falls}) == 1  # raised at +2 s, again at +7, +17
    alarm = falls[0].message
    assert isinstance(alarm, FallSuspected)
    ref = {"device_id": "wear-0001", "ts": START_MS, "ref_seq": alarm.seq, "incident_key": alarm.key}
    wear.on_downlink(AlarmReceived(**ref), START_MS + 20_500)
    assert [o for _, o in _repeats(wear, START_MS + 300_000) if o.channel == "fall"] == []
