"""The guardian ladder's voice rung over Twilio: the real cloud under uvicorn, the ``twilio`` SDK talking
real HTTP to a local server that speaks Twilio's REST API, and Twilio's webhooks posted signed, as Twilio
posts them. A keypad ``1`` stops every pending step; ``2`` and an unanswered call move the ladder."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cloud_harness import (
    EDGE_TOKEN,
    LADDER_AT_ONCE,
    NO_KEEPALIVE,
    WAIT_S,
    RunningCloud,
    StartCloud,
    edge_event,
)
from fake_providers import (
    PUBLIC_URL,
    SID,
    TOKEN,
    FakeTwilio,
    TwilioCaller,
    TwilioRequest,
    served,
    timeline,
    twilio_cloud,
    until_recorded,
)

from cloud.notify.callbacks import SMS_STATUS, VOICE, VOICE_GATHER, VOICE_STATUS

EDGE_AUTH = {"Authorization": f"Bearer {EDGE_TOKEN}"}
CENTER = "+15005550006"
INTAKE = "/api/v1/intake/events"


@dataclass
class VoiceWorld:
    cloud: RunningCloud
    operator: httpx.AsyncClient
    edge: httpx.AsyncClient
    twilio: TwilioCaller
    fake: FakeTwilio
    subject: dict[str, Any]
    guardians: list[dict[str, Any]]

    async def sos(self) -> int:
        response = await self.edge.post(INTAKE, json=edge_event(self.subject["device_ids"][0], 1))
        assert response.status_code == 201, response.text
        return int(response.json()["incident_id"])

    async def first_call(self) -> TwilioRequest:
        """Every SMS rung reported undelivered, until the ladder places its first voice call."""
        while True:
            request = await asyncio.wait_for(self.fake.requests.get(), WAIT_S)
            await until_recorded(self.cloud, request.sid)
            if request.kind == "call":
                return request
            form = {"MessageSid": request.sid, "AccountSid": SID, "MessageStatus": "undelivered"}
            assert (await self.twilio.post(SMS_STATUS, form)).status_code == 204

    async def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        return await timeline(self.operator, incident_id)


def call_form(call: TwilioRequest, **extra: str) -> dict[str, str]:
    return {"CallSid": call.sid, "AccountSid": SID, "From": CENTER, "To": call.form["To"], **extra}


@pytest.fixture
async def world(start_cloud: StartCloud) -> AsyncIterator[VoiceWorld]:
    fake = FakeTwilio(SID, TOKEN)
    async with (
        served(fake.app()) as twilio_url,
        start_cloud(
            **twilio_cloud(twilio_url, twilio_from=CENTER, escalation_policies=LADDER_AT_ONCE)
        ) as cloud,
        cloud.operator_client(limits=NO_KEEPALIVE) as operator,
        cloud.client(limits=NO_KEEPALIVE, headers=EDGE_AUTH) as edge,
        cloud.client(limits=NO_KEEPALIVE) as webhook_client,
    ):
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
        assert len(guardians) >= 2, "the first demo person has two guardians"
        yield VoiceWorld(
            cloud, operator, edge, TwilioCaller(webhook_client, PUBLIC_URL, TOKEN), fake, subject, guardians
        )


async def test_the_voice_rung_calls_with_a_keypad_prompt_and_1_stops_everything(world: VoiceWorld) -> None:
    incident_id = await world.sos()
    call = await world.first_call()
    first = world.guardians[0]
    assert call.form["To"] == first["phone"]
    assert call.form["From"] == CENTER
    assert call.form["Url"] == PUBLIC_URL + VOICE
    assert call.form["StatusCallback"] == PUBLIC_URL + VOICE_STATUS

    script = await world.twilio.post(VOICE, call_form(call, CallStatus="in-progress"))
    assert script.status_code == 200, script.text
    assert script.headers["content-type"].startswith("application/xml")
    xml = script.text
    assert re.search(r'<Gather[^>]*numDigits="1"', xml), xml
    assert f'action="{PUBLIC_URL}{VOICE_GATHER}"' in xml
    lang = "en-US" if first["language"].startswith("en") else "zh-CN"
    assert f'<Say language="{lang}">' in xml
    assert "**" in xml, "the call says the masked name"
    assert first["phone"] not in xml

    pressed = await world.twilio.post(VOICE_GATHER, call_form(call, Digits="1"))
    assert pressed.status_code == 200
    assert "<Hangup" in pressed.text
    ended = await world.twilio.post(VOICE_STATUS, call_form(call, CallStatus="completed", CallDuration="21"))
    assert ended.status_code == 204

    timeline = await world.timeline(incident_id)
    going = [e for e in timeline if e["type"] == "guardian_acknowledged"]
    assert len(going) == 1 and going[0]["data"]["channel"] == "voice"
    assert "escalation_stopped" in [e["type"] for e in timeline]
    assert not [e for e in timeline if e["type"] == "ladder_next" and e["data"]["channel"] == "voice"]
    pending = await world.cloud.rows(
        "SELECT count(*) FROM escalation_timers WHERE incident_id = :id AND state = 'pending'", id=incident_id
    )
    assert pending == [(0,)]
    assert [r.kind for r in world.fake.seen].count("call") == 1, "nobody else is called"


async def test_a_2_on_the_keypad_moves_the_ladder_to_the_next_contact(world: VoiceWorld) -> None:
    incident_id = await world.sos()
    call = await world.first_call()
    pressed = await world.twilio.post(VOICE_GATHER, call_form(call, Digits="2"))
    assert pressed.status_code == 200
    following = await world.fake.next("call")
    assert following.form["To"] == world.guardians[1]["phone"]
    timeline = await world.timeline(incident_id)
    declined = [e for e in timeline if e["type"] == "guardian_declined"]
    assert len(declined) == 1 and declined[0]["data"]["channel"] == "voice"
    moved = [e for e in timeline if e["type"] == "ladder_next" and e["data"]["channel"] == "voice"]
    assert [e["data"]["reason"] for e in moved] == ["declined"]
    # the first call ends after the key: that must not move the ladder a second time
    assert (await world.twilio.post(VOICE_STATUS, call_form(call, CallStatus="completed"))).status_code == 204
    timeline = await world.timeline(incident_id)
    assert len([e for e in timeline if e["type"] == "ladder_next" and e["data"]["channel"] == "voice"]) == 1


@pytest.mark.parametrize("ending", ["no-answer", "busy", "failed", "completed"])
async def test_a_call_that_ends_without_a_key_moves_the_ladder(world: VoiceWorld, ending: str) -> None:
    incident_id = await world.sos()
    call = await world.first_call()
    assert (await world.twilio.post(VOICE_STATUS, call_form(call, CallStatus=ending))).status_code == 204
    following = await world.fake.next("call")
    assert following.form["To"] == world.guardians[1]["phone"]
    timeline = await world.timeline(incident_id)
    statuses = [e for e in timeline if e["type"] == "call_status"]
    assert statuses and ending in statuses[-1]["text"]
    assert world.guardians[0]["phone"] not in str(timeline)


async def test_forged_voice_callbacks_are_refused(world: VoiceWorld) -> None:
    incident_id = await world.sos()
    call = await world.first_call()
    forged = await world.twilio.post(VOICE_GATHER, call_form(call, Digits="1"), token="not-the-auth-token")
    assert forged.status_code == 403
    unsigned = await world.twilio.client.post(VOICE_STATUS, data=call_form(call, CallStatus="busy"))
    assert unsigned.status_code == 403
    script = await world.twilio.post(VOICE, call_form(call), token="wrong-token-0000")
    assert script.status_code == 403
    timeline = await world.timeline(incident_id)
    assert not [e for e in timeline if e["type"] in ("guardian_acknowledged", "call_status")]
