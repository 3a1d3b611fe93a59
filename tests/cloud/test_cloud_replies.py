"""Guardians answer the SMS: Twilio inbound + status webhooks (signed exactly as Twilio signs them) and
the dev phone page's reply endpoint, over real HTTP on a real SQLite file. Twilio's REST API is faked
only at the transport seam."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cloud_harness import LADDER_AT_ONCE, WAIT_S, RunningCloud, StartCloud, edge_event
from twilio.request_validator import RequestValidator

from cloud.inbound import delivery, replies
from cloud.inbound.delivery import DeliveryStatus
from cloud.inbound.replies import ReplyResult

INTAKE = "/api/v1/intake/events"
SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "tw-auth-token-0123456789"
# What Twilio calls (the proxy in front forwards to us). http here: an https URL makes the session
# cookie Secure, which the plain-HTTP test client would not send back.
PUBLIC_URL = "http://anxin.example.org"
INBOUND = "/api/v1/notify/twilio/inbound"
STATUS = "/api/v1/notify/twilio/status"
_sids = itertools.count(1)


def message_sid() -> str:
    return f"SM{next(_sids):032x}"


# ---- pure domain ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1", " １ ", "好", "好的！", "收到", "OK", "ok.", "Yes", "yes!"])
def test_acknowledgements_are_recognised(text: str) -> None:
    assert replies.intent_of(text) is replies.ReplyIntent.ACKNOWLEDGE


@pytest.mark.parametrize("text", ["2", " ２ ", "不能", "No", "can't"])
def test_a_2_declines(text: str) -> None:
    assert replies.intent_of(text) is replies.ReplyIntent.DECLINE


@pytest.mark.parametrize("text", ["我马上过去", "不好", "okay then I will call", "11", "22", ""])
def test_anything_else_is_a_message(text: str) -> None:
    assert replies.intent_of(text) is replies.ReplyIntent.MESSAGE


def test_decisions() -> None:
    unknown = replies.decide(text="1", known_guardian=False, has_open_incident=True, already_answered=False)
    assert (unknown.result, unknown.timeline_type) == (ReplyResult.UNKNOWN_SENDER, None)
    idle = replies.decide(text="1", known_guardian=True, has_open_incident=False, already_answered=False)
    assert (idle.result, idle.timeline_type) == (ReplyResult.NO_OPEN_INCIDENT, None)
    ack = replies.decide(text="1", known_guardian=True, has_open_incident=True, already_answered=False)
    assert (ack.result, ack.set_answered_at, ack.timeline_type) == (
        ReplyResult.ACKNOWLEDGED,
        True,
        "guardian_acknowledged",
    )
    again = replies.decide(text="好", known_guardian=True, has_open_incident=True, already_answered=True)
    assert (again.result, again.set_answered_at) == (ReplyResult.ALREADY_ACKNOWLEDGED, False)
    note = replies.decide(text="x" * 900, known_guardian=True, has_open_incident=True, already_answered=True)
    assert note.result is ReplyResult.MESSAGE and len(note.text) == replies.MESSAGE_MAX_CHARS
    assert replies.capped("a\x00b\x1bc") == "abc"


def test_answers_speak_the_guardians_language() -> None:
    assert "已收到" in replies.answer_text(ReplyResult.ACKNOWLEDGED, "zh")
    assert replies.answer_text(ReplyResult.ACKNOWLEDGED, "en").startswith("[Anxin]")
    both = replies.answer_text(ReplyResult.UNKNOWN_SENDER, None)
    assert "【安心】" in both and "[Anxin]" in both


def test_delivery_status_only_moves_forward() -> None:
    assert delivery.advance(None, DeliveryStatus.SENT) is DeliveryStatus.SENT
    assert delivery.advance("sent", DeliveryStatus.DELIVERED) is DeliveryStatus.DELIVERED
    assert delivery.advance("delivered", DeliveryStatus.SENT) is None  # late callback
    assert delivery.advance("delivered", DeliveryStatus.FAILED) is None  # final
    assert delivery.advance("sent", DeliveryStatus.SENT) is None  # repeat
    assert delivery.parse_status("sending") is DeliveryStatus.QUEUED
    assert delivery.parse_status("read") is None


# ---- Twilio webhooks over HTTP -------------------------------------------------------------------


class FakeTwilio:
    """Twilio's Messages API at the transport seam: answers every send with a fresh SM sid."""

    def __init__(self) -> None:
        self.sids: list[str] = []
        self.forms: list[dict[str, list[str]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        sid = message_sid()
        self.sids.append(sid)
        self.forms.append(parse_qs(request.content.decode()))
        return httpx.Response(201, json={"sid": sid, "status": "queued"})


@dataclass
class Twilio:
    """Posts webhooks exactly as Twilio does: form-encoded, signed over PUBLIC_URL + path."""

    client: httpx.AsyncClient
    fake: FakeTwilio

    async def post(self, path: str, form: dict[str, str], *, token: str = TOKEN) -> httpx.Response:
        signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, form)
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    async def sms(self, from_phone: str, body: str, sid: str | None = None) -> httpx.Response:
        form = {
            "MessageSid": sid or message_sid(),
            "AccountSid": SID,
            "From": from_phone,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        return await self.post(INBOUND, form)

    async def status(self, sid: str, status: str, error_code: str | None = None) -> httpx.Response:
        form = {"MessageSid": sid, "AccountSid": SID, "MessageStatus": status}
        if error_code:
            form["ErrorCode"] = error_code
        return await self.post(STATUS, form)


@dataclass
class World:
    cloud: RunningCloud
    operator: httpx.AsyncClient
    edge: httpx.AsyncClient
    twilio: Twilio
    subject: dict[str, Any]
    guardians: list[dict[str, Any]]

    async def sos(self, seq: int = 1) -> int:
        response = await self.edge.post(INTAKE, json=edge_event(self.subject["device_ids"][0], seq))
        assert response.status_code == 201, response.text
        return int(response.json()["incident_id"])

    async def detail(self, incident_id: int) -> dict[str, Any]:
        response = await self.operator.get(f"/api/v1/incidents/{incident_id}")
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    async def until_sent(self, incident_id: int, count: int = 1) -> dict[str, Any]:
        """Wait (bounded) until the incident has ``count`` SMS and the outbox sent every one."""

        async def check() -> dict[str, Any]:
            while True:
                detail = await self.detail(incident_id)
                notes = detail["notifications"]
                if len(notes) >= count and all(n["status"] == "sent" for n in notes):
                    return detail

        return await asyncio.wait_for(check(), WAIT_S)


@pytest.fixture
async def world(start_cloud: StartCloud) -> AsyncIterator[World]:
    fake = FakeTwilio()
    async with (
        start_cloud(
            notifier="twilio",
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from="+15005550006",
            public_url=PUBLIC_URL,
            twilio_transport=httpx.MockTransport(fake.handle),
            escalation_policies=LADDER_AT_ONCE,
        ) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
        cloud.client() as twilio_client,
    ):
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
        assert guardians
        yield World(cloud, operator, edge, Twilio(twilio_client, fake), subject, guardians)


def types(detail: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in detail["timeline"]]


def guardian_entries(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Timeline entries from guardians (the SMS worker adds its own entries at any time)."""
    return [e for e in detail["timeline"] if e["type"].startswith("guardian_")]


async def test_a_guardians_1_acknowledges_the_incident(world: World) -> None:
    incident_id = await world.sos()
    guardian = world.guardians[0]
    response = await world.twilio.sms(guardian["phone"], " １ ")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response><Message>【安心】已收到：您正前往" in response.text

    detail = await world.detail(incident_id)
    assert detail["guardian_answered_at"] is not None
    assert detail["guardian_answered_at"] >= detail["cloud_ts"]
    [entry] = [e for e in detail["timeline"] if e["type"] == "guardian_acknowledged"]
    assert entry["actor"] == guardian["relation"]
    assert entry["data"]["guardian_id"] == guardian["id"]
    as_text = str(entry)
    assert guardian["name"] not in as_text and guardian["phone"] not in as_text
    listed = (await world.operator.get("/api/v1/incidents")).json()
    assert listed[0]["guardian_answered_at"] == detail["guardian_answered_at"]


async def test_replies_are_idempotent_on_the_message_sid(world: World) -> None:
    incident_id = await world.sos()
    sid = message_sid()
    first = await world.twilio.sms(world.guardians[0]["phone"], "1", sid=sid)
    again = await world.twilio.sms(world.guardians[0]["phone"], "1", sid=sid)
    assert first.status_code == again.status_code == 200
    assert first.text == again.text
    assert types(await world.detail(incident_id)).count("guardian_acknowledged") == 1


async def test_other_text_is_a_capped_message_for_the_operator(world: World) -> None:
    incident_id = await world.sos()
    guardian = world.guardians[-1]
    await world.twilio.sms(guardian["phone"], "我马上过去，十分钟到")
    response = await world.twilio.sms(guardian["phone"], "长" * 1600)
    assert "留言已转给值班员" in response.text
    detail = await world.detail(incident_id)
    messages = [e for e in detail["timeline"] if e["type"] == "guardian_message"]
    assert messages[0]["text"] == "我马上过去，十分钟到"
    assert len(messages[1]["text"]) == replies.MESSAGE_MAX_CHARS
    assert all(m["actor"] == guardian["relation"] for m in messages)
    assert detail["guardian_answered_at"] is None  # a message is not the acknowledgement


async def test_unknown_numbers_and_closed_incidents_get_a_polite_answer_only(world: World) -> None:
    incident_id = await world.sos()
    unknown = await world.twilio.sms("+8613911112222", "1")
    assert unknown.status_code == 200 and "无法处理您的回复" in unknown.text and "[Anxin]" in unknown.text
    short_code = await world.twilio.sms("10086", "1")
    assert short_code.status_code == 200 and "无法处理您的回复" in short_code.text
    assert guardian_entries(await world.detail(incident_id)) == []

    await world.operator.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={})
    await world.operator.post(f"/api/v1/incidents/{incident_id}/resolve", json={"outcome": "helped_on_site"})
    closed = await world.twilio.sms(world.guardians[0]["phone"], "1")
    assert "没有待处理的警情" in closed.text
    assert "guardian_acknowledged" not in types(await world.detail(incident_id))
    metrics = (await world.operator.get("/metrics")).text
    assert 'anxin_cloud_guardian_replies_total{result="unknown_sender"} 2.0' in metrics
    assert 'anxin_cloud_guardian_replies_total{result="no_open_incident"} 1.0' in metrics


async def test_bad_signatures_are_refused(world: World) -> None:
    incident_id = await world.sos()
    phone = world.guardians[0]["phone"]
    form = {"MessageSid": message_sid(), "From": phone, "Body": "1"}
    unsigned = await world.twilio.client.post(INBOUND, data=form)
    assert unsigned.status_code == 403
    assert unsigned.json()["detail"][0]["field"] == "X-Twilio-Signature"
    wrong_key = await world.twilio.post(INBOUND, form, token="not-the-auth-token")
    assert wrong_key.status_code == 403
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + INBOUND, form)
    tampered = await world.twilio.client.post(
        INBOUND, data={**form, "Body": "hacked"}, headers={"X-Twilio-Signature": signature}
    )
    assert tampered.status_code == 403
    bad_status = await world.twilio.client.post(
        STATUS, data={"MessageSid": message_sid(), "MessageStatus": "failed"}
    )
    assert bad_status.status_code == 403
    malformed = await world.twilio.post(INBOUND, {"From": phone, "Body": "1"})  # no MessageSid
    assert malformed.status_code == 422
    assert types(await world.detail(incident_id)).count("guardian_acknowledged") == 0


async def test_status_callbacks_reach_the_notification_and_the_timeline(world: World) -> None:
    incident_id = await world.sos()
    await world.until_sent(incident_id)  # the ladder's first contact
    sids = world.twilio.fake.sids
    assert len(sids) == 1 and len(world.guardians) >= 2  # the demo elder has two guardians
    assert (await world.twilio.status(sids[0], "sent")).status_code == 204
    assert (await world.twilio.status(sids[0], "undelivered", "30003")).status_code == 204
    assert (await world.twilio.status(sids[0], "sent")).status_code == 204  # late: ignored
    # undelivered: the ladder moves on to the next contact at once
    await world.until_sent(incident_id, count=2)
    assert len(sids) == 2
    assert (await world.twilio.status(sids[1], "delivered")).status_code == 204
    assert (await world.twilio.status(message_sid(), "delivered")).status_code == 204  # not ours
    assert all(form["StatusCallback"] == [PUBLIC_URL + STATUS] for form in world.twilio.fake.forms), (
        "every send asks Twilio for status callbacks"
    )

    detail = await world.detail(incident_id)
    statuses = [n["delivery_status"] for n in detail["notifications"]]
    assert statuses == ["undelivered", "delivered"]
    entries = [e for e in detail["timeline"] if e["type"] == "sms_status"]
    assert [e["data"]["status"] for e in entries] == ["sent", "undelivered", "delivered"]
    failed = entries[1]
    assert failed["data"]["error_code"] == "30003"
    assert "短信未送达" in failed["text"] and "****" in failed["text"]
    assert failed["data"]["notification_id"] == detail["notifications"][0]["id"]
    [moved] = [e for e in detail["timeline"] if e["type"] == "ladder_next"]
    assert moved["data"]["reason"] == "undelivered"


async def test_twilio_webhooks_do_not_exist_with_the_console_notifier(start_cloud: StartCloud) -> None:
    async with start_cloud() as cloud, cloud.client() as client:
        form = {"MessageSid": message_sid(), "From": "+8613900001111", "Body": "1"}
        signature = RequestValidator(TOKEN).compute_signature(cloud.settings.public_url + INBOUND, form)
        response = await client.post(INBOUND, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 404


# ---- the dev phone page's reply box: the same domain path ------------------------------------------


async def test_dev_reply_goes_through_the_same_path(start_cloud: StartCloud) -> None:
    async with start_cloud() as cloud, cloud.operator_client() as operator, cloud.edge_client() as edge:
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardian = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()[0]
        response = await edge.post(INTAKE, json=edge_event(subject["device_ids"][0], 1))
        incident_id = int(response.json()["incident_id"])

        body = {"guardian_id": guardian["id"], "text": "收到", "message_id": "dev-reply-0001"}
        answered = await operator.post("/api/v1/dev/sms/reply", json=body)
        assert answered.status_code == 200, answered.text
        assert answered.json()["result"] == "acknowledged"
        assert answered.json()["incident_id"] == incident_id
        again = await operator.post("/api/v1/dev/sms/reply", json=body)
        assert again.json()["duplicate"] is True

        detail = (await operator.get(f"/api/v1/incidents/{incident_id}")).json()
        assert detail["guardian_answered_at"] is not None
        assert [e["actor"] for e in detail["timeline"] if e["type"] == "guardian_acknowledged"] == [
            guardian["relation"]
        ]
        [phone] = (await operator.get("/api/v1/dev/sms", params={"guardian_id": guardian["id"]})).json()
        directions = [(m["direction"], m["body"]) for m in phone["messages"]]
        assert ("in", "收到") in directions
        assert any(d == "out" and "已收到：您正前往" in b for d, b in directions)
        assert guardian["phone"] not in str(phone)

        unknown = await operator.post("/api/v1/dev/sms/reply", json={"guardian_id": 99_999, "text": "1"})
        assert unknown.status_code == 404
        empty = await operator.post("/api/v1/dev/sms/reply", json={"guardian_id": guardian["id"], "text": ""})
        assert empty.status_code == 422
    async with (
        start_cloud(
            notifier="twilio",
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from="+15005550006",
            twilio_transport=httpx.MockTransport(FakeTwilio().handle),
        ) as cloud,
        cloud.operator_client() as operator,
    ):
        refused = await operator.post("/api/v1/dev/sms/reply", json={"guardian_id": 1, "text": "1"})
        assert refused.status_code == 404


async def test_a_person_without_family_gets_the_grid_worker_who_answers_1(world: World) -> None:
    created = await world.operator.post(
        "/api/v1/subjects",
        json={"display_name": "赵桂兰", "birth_year": 1938, "community_id": 1, "care_notes": "独居"},
    )
    subject_id = created.json()["id"]
    device = {
        "device_id": "card-alone-1",
        "kind": "sos_card",
        "subject_id": subject_id,
        "edge_id": "edge-xiqing-01",
    }
    assert (await world.operator.post("/api/v1/devices", json=device)).status_code == 201
    response = await world.edge.post(INTAKE, json=edge_event("card-alone-1", 1))
    incident_id = int(response.json()["incident_id"])
    detail = await world.until_sent(incident_id)
    [(worker_id, worker_phone)] = await world.cloud.rows(
        "SELECT id, phone FROM case_workers WHERE community_id = 1 AND role = 'grid_worker'"
    )
    [step] = [t for t in detail["timeline"] if t["type"] == "ladder_contact"]
    assert step["data"]["contact"] == f"worker:{worker_id}" and step["text"].startswith("网格员")
    answer = await world.twilio.sms(worker_phone, "1")
    assert "已收到：您正前往" in answer.text
    detail = await world.detail(incident_id)
    going = [t for t in detail["timeline"] if t["type"] == "guardian_acknowledged"]
    assert [t["actor"] for t in going] == ["网格员"]
    assert "escalation_stopped" in types(detail) and detail["guardian_answered_at"] is not None
