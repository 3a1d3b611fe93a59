"""Privacy: no full guardian number ever reaches a browser, and no name, number or address is logged."""

from __future__ import annotations

import logging
import re

import httpx
import orjson
import pytest
from cloud_harness import SseReader, StartCloud, edge_event

from cloud.phones import display_phone

INTAKE = "/api/v1/intake/events"


def test_display_phone_keeps_country_code_first_three_and_last_four() -> None:
    assert display_phone("+8613612347230") == "+86 136****7230"
    assert display_phone("+14155550123") == "+1 ****0123"  # 10 national digits: 4 must stay hidden
    assert display_phone("+85291234567") == "+852 ****4567"
    assert display_phone("13612347230") == "****7230"
    assert display_phone("+123") == "****"


def _forms_of(phone: str) -> list[str]:
    """A number as it could leak: E.164, without '+', national part."""
    return [phone, phone.lstrip("+"), phone[3:]]


async def test_stream_dev_api_and_incident_never_carry_a_full_number(
    start_cloud: StartCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything at INFO, our own code at DEBUG. (aiosqlite's DEBUG lines carry SQL parameters: the
    # CLI must keep that logger at INFO or above.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="cloud")
    in_turn = {"P1": {"steps": [{"action": "start_ladder", "after_s": 0.01}], "ladder_wait_s": 0.05}}
    async with (
        start_cloud(escalation_policies=in_turn) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
    ):
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
        assert guardians
        raw: list[str] = []
        async with operator.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            await reader.comment()
            response = await edge.post(INTAKE, json=edge_event(subject["device_ids"][0], 1))
            assert response.status_code == 201
            incident_id = response.json()["incident_id"]
            for _ in guardians:
                event = await reader.until("sms.sent")
                raw.append(orjson.dumps(event.data).decode())
        raw.append((await operator.get("/api/v1/dev/sms")).text)
        raw.append((await operator.get(f"/api/v1/incidents/{incident_id}")).text)
        raw.append((await operator.get("/api/v1/incidents")).text)
        browser_text = "\n".join(raw)
        for guardian in guardians:
            for form in _forms_of(guardian["phone"]):
                assert form not in browser_text, "a full guardian number went to the browser"
            assert display_phone(guardian["phone"]) in browser_text
            assert guardian["name"] not in browser_text
        assert not re.search(r"\+?86\s?1\d{10}", browser_text)

        logged = caplog.text
        assert "sms.sent" in logged  # the flow did log; it just must not log people
        for guardian in guardians:
            for form in _forms_of(guardian["phone"]):
                assert form not in logged
            assert guardian["name"] not in logged
        assert subject["display_name"] not in logged
        assert subject["address"] not in logged
