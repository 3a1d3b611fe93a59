from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.registry.demo import DEMO_EDGE_ID, demo_devices, demo_people
from cloud.settings import CloudSettings
from contracts.ids import DeviceKind, validate_device_id


@pytest.mark.parametrize("token", ["changeme", "CHANGEME", "secret", "short"])
def test_placeholder_edge_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError) as info:
        CloudSettings(edge_tokens={"edge-1": token})
    assert info.value.errors()[0]["loc"] == ("edge_tokens",)


def test_placeholder_password_and_secret_are_refused() -> None:
    with pytest.raises(ValidationError):
        CloudSettings(operator_password="changeme")
    with pytest.raises(ValidationError):
        CloudSettings(session_secret="password")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANXIN_CLOUD_EDGE_TOKENS", '{"edge-9": "a-long-enough-token-123"}')
    monkeypatch.setenv("ANXIN_CLOUD_DEMO_DATA", "true")
    monkeypatch.setenv("ANXIN_CLOUD_NOTIFIER", "twilio")
    settings = CloudSettings()
    assert settings.edge_tokens["edge-9"].get_secret_value() == "a-long-enough-token-123"
    assert settings.demo_data is True
    assert settings.notifier == "twilio"


def test_demo_population_is_deterministic_and_uses_test_numbers() -> None:
    first, second = demo_people(27), demo_people(27)
    assert first == second
    assert sum(p.kind == "elder" for p in first) == 40
    assert sum(p.kind == "child" for p in first) == 3
    for person in first:
        for _, phone, _, _ in person.guardians:
            assert phone.startswith("+861") and phone[6:10] == "0000", phone
    ids = [d for p in first for d, _ in p.devices]
    assert sorted(ids) == sorted(d for d, _ in demo_devices())
    assert ("card-0001", DeviceKind.SOS_CARD) in demo_devices()
    assert ("kid-0003", DeviceKind.CHILD_MONITOR) in demo_devices()
    for device_id, _ in demo_devices():
        validate_device_id(device_id)
    assert DEMO_EDGE_ID


def test_the_demo_has_elders_living_alone_with_no_family_to_call() -> None:
    """Their ladder goes to the community's grid worker; everyone else keeps at least one guardian."""
    people = demo_people(11)
    alone = [p for p in people if not p.guardians]
    assert len(alone) == 2 and all(p.kind == "elder" for p in alone)
    assert {d for p in alone for d, _ in p.devices} >= {"card-0038", "card-0039"}
    assert len(people[0].guardians) >= 2  # card-0001: the tests' person with two guardians
