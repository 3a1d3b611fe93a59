"""Click-to-call: the operator's phone rings first (through the ``twilio`` SDK, real HTTP to a local fake
Twilio), then our signed bridge webhook dials the target with the center's caller id; the outcome lands
on the incident's timeline. The browser never receives the full number through this path."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cloud_harness import EDGE_TOKEN, NO_KEEPALIVE, RunningCloud, StartCloud, edge_event
from fake_providers import PUBLIC_URL, SID, TOKEN, FakeTwilio, TwilioCaller, served, timeline, twilio_cloud

from cloud.notify.callbacks import BRIDGE, BRIDGE_DIALED, BRIDGE_STATUS

EDGE_AUTH = {"Authorization": f"Bearer {EDGE_TOKEN}"}
CENTER = "+862227001234"  # the center's number: every call shows it
CENTER_LINE = "+8613900000000"  # the operator room's phone
OP_ALL_PHONE = "+8613900000001"  # op-all's own phone
HOME = "+862223456789"
DEVICE_SIM = "+8613822220001"
INTAKE = "/api/v1/intake/events"
OWN_STREET_DEVICE = "card-0001"  # 西营门: op-two's street
OTHER_STREET_DEVICE = "card-0006"  # 赤龙南: not op-two's


@dataclass
class World:
    cloud: RunningCloud
    twilio: TwilioCaller
    fake: FakeTwilio

    async def timeline(self, client: httpx.AsyncClient, incident_id: int) -> list[dict[str, Any]]:
        return await timeline(client, incident_id)


@pytest.fixture
async def world(start_cloud: StartCloud) -> AsyncIterator[World]:
    fake = FakeTwilio(SID, TOKEN)
    async with (
        served(fake.app()) as twilio_url,
        start_cloud(
            **twilio_cloud(
                twilio_url,
                twilio_from="MG0123456789abcdef0123456789abcdef",
                twilio_caller_id=CENTER,
                center_line=CENTER_LINE,
                staff_phones={"op-all": OP_ALL_PHONE},
            )
        ) as cloud,
        cloud.client(limits=NO_KEEPALIVE) as webhook_client,
    ):
        yield World(cloud, TwilioCaller(webhook_client, PUBLIC_URL, TOKEN), fake)


async def test_one_click_rings_the_operator_then_the_guardian_and_the_outcome_lands_on_the_timeline(
    world: World,
) -> None:
    async with (
        world.cloud.client(limits=NO_KEEPALIVE, headers=EDGE_AUTH) as edge,
        world.cloud.operator_client(limits=NO_KEEPALIVE) as admin,
        world.cloud.staff_client("op-all", limits=NO_KEEPALIVE) as op_all,
    ):
        incident_id = int(
            (await edge.post(INTAKE, json=edge_event(OWN_STREET_DEVICE, 1))).json()["incident_id"]
        )
        record = (await op_all.get(f"/api/v1/incidents/{incident_id}/record")).json()
        guardian = record["guardians"][0]
        subject_id = record["subject_id"]
        full = next(
            g["phone"]
            for g in (await admin.get(f"/api/v1/subjects/{subject_id}/guardians")).json()
            if g["id"] == guardian["id"]
        )

        placed = await op_all.post(
            f"/api/v1/incidents/{incident_id}/calls", json={"target": guardian["reveal_field"]}
        )
        assert placed.status_code == 202, placed.text
        assert placed.json()["to_masked"] == guardian["phone_masked"]
        assert full not in placed.text

        ring = await world.fake.next("call")
        assert ring.form["To"] == OP_ALL_PHONE and ring.form["From"] == CENTER
        url = urlsplit(ring.form["Url"])
        assert PUBLIC_URL + url.path == PUBLIC_URL + BRIDGE
        assert parse_qs(url.query) == {
            "incident": [str(incident_id)],
            "target": [guardian["reveal_field"]],
            "by": ["op-all"],
        }
        assert ring.form["StatusCallback"].startswith(PUBLIC_URL + BRIDGE_STATUS + "?")

        # the operator answered: Twilio fetches the TwiML that dials the guardian
        leg = {"CallSid": ring.sid, "AccountSid": SID, "From": CENTER, "To": OP_ALL_PHONE}
        script = await world.twilio.post(ring.form["Url"], {**leg, "CallStatus": "in-progress"})
        assert script.status_code == 200, script.text
        assert re.search(rf'<Dial[^>]*callerId="{re.escape(CENTER)}"', script.text), script.text
        assert f"<Number>{full}</Number>" in script.text
        action = re.search(r'action="([^"]+)"', script.text)
        assert action is not None and action.group(1).startswith(PUBLIC_URL + BRIDGE_DIALED + "?")
        action_url = action.group(1).replace("&amp;", "&")

        # a forged outcome (wrong key) and a tampered query (other incident, same signature) are refused
        dialed = {
            **leg,
            "DialCallSid": "CA" + "f" * 32,
            "DialCallStatus": "completed",
            "DialCallDuration": "42",
        }
        assert (await world.twilio.post(action_url, dialed, token="not-the-auth-token")).status_code == 403
        good = await world.twilio.post(action_url, dialed)
        assert good.status_code == 200 and "<Hangup" in good.text
        again = await world.twilio.post(action_url, dialed)  # Twilio retries a callback it thinks failed
        assert again.status_code == 200
        tampered_url = action_url.replace(f"incident={incident_id}", f"incident={incident_id + 1}")
        signature = good.request.headers["X-Twilio-Signature"]
        tampered = await world.twilio.client.post(
            tampered_url.removeprefix(PUBLIC_URL), data=dialed, headers={"X-Twilio-Signature": signature}
        )
        assert tampered.status_code == 403

        timeline = await world.timeline(op_all, incident_id)
        bridged = [e for e in timeline if e["type"] == "call_bridged"]
        assert len(bridged) == 1 and bridged[0]["actor"] == "op-all"
        outcome = [e for e in timeline if e["type"] == "call_outcome"]
        assert len(outcome) == 1
        data = outcome[0]["data"]
        assert (data["result"], data["duration_s"], data["leg"], data["by"]) == (
            "answered",
            42,
            "target",
            "op-all",
        )
        assert full not in str(timeline), "the number stays masked on the timeline"
        audits = (await admin.get("/api/v1/audit/reveals")).json()
        assert not [a for a in audits if a.get("incident_id") == incident_id], "a call is not a reveal"


async def test_home_and_device_phones_and_an_operator_who_does_not_answer(world: World) -> None:
    async with (
        world.cloud.client(limits=NO_KEEPALIVE, headers=EDGE_AUTH) as edge,
        world.cloud.operator_client(limits=NO_KEEPALIVE) as admin,
        world.cloud.staff_client("op-two", limits=NO_KEEPALIVE) as op_two,
    ):
        incident_id = int(
            (await edge.post(INTAKE, json=edge_event(OWN_STREET_DEVICE, 1))).json()["incident_id"]
        )
        subject_id = (await admin.get(f"/api/v1/incidents/{incident_id}")).json()["subject"]["id"]
        plan = {"home_phone": HOME, "device_phones": {OWN_STREET_DEVICE: DEVICE_SIM}}
        assert (await admin.put(f"/api/v1/subjects/{subject_id}/response-plan", json=plan)).status_code == 200
        record = (await op_two.get(f"/api/v1/incidents/{incident_id}/record")).json()
        assert [(c["field"], c["kind"]) for c in record["call_targets"]] == [
            ("phone:home", "home"),
            ("phone:device", "device"),
        ]
        assert HOME not in str(record) and DEVICE_SIM not in str(record)

        placed = await op_two.post(f"/api/v1/incidents/{incident_id}/calls", json={"target": "phone:device"})
        assert placed.status_code == 202, placed.text
        ring = await world.fake.next("call")
        assert ring.form["To"] == CENTER_LINE, "op-two has no phone of their own: the center's line rings"
        script = await world.twilio.post(ring.form["Url"], {"CallSid": ring.sid, "CallStatus": "in-progress"})
        assert f"<Number>{DEVICE_SIM}</Number>" in script.text

        await op_two.post(f"/api/v1/incidents/{incident_id}/calls", json={"target": "phone:home"})
        ring = await world.fake.next("call")
        missed = await world.twilio.post(
            ring.form["StatusCallback"], {"CallSid": ring.sid, "CallStatus": "no-answer"}
        )
        assert missed.status_code == 204
        timeline = await world.timeline(op_two, incident_id)
        outcome = [e for e in timeline if e["type"] == "call_outcome"]
        assert [(e["data"]["leg"], e["data"]["result"], e["data"]["field"]) for e in outcome] == [
            ("operator", "no-answer", "phone:home")
        ]

        assert (
            await op_two.post(f"/api/v1/incidents/{incident_id}/calls", json={"target": "address"})
        ).status_code == 422
        assert (
            await op_two.post(f"/api/v1/incidents/{incident_id}/calls", json={"target": "phone:nobody"})
        ).status_code == 422
        other = int((await edge.post(INTAKE, json=edge_event(OTHER_STREET_DEVICE, 1))).json()["incident_id"])
        response = await op_two.post(f"/api/v1/incidents/{other}/calls", json={"target": "phone:home"})
        assert response.status_code == 404, "another street's incident does not exist for op-two"
        assert len(world.fake.seen) == 2


async def test_click_to_call_with_the_console_notifier_records_the_call(start_cloud: StartCloud) -> None:
    async with (
        start_cloud(center_line=CENTER_LINE) as cloud,
        cloud.client(limits=NO_KEEPALIVE, headers=EDGE_AUTH) as edge,
        cloud.staff_client("op-all") as op_all,
    ):
        incident_id = int(
            (await edge.post(INTAKE, json=edge_event(OWN_STREET_DEVICE, 1))).json()["incident_id"]
        )
        record = (await op_all.get(f"/api/v1/incidents/{incident_id}/record")).json()
        field = record["guardians"][0]["reveal_field"]
        placed = await op_all.post(f"/api/v1/incidents/{incident_id}/calls", json={"target": field})
        assert placed.status_code == 202 and placed.json()["call_id"].startswith("console-call-")
        timeline = (await op_all.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
        assert [e["data"]["field"] for e in timeline if e["type"] == "call_bridged"] == [field]
