"""The district center's side of the smart service pack: kinds, first steps, SMS texts, registration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.incidents.lifecycle import FIRST_STEPS, IncidentKind, incident_kind_of, should_notify_guardians
from cloud.notify.templates import alert_text
from cloud.registry.schemas import DeviceIn
from contracts.intake import DEFAULT_SEVERITY, EventKind, Severity

AT = 1_772_856_600_000  # 2026-03-07 12:10 CST


def test_home_event_kinds_map_to_incidents_with_their_priority() -> None:
    expected = {
        EventKind.SMOKE: (IncidentKind.SMOKE, Severity.P1),
        EventKind.GAS: (IncidentKind.GAS, Severity.P1),
        EventKind.WATER_LEAK: (IncidentKind.WATER_LEAK, Severity.P2),
        EventKind.PULL_CORD: (IncidentKind.SOS, Severity.P1),  # joins the person's open SOS
        EventKind.NIGHT_WANDERING: (IncidentKind.WANDERING, Severity.P2),
        EventKind.DOOR_OPEN_NIGHT: (IncidentKind.DOOR, Severity.P3),
        EventKind.SENSOR_FAULT: (IncidentKind.DEVICE, Severity.P3),
    }
    for kind, (incident, severity) in expected.items():
        assert (incident_kind_of(kind), DEFAULT_SEVERITY[kind]) == (incident, severity)
    assert should_notify_guardians(Severity.P1) and not should_notify_guardians(Severity.P3)
    assert FIRST_STEPS[IncidentKind.SMOKE][0] == "call_119"
    assert FIRST_STEPS[IncidentKind.GAS][0] == "call_gas_company"
    assert all("call_key_holder" in steps for steps in FIRST_STEPS.values())


def test_the_guardian_sms_says_what_the_home_reported_masked_in_both_languages() -> None:
    zh = alert_text(
        language="zh",
        masked_name="王**",
        device_kind="home_hub",
        incident_kind="smoke",
        at_ms=AT,
        room="kitchen",
    )
    assert (
        zh == "【安心】您的家人王**的智慧助老服务包于12:10检测到烟雾报警（厨房），"
        "已发出警报。回复1表示您正前往，回复2表示无法前往。"
    )
    en = alert_text(
        language="en",
        masked_name="Chen**",
        device_kind="home_hub",
        incident_kind="gas",
        at_ms=AT,
        room="kitchen",
    )
    assert "home safety sensors of your family member Chen** reported a gas alarm (kitchen) at 12:10" in en
    plain = alert_text(
        language="zh", masked_name="王**", device_kind="home_hub", incident_kind="wandering", at_ms=AT
    )
    assert "夜间出门未归" in plain and "（" not in plain.split("，")[0]


def test_a_sensor_is_registered_with_its_hub_and_only_a_sensor_has_one() -> None:
    sensor = DeviceIn(
        device_id="hub-0009-smoke",
        kind="smoke_detector",
        subject_id=1,
        edge_id="e",
        hub_id="hub-0009",
        room="kitchen",
    )
    assert sensor.room is not None and sensor.room.value == "kitchen"
    with pytest.raises(ValidationError, match="hub_id"):
        DeviceIn(device_id="hub-0009-gas", kind="gas_detector", subject_id=1, edge_id="e")
    with pytest.raises(ValidationError, match="hub_id"):
        DeviceIn(device_id="card-0099", kind="sos_card", subject_id=1, edge_id="e", hub_id="hub-0009")
    with pytest.raises(ValidationError):
        DeviceIn(
            device_id="hub-0009-pir",
            kind="motion_sensor",
            subject_id=1,
            edge_id="e",
            hub_id="hub-0009",
            room="attic",
        )
