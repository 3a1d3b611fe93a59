"""Degraded mode: the edge texts the guardians itself when the cloud does not confirm a P1 alarm in time.

``DegradedMode`` on a real SQLite file with the time passed in (its ``check()`` is called at chosen
times), the Twilio adapter through the ``twilio`` SDK against a fake Twilio at the transport seam, and
the gateway end to end on Mosquitto with the real-HTTP cloud stand-in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, DeviceLink, registry_of

from contracts import DeviceKind, EdgeEvent, EventKind, Severity, SosCancel, SosPress, encode
from contracts.guardians import GuardianContact
from edge.database import Database
from edge.degraded import policy
from edge.degraded.console import ConsoleNotifier
from edge.degraded.mode import DegradedMode
from edge.degraded.notifier import NotifierError
from edge.degraded.records import SmsRecords
from edge.degraded.texts import edge_alert_text
from edge.degraded.twilio import TwilioNotifier
from edge.delivery.claims import KeyClaims
from edge.delivery.outbox import Outbox
from edge.metrics import EdgeMetrics
from edge.registry.store import DeviceRegistry, RegisteredDevice
from edge.settings import EdgeSettings

SID = "AC0123456789abcdef0123456789abcdef"
DELAY_S = 30.0
ZH = GuardianContact(guardian_id=11, phone="+8613800001111", language="zh", priority=1)
EN = GuardianContact(guardian_id=12, phone="+447700900123", language="en", priority=2)


# -- pure pieces ------------------------------------------------------------------------------------
def test_texts_carry_the_masked_name_only_in_both_languages() -> None:
    zh = edge_alert_text(
        language="zh",
        masked_name="王**",
        device_kind=DeviceKind.SOS_CARD,
        event_kind=EventKind.SOS,
        at_ms=BASE_TS,
    )
    assert zh.startswith("【安心】您的家人王**的助老卡于") and "紧急求助" in zh and "120" in zh
    en = edge_alert_text(
        language="en-GB",
        masked_name="王**",
        device_kind=DeviceKind.WEARABLE,
        event_kind=EventKind.FALL,
        at_ms=BASE_TS,
    )
    assert en.startswith("[Anxin] The wearable alarm of your family member 王** detected a possible fall at")


def test_policy_texts_each_guardian_once_in_priority_order() -> None:
    now = 1_000
    assert policy.is_overdue(kind="sos", priority=1, created_ms=0, now_ms=now, delay_ms=1_000)
    assert not policy.is_overdue(kind="sos", priority=1, created_ms=1, now_ms=now, delay_ms=1_000)
    assert not policy.is_overdue(kind="sos_cancel", priority=1, created_ms=0, now_ms=now, delay_ms=1)
    assert policy.due_guardians([EN, ZH], [], now_ms=now) == [ZH, EN]
    sent = policy.SmsRecord(11, policy.SENT, 1, 0, 900)
    retry_later = policy.SmsRecord(12, policy.SENDING, 1, 2_000, None)
    assert policy.due_guardians([ZH, EN], [sent, retry_later], now_ms=now) == []
    assert policy.due_guardians([ZH, EN], [sent, retry_later], now_ms=2_000) == [EN]
    crashed_mid_send = policy.SmsRecord(12, policy.SENDING, 0, 0, None)
    assert policy.due_guardians([ZH, EN], [sent, crashed_mid_send], now_ms=now) == [EN]  # at least once
    assert not policy.finished([ZH, EN], [sent, retry_later])
    assert policy.finished([ZH, EN], [sent, policy.SmsRecord(12, policy.FAILED, 5, 0, None)])
    assert [n.guardian_id for n in policy.notices([sent, retry_later])] == [11]


def test_claims_one_holder_at_a_time() -> None:
    async def scenario() -> list[str]:
        claims, order = KeyClaims(), []
        assert claims.try_claim("k") and not claims.try_claim("k")

        async def waiter() -> None:
            await claims.claim("k")
            order.append("degraded")
            claims.release("k")

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)  # let it block on the held key
        order.append("forwarder done")
        claims.release("k")
        await task
        assert claims.try_claim("k")
        return order

    assert asyncio.run(scenario()) == ["forwarder done", "degraded"]


# -- DegradedMode on a real database, time passed in -------------------------------------------------
class FakeTwilio:
    """Twilio's Messages API at the transport seam; ``answers`` are served in turn (then 201s)."""

    def __init__(self, *answers: tuple[int, int | None]) -> None:
        self.answers = list(answers)
        self.forms: list[dict[str, list[str]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
        form = parse_qs(request.content.decode())
        self.forms.append(form)
        if self.answers:
            status, code = self.answers.pop(0)
            return httpx.Response(status, json={"code": code, "message": "err", "status": status})
        return httpx.Response(201, json={"sid": f"SM{len(self.forms):032d}", "status": "queued"})


@dataclass
class Rig:
    db: Database
    outbox: Outbox
    records: SmsRecords
    registry: DeviceRegistry
    metrics: EdgeMetrics
    claims: KeyClaims
    now: list[int] = field(default_factory=lambda: [BASE_TS])

    def mode(self, notifier: Any, batch: int = 50) -> DegradedMode:
        return DegradedMode(
            batch=batch,
            outbox=self.outbox,
            records=self.records,
            registry=self.registry,
            notifier=notifier,
            claims=self.claims,
            metrics=self.metrics,
            clock_ms=lambda: self.now[0],
            delay_s=DELAY_S,
            send_timeout_s=5.0,
            retry_s=10.0,
        )

    async def alarm(self, seq: int, kind: EventKind = EventKind.SOS, **extra: Any) -> EdgeEvent:
        event = EdgeEvent(
            key=f"card-1:{seq}",
            edge_id="edge-1",
            device_id="card-1",
            seq=seq,
            kind=kind,
            severity=Severity.P1,
            device_ts=self.now[0] - 100,
            edge_ts=self.now[0],
            **extra,
        )
        assert await self.outbox.add(event, now_ms=self.now[0])
        return event

    async def body_of(self, key: str) -> EdgeEvent:
        def read(conn: Any) -> bytes:
            return bytes(conn.execute("SELECT body FROM outbox WHERE key = ?", (key,)).fetchone()[0])

        return EdgeEvent.model_validate_json(await self.db.run(read))

    async def notified_ms(self, key: str) -> int | None:
        def read(conn: Any) -> int | None:
            row = conn.execute("SELECT edge_notified_ms FROM outbox WHERE key = ?", (key,)).fetchone()
            return None if row[0] is None else int(row[0])

        return await self.db.run(read)

    def sms(self, result: str) -> float:
        return (
            self.metrics.registry.get_sample_value("anxin_edge_guardian_sms_total", {"result": result}) or 0.0
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    registry = DeviceRegistry()
    card = RegisteredDevice(
        device_id="card-1", kind=DeviceKind.SOS_CARD, subject_id="7", masked_name="王**", guardians=(EN, ZH)
    )
    registry.replace([card, RegisteredDevice(device_id="card-2", kind=DeviceKind.SOS_CARD)], fetched_ms=0)
    try:
        yield Rig(db, Outbox(db), SmsRecords(db), registry, EdgeMetrics(), KeyClaims())
    finally:
        await db.close()


async def test_an_unconfirmed_alarm_texts_every_guardian_once_after_the_delay(rig: Rig) -> None:
    console = ConsoleNotifier(clock_ms=lambda: rig.now[0])
    mode = rig.mode(console)
    await rig.alarm(1)
    rig.now[0] += int(DELAY_S * 1000) - 1
    assert await mode.check() == 0 and not console.messages  # not yet
    rig.now[0] += 1
    assert await mode.check() == 1
    assert [m.to for m in console.messages] == [ZH.phone, EN.phone]  # priority order
    assert "王**" in console.messages[0].body and console.messages[1].body.startswith("[Anxin]")
    body = await rig.body_of("card-1:1")
    assert [(n.guardian_id, n.at_ms) for n in body.edge_notified or []] == [
        (11, rig.now[0]),
        (12, rig.now[0]),
    ]
    assert await rig.notified_ms("card-1:1") == rig.now[0]
    rig.now[0] += 60_000
    assert await mode.check() == 0 and len(console.messages) == 2  # never again
    assert rig.claims.rewrites == 1 and not rig.claims.held("card-1:1")
    views = await rig.records.recent()
    assert {v.to_masked for v in views} == {"+86138****1111", "+44770****0123"}


async def test_twilio_retry_then_permanent_failure_through_the_sdk(rig: Rig) -> None:
    fake = FakeTwilio((503, None), (400, 21211))  # ZH: Twilio down once; EN: not a valid number
    notifier = TwilioNotifier(
        account_sid=SID,
        auth_token="tw-token",
        sender="+15005550006",
        transport=httpx.MockTransport(fake.handle),
    )
    mode = rig.mode(notifier)
    await rig.alarm(2)
    rig.now[0] += int(DELAY_S * 1000)
    await mode.check()
    assert [f["To"] for f in fake.forms] == [[ZH.phone], [EN.phone]]
    assert fake.forms[0]["From"] == ["+15005550006"] and "王**" in fake.forms[0]["Body"][0]
    assert rig.sms("retry") == 1 and rig.sms("failed") == 1
    assert await rig.notified_ms("card-1:2") is None  # ZH still to do
    assert (await rig.body_of("card-1:2")).edge_notified is None
    rig.now[0] += 5_000
    await mode.check()
    assert len(fake.forms) == 2  # the retry is not due yet
    rig.now[0] += 5_000
    await mode.check()
    assert [f["To"] for f in fake.forms][-1] == [ZH.phone] and rig.sms("sent") == 1
    assert [n.guardian_id for n in (await rig.body_of("card-1:2")).edge_notified or []] == [ZH.guardian_id]
    assert await rig.notified_ms("card-1:2") == rig.now[0]  # finished: EN given up for good
    await notifier.aclose()


async def test_alarms_waiting_for_a_retry_never_hide_newer_ones(rig: Rig) -> None:
    fake = FakeTwilio(*[(503, None)] * 4)  # the first two alarms' four SMS fail (retryable)
    notifier = TwilioNotifier(
        account_sid=SID, auth_token="tw-token", sender="MG0123", transport=httpx.MockTransport(fake.handle)
    )
    mode = rig.mode(notifier, batch=2)
    for seq in (11, 12, 13):
        await rig.alarm(seq)
    rig.now[0] += int(DELAY_S * 1000)
    assert await mode.check() == 3
    assert fake.forms[0]["MessagingServiceSid"] == ["MG0123"]
    rig.now[0] += 1_000
    assert await mode.check() == 2  # the third is finished; the first two wait for their retry
    assert [n.guardian_id for n in (await rig.body_of("card-1:13")).edge_notified or []] == [11, 12]
    await notifier.aclose()


async def test_cancelled_delivered_or_guardianless_alarms_text_nobody(rig: Rig) -> None:
    console = ConsoleNotifier(clock_ms=lambda: rig.now[0])
    mode = rig.mode(console)
    await rig.alarm(3)
    cancel = EdgeEvent(
        key="card-1:4",
        edge_id="edge-1",
        device_id="card-1",
        seq=4,
        kind=EventKind.SOS_CANCEL,
        severity=Severity.P1,
        device_ts=rig.now[0],
        edge_ts=rig.now[0],
        ref_key="card-1:3",
    )
    await rig.outbox.add(cancel, now_ms=rig.now[0])
    await rig.alarm(5, kind=EventKind.FALL_DEVICE)
    row_id = await rig.db.run(
        lambda c: int(c.execute("SELECT id FROM outbox WHERE key = 'card-1:5'").fetchone()[0])
    )
    await rig.outbox.mark_delivered(row_id, now_ms=rig.now[0])
    lonely = EdgeEvent(
        key="card-2:1",
        edge_id="edge-1",
        device_id="card-2",
        seq=1,
        kind=EventKind.SOS,
        severity=Severity.P1,
        device_ts=rig.now[0],
        edge_ts=rig.now[0],
    )
    await rig.outbox.add(lonely, now_ms=rig.now[0])
    rig.now[0] += int(DELAY_S * 1000)
    await mode.check()
    assert not console.messages
    outcome = rig.metrics.registry.get_sample_value
    assert outcome("anxin_edge_degraded_alarms_total", {"result": "cancelled"}) == 1
    assert outcome("anxin_edge_degraded_alarms_total", {"result": "no_guardians"}) == 1
    assert await mode.check() == 0  # all finished


async def test_a_send_cut_off_by_a_crash_is_sent_again(rig: Rig) -> None:
    """Recorded ``sending`` before the provider call, never finished: at least once, not zero times."""
    await rig.alarm(6)
    await rig.records.begin("card-1:6", ZH.guardian_id, to_masked="x", body="x", provider="console", now_ms=0)
    console = ConsoleNotifier(clock_ms=lambda: rig.now[0])
    rig.now[0] += int(DELAY_S * 1000)
    await rig.mode(console).check()
    assert sorted(m.to for m in console.messages) == sorted([ZH.phone, EN.phone])


async def test_finished_texts_are_forgotten_after_the_retention_and_unfinished_ones_kept(rig: Rig) -> None:
    for guardian, status in ((1, "sent"), (2, "failed"), (3, "sending")):
        await rig.records.begin(
            "card-1:9", guardian, to_masked="x", body="x", provider="console", now_ms=1_000
        )
        if status == "sent":
            await rig.records.sent("card-1:9", guardian, provider_id="m1", now_ms=1_500)
        elif status == "failed":
            await rig.records.failed("card-1:9", guardian, error="x", retryable=False, next_try_ms=0)
    await rig.records.begin("card-1:10", 1, to_masked="x", body="x", provider="console", now_ms=5_000)
    await rig.records.sent("card-1:10", 1, provider_id="m2", now_ms=5_000)
    assert await rig.records.prune(older_than_ms=1_000) == 0  # nothing is older than the cutoff yet
    assert await rig.records.prune(older_than_ms=2_000) == 2
    left = sorted((v.event_key, v.guardian_id, v.status) for v in await rig.records.recent())
    assert left == [("card-1:10", 1, "sent"), ("card-1:9", 3, "sending")]


async def test_console_refuses_a_number_that_is_not_e164() -> None:
    with pytest.raises(NotifierError) as caught:
        await ConsoleNotifier(clock_ms=lambda: 0).send_sms(to="13800001234", body="x")
    assert not caught.value.retryable


def test_twilio_needs_its_credentials() -> None:
    with pytest.raises(ValueError, match="notifier=twilio needs"):
        EdgeSettings(cloud_token="a-real-token-123", notifier="twilio", twilio_account_sid=SID)


# -- the gateway end to end ---------------------------------------------------------------------------
def _registry_with_guardians() -> list[dict[str, Any]]:
    entries = registry_of("card-1", "card-2")
    entries[0].update(masked_name="王**", guardians=[g.model_dump() for g in (ZH, EN)])
    return entries


@pytest.fixture
def standin() -> CloudStandIn:
    return CloudStandIn("edge-test", _registry_with_guardians())


async def test_gateway_texts_guardians_while_the_cloud_fails_and_the_cloud_learns_it(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    cloud.fail_with = 503
    async with gateway_factory(degraded_after_s=0.3, cloud_probe_s=0.05) as gateway:
        notifier = gateway.notifier
        assert isinstance(notifier, ConsoleNotifier) and gateway.degraded is not None
        await device.listen("card-1")
        await device.publish("card-1", "sos", encode(SosPress(device_id="card-1", seq=1, ts=BASE_TS)))
        await device.wait_downlinks(1)
        progress = gateway.degraded.progress
        async with asyncio.timeout(10), progress:
            await progress.wait_for(lambda: len(notifier.messages) == 2)
        assert await gateway.outbox.status_of("card-1:1") == "pending"
        cloud.fail_with = None
        await gateway.wait_delivered("card-1:1")
        [event] = cloud.events
        assert sorted(n.guardian_id for n in event.edge_notified or []) == [11, 12]
        rounds = gateway.degraded.rounds
        gateway.degraded.wake()
        async with asyncio.timeout(10), progress:
            await progress.wait_for(lambda: gateway.degraded.rounds > rounds)
        assert len(notifier.messages) == 2


async def test_gateway_delivers_promptly_when_the_cloud_is_well_again(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    """A backoff of 30–60 s would be waited out; the health probe ends it once the cloud is well."""
    cloud.fail_with = 503
    async with gateway_factory(
        backoff_initial_s=60.0, backoff_max_s=600.0, cloud_probe_s=0.05, degraded_after_s=3600
    ) as gateway:
        await device.publish("card-2", "sos", encode(SosPress(device_id="card-2", seq=1, ts=BASE_TS)))
        await _went_down(gateway)
        cloud.fail_with = None
        await gateway.wait_delivered("card-2:1", within_s=5)
        up = gateway.metrics.get_sample_value("anxin_edge_cloud_up")
        assert up == 1.0


async def _went_down(gateway: Any) -> None:
    forwarder = gateway.forwarder
    async with asyncio.timeout(5), forwarder.progress:
        await forwarder.progress.wait_for(lambda: forwarder.cloud_down)


async def test_cancel_before_the_delay_means_no_sms(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    cloud.fail_with = 503
    async with gateway_factory(degraded_after_s=0.5) as gateway:
        await device.publish("card-1", "sos", encode(SosPress(device_id="card-1", seq=1, ts=BASE_TS)))
        cancel = SosCancel(device_id="card-1", seq=2, ts=BASE_TS + 1000, ref_seq=1)
        await device.publish("card-1", "sos", encode(cancel))
        await gateway.wait_handled(2)
        metric = gateway.metrics.get_sample_value
        progress = gateway.degraded.progress
        async with asyncio.timeout(10), progress:
            await progress.wait_for(
                lambda: metric("anxin_edge_degraded_alarms_total", {"result": "cancelled"}) == 1
            )
        assert not gateway.notifier.messages
        sms = orjson.loads(await gateway._dev_sms())
        assert sms == []
