"""Guardian SMS: console notifier end to end, Twilio adapter against a fake Twilio (MockTransport)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from cloud_harness import LADDER_AT_ONCE, WAIT_S, SseReader, StartCloud, edge_event

from cloud.db import open_database
from cloud.metrics import CloudMetrics
from cloud.notify.models import Notification
from cloud.notify.port import NotifierError
from cloud.notify.twilio import TwilioNotifier
from cloud.notify.worker import OutboxWorker
from cloud.phones import display_phone
from contracts.intake import EventKind, Severity

INTAKE = "/api/v1/intake/events"
SID = "AC0123456789abcdef0123456789abcdef"


class FakeTwilio:
    """Speaks Twilio's Messages API at the transport seam; ``fail_first`` answers 503 that many times."""

    def __init__(self, fail_first: int = 0, status: int = 503, code: int | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.fail_first = fail_first
        self.status = status
        self.code = code
        self.got = asyncio.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.got.set()
        if request.url.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return httpx.Response(404, json={"code": 20404, "message": "not found", "status": 404})
        if self.fail_first > 0:
            self.fail_first -= 1
            return httpx.Response(
                self.status, json={"code": self.code, "message": "err", "status": self.status}
            )
        form = parse_qs(request.content.decode())
        return httpx.Response(
            201,
            json={
                "sid": f"SM{len(self.requests):032d}",
                "status": "queued",
                "to": form["To"][0],
                "body": form["Body"][0],
            },
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def forms(self) -> list[dict[str, list[str]]]:
        return [parse_qs(r.content.decode()) for r in self.requests]


def _twilio(fake: FakeTwilio) -> TwilioNotifier:
    return TwilioNotifier(
        account_sid=SID,
        auth_token="tw-auth-token",
        sender="+15005550006",
        public_url="http://anxin.example.org",
        transport=fake.transport(),
    )


async def test_twilio_adapter_sends_the_form_twilio_expects() -> None:
    fake = FakeTwilio()
    notifier = _twilio(fake)
    try:
        sid = await notifier.send_sms(to="+8613800001234", body="【安心】测试")
    finally:
        await notifier.aclose()
    assert sid.startswith("SM")
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.headers["authorization"].startswith("Basic ")
    assert fake.forms()[0] == {
        "To": ["+8613800001234"],
        "From": ["+15005550006"],
        "Body": ["【安心】测试"],
        "StatusCallback": ["http://anxin.example.org/api/v1/notify/twilio/status"],
    }


@pytest.mark.parametrize(
    ("status", "code", "retryable"), [(503, None, True), (429, 20429, True), (400, 21211, False)]
)
async def test_twilio_errors_become_notifier_errors(status: int, code: int | None, retryable: bool) -> None:
    notifier = _twilio(FakeTwilio(fail_first=1, status=status, code=code))
    try:
        with pytest.raises(NotifierError) as info:
            await notifier.send_sms(to="+8613800001234", body="x")
    finally:
        await notifier.aclose()
    assert info.value.retryable is retryable


async def test_twilio_adapter_refuses_non_e164_numbers() -> None:
    fake = FakeTwilio()
    notifier = _twilio(fake)
    try:
        with pytest.raises(NotifierError):
            await notifier.send_sms(to="13800001234", body="x")
    finally:
        await notifier.aclose()
    assert fake.requests == []


async def test_the_ladder_texts_the_first_guardian_through_the_console_notifier(
    start_cloud: StartCloud,
) -> None:
    async with (
        start_cloud(escalation_policies=LADDER_AT_ONCE) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
    ):
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
        assert guardians
        async with operator.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            await reader.comment()
            await edge.post(INTAKE, json=edge_event(subject["device_ids"][0], 1))
            sent = [await reader.until("sms.sent")]
        assert [s.data["guardian_id"] for s in sent] == [guardians[0]["id"]]  # in order, one at a time
        assert [s.data["to_masked"] for s in sent] == [display_phone(guardians[0]["phone"])]
        phones = (await operator.get("/api/v1/dev/sms")).json()
        assert [p["guardian_id"] for p in phones] == [guardians[0]["id"]]
        assert [p["to_masked"] for p in phones] == [display_phone(guardians[0]["phone"])]
        for phone in phones:
            body = phone["messages"][0]["body"]
            assert subject["masked_name"] in body
            assert subject["display_name"] not in body
            assert subject["address"] not in body
        # the timeline records each send; P3 events text nobody
        incident = (await operator.get("/api/v1/incidents")).json()[0]
        detail = (await operator.get(f"/api/v1/incidents/{incident['id']}")).json()
        assert [n["status"] for n in detail["notifications"]] == ["sent"]
        assert all("****" in n["to"] for n in detail["notifications"])
        await edge.post(INTAKE, json=edge_event("wear-0001", 2, EventKind.INACTIVITY, severity=Severity.P3))
        assert len((await operator.get("/api/v1/dev/sms")).json()) == len(phones)


async def test_english_guardians_get_english_text(start_cloud: StartCloud) -> None:
    async with (
        start_cloud(escalation_policies=LADDER_AT_ONCE) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
    ):
        created = await operator.post(
            "/api/v1/subjects",
            json={"display_name": "张建国", "birth_year": 1941, "community_id": 1, "address": "1号楼"},
        )
        subject_id = created.json()["id"]
        await operator.post(
            f"/api/v1/subjects/{subject_id}/guardians",
            json={"name": "Lily Zhang", "phone": "+447700900123", "relation": "女儿", "language": "en"},
        )
        await operator.post(
            "/api/v1/devices",
            json={
                "device_id": "card-en-1",
                "kind": "sos_card",
                "subject_id": subject_id,
                "edge_id": "edge-xiqing-01",
            },
        )
        async with operator.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            await reader.comment()
            await edge.post(INTAKE, json=edge_event("card-en-1", 1))
            sms = await reader.until("sms.sent")
    assert sms.data["to_masked"] == "+44 ****0123"
    assert sms.data["body"].startswith("[Anxin] Alarm raised: the assistance card of your family member 张**")


async def test_twilio_notifier_in_the_app(start_cloud: StartCloud) -> None:
    fake = FakeTwilio()
    async with (
        start_cloud(
            notifier="twilio",
            twilio_account_sid=SID,
            twilio_auth_token="tw-auth-token",
            twilio_from="MG0123456789abcdef0123456789abcdef",
            twilio_transport=fake.transport(),
            escalation_policies=LADDER_AT_ONCE,
        ) as cloud,
        cloud.edge_client() as edge,
        cloud.operator_client() as operator,
    ):
        await edge.post(INTAKE, json=edge_event("kid-0001", 1))
        await asyncio.wait_for(fake.got.wait(), WAIT_S)
        assert fake.forms()[0]["MessagingServiceSid"] == ["MG0123456789abcdef0123456789abcdef"]
        assert (await operator.get("/api/v1/dev/sms")).status_code == 404


async def test_outbox_worker_retries_with_backoff(tmp_path: Path) -> None:
    clock = {"now": 1_760_000_000_000}
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    fake = FakeTwilio(fail_first=1)
    notifier = _twilio(fake)
    try:
        async with db.sessions() as session:
            from cloud.incidents.models import Incident
            from cloud.registry.models import Subject
            from cloud.registry.service import seed_district

            await seed_district(session=session)
            session.add(
                Subject(kind="elder", display_name="王秀英", birth_year=1940, community_id=1, created_at=0)
            )
            await session.flush()
            session.add(
                Incident(
                    kind="sos",
                    severity="P1",
                    status="new",
                    subject_id=1,
                    device_id="card-1",
                    edge_id="e",
                    origin_key="card-1:1",
                    origin_seq=1,
                    device_ts=0,
                    edge_ts=0,
                    cloud_ts=0,
                    updated_at=0,
                )
            )
            await session.flush()
            session.add(
                Notification(
                    incident_id=1,
                    to_phone="+8613800001234",
                    language="zh",
                    body="hi",
                    status="queued",
                    next_attempt_at=clock["now"],
                    created_at=clock["now"],
                )
            )
            await session.commit()
        worker = OutboxWorker(
            sessions=db.sessions,
            notifier=notifier,
            now_ms=lambda: clock["now"],
            wakeup=asyncio.Event(),
            metrics=CloudMetrics(),
            max_attempts=3,
            send_timeout_s=5,
        )
        assert await worker.drain() == 0  # Twilio answered 503: retry later
        assert await worker.drain() == 0  # not due yet
        clock["now"] += 2_000
        assert await worker.drain() == 1
        async with db.sessions() as session:
            note = await session.get(Notification, 1)
            assert note is not None
            assert (note.status, note.attempts, note.provider_id) == ("sent", 2, "SM" + "2".zfill(32))
        assert len(fake.requests) == 2
    finally:
        await notifier.aclose()
        await db.close()


async def test_guardians_are_texted_when_an_incident_becomes_urgent(start_cloud: StartCloud) -> None:
    async with (
        start_cloud(escalation_policies=LADDER_AT_ONCE) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
    ):
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
        wearable = next(d for d in subject["device_ids"] if d.startswith("wear-"))
        async with operator.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            await reader.comment()
            drift = edge_event(wearable, 1, EventKind.VITALS_DRIFT, severity=Severity.P3)
            await edge.post(INTAKE, json=drift)
            assert (await reader.until("incident.created")).data["severity"] == "P3"
            await edge.post(INTAKE, json=edge_event(wearable, 2, EventKind.HR_HIGH, severity=Severity.P2))
            sent = [await reader.until("sms.sent")]  # the P2 policy's ladder: the first guardian
        assert sent[0].data["guardian_id"] == guardians[0]["id"]
        assert all("健康指标异常" in s.data["body"] for s in sent if s.data["body"].startswith("【"))
        detail = (await operator.get("/api/v1/incidents")).json()[0]
        assert (detail["severity"], detail["event_count"]) == ("P2", 2)
