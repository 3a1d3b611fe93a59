"""Aliyun SMS for mainland numbers: the ``alibabacloud-dysmsapi20170525`` SDK against a local HTTP server
that answers Aliyun's JSON, the router (+86 → Aliyun, others → Twilio), and Aliyun's HTTP push of
delivery reports (SmsReport) and answers (SmsUp) into the real cloud, token-checked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cloud_harness import EDGE_TOKEN, LADDER_AT_ONCE, NO_KEEPALIVE, RunningCloud, StartCloud, edge_event
from fake_providers import (
    PUBLIC_URL,
    SID,
    TOKEN,
    FakeAliyun,
    FakeTwilio,
    served,
    timeline,
    twilio_cloud,
    until_recorded,
)

from cloud.notify.aliyun import AliyunSmsNotifier, template_content
from cloud.notify.callbacks import ALIYUN_REPORT, ALIYUN_UP
from cloud.notify.port import NotifierError
from cloud.notify.router import RoutingNotifier
from cloud.notify.twilio import TwilioNotifier

EDGE_AUTH = {"Authorization": f"Bearer {EDGE_TOKEN}"}
CALLBACK_TOKEN = "aliyun-push-token-0123456789"
INTAKE = "/api/v1/intake/events"
ALIYUN = {
    "aliyun_access_key_id": "LTAI5tTestKeyId0000000000",
    "aliyun_access_key_secret": "test-access-key-secret-0000000000",
    "aliyun_sign_name": "安心",
    "aliyun_template_code": "SMS_465920001",
    "aliyun_callback_token": CALLBACK_TOKEN,
}


def aliyun_notifier(url: str) -> AliyunSmsNotifier:
    return AliyunSmsNotifier(
        access_key_id=ALIYUN["aliyun_access_key_id"],
        access_key_secret=ALIYUN["aliyun_access_key_secret"],
        sign_name="安心",
        template_code="SMS_465920001",
        endpoint=url,
    )


def test_the_template_carries_the_text_without_our_tag() -> None:
    assert template_content("【安心】您的家人王**的助老卡…") == "您的家人王**的助老卡…"
    assert template_content("【演练】【安心】测试") == "【演练】测试"
    assert template_content("[Anxin] Alarm raised") == "Alarm raised"


async def test_send_sms_speaks_aliyuns_sendsms() -> None:
    fake = FakeAliyun()
    async with served(fake.app()) as url:
        notifier = aliyun_notifier(url)
        biz_id = await notifier.send_sms(to="+8613800001234", body="【安心】您的家人王**的助老卡已发出警报。")
        await notifier.aclose()
    sent = fake.seen[0]
    assert biz_id == sent.biz_id
    params = sent.params
    assert sent.headers["x-acs-action"] == "SendSms" and sent.headers["x-acs-version"] == "2017-05-25"
    assert params["PhoneNumbers"] == "13800001234"
    assert params["SignName"] == "安心" and params["TemplateCode"] == "SMS_465920001"
    assert json.loads(params["TemplateParam"]) == {"content": "您的家人王**的助老卡已发出警报。"}
    credential = f"Credential={ALIYUN['aliyun_access_key_id']},"
    assert credential in sent.headers["authorization"], "signed with the access key (ACS3-HMAC-SHA256)"


@pytest.mark.parametrize(
    ("code", "retryable"), [("isv.MOBILE_NUMBER_ILLEGAL", False), ("isv.BUSINESS_LIMIT_CONTROL", True)]
)
async def test_aliyun_business_errors_become_notifier_errors(code: str, retryable: bool) -> None:
    fake = FakeAliyun(answer_code=[code])
    async with served(fake.app()) as url:
        notifier = aliyun_notifier(url)
        with pytest.raises(NotifierError) as info:
            await notifier.send_sms(to="+8613800001234", body="x")
    assert info.value.retryable is retryable
    assert code in str(info.value)


async def test_plus_86_goes_to_aliyun_and_other_numbers_to_twilio() -> None:
    aliyun, twilio = FakeAliyun(), FakeTwilio(SID, TOKEN)
    async with served(aliyun.app()) as aliyun_url, served(twilio.app()) as twilio_url:
        twilio_notifier = TwilioNotifier(
            account_sid=SID,
            auth_token=TOKEN,
            sender="+15005550006",
            public_url=PUBLIC_URL,
            base_url=twilio_url,
        )
        router = RoutingNotifier(default=twilio_notifier, sms_routes={"+86": aliyun_notifier(aliyun_url)})
        try:
            mainland = await router.send_sms(to="+8613800001234", body="【安心】测试")
            london = await router.send_sms(to="+447700900123", body="[Anxin] test")
            call = await router.call(to="+8613800001234", text="这里是安心平台")
        finally:
            await router.aclose()
    assert [r.biz_id for r in aliyun.seen] == [mainland]
    assert [(r.kind, r.sid, r.form["To"]) for r in twilio.seen] == [
        ("message", london, "+447700900123"),
        ("call", call, "+8613800001234"),  # Aliyun has no voice here: calls go to Twilio
    ]


# ---- in the running cloud ------------------------------------------------------------------------


@dataclass
class World:
    cloud: RunningCloud
    operator: httpx.AsyncClient
    edge: httpx.AsyncClient
    aliyun: FakeAliyun
    twilio: FakeTwilio
    subject: dict[str, Any]
    guardians: list[dict[str, Any]]

    async def push(
        self, path: str, items: list[dict[str, Any]], token: str = CALLBACK_TOKEN
    ) -> httpx.Response:
        async with self.cloud.client() as client:
            return await client.post(path, params={"token": token}, json=items)

    async def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        return await timeline(self.operator, incident_id)


@pytest.fixture
async def world(start_cloud: StartCloud) -> AsyncIterator[World]:
    aliyun, twilio = FakeAliyun(), FakeTwilio(SID, TOKEN)
    async with (
        served(aliyun.app()) as aliyun_url,
        served(twilio.app()) as twilio_url,
        start_cloud(
            **twilio_cloud(
                twilio_url,
                twilio_from="+15005550006",
                aliyun_endpoint=aliyun_url,
                escalation_policies=LADDER_AT_ONCE,
                **ALIYUN,
            )
        ) as cloud,
        cloud.operator_client(limits=NO_KEEPALIVE) as operator,
        cloud.client(limits=NO_KEEPALIVE, headers=EDGE_AUTH) as edge,
    ):
        subject = (await operator.get("/api/v1/subjects", params={"limit": 1})).json()[0]
        guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
        assert len(guardians) >= 2 and all(g["phone"].startswith("+86") for g in guardians)
        yield World(cloud, operator, edge, aliyun, twilio, subject, guardians)


def report(biz_id: str, phone: str, *, success: bool, err_code: str) -> dict[str, Any]:
    return {
        "phone_number": phone.removeprefix("+86"),
        "send_time": "2026-12-01 20:00:00",
        "report_time": "2026-12-01 20:00:05",
        "success": success,
        "err_code": err_code,
        "err_msg": "用户接收成功" if success else "失败",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "",
    }


async def test_the_ladder_texts_mainland_guardians_through_aliyun_and_hears_back(world: World) -> None:
    response = await world.edge.post(INTAKE, json=edge_event(world.subject["device_ids"][0], 1))
    incident_id = int(response.json()["incident_id"])
    first = await world.aliyun.next()
    await until_recorded(world.cloud, first.biz_id)
    assert first.params["PhoneNumbers"] == world.guardians[0]["phone"].removeprefix("+86")
    assert "**" in json.loads(first.params["TemplateParam"])["content"]

    forged = await world.push(
        ALIYUN_REPORT,
        [report(first.biz_id, world.guardians[0]["phone"], success=False, err_code="MOBILE_NOT_ON_SERVICE")],
        token="not-the-token-0000000000",
    )
    assert forged.status_code == 403
    assert (await world.push(ALIYUN_REPORT, [], token="")).status_code == 403

    undelivered = report(
        first.biz_id, world.guardians[0]["phone"], success=False, err_code="MOBILE_NOT_ON_SERVICE"
    )
    answered = await world.push(ALIYUN_REPORT, [undelivered])
    assert answered.status_code == 200 and answered.json() == {"code": 0, "msg": "成功"}
    second = await world.aliyun.next()  # undelivered: the ladder moves on to the next guardian
    assert second.params["PhoneNumbers"] == world.guardians[1]["phone"].removeprefix("+86")

    up = {
        "phone_number": world.guardians[1]["phone"].removeprefix("+86"),
        "send_time": "2026-12-01 20:01:00",
        "content": "1",
        "sign_name": "安心",
        "dest_code": "1234",
        "sequence_id": 1234567890,
    }
    assert (await world.push(ALIYUN_UP, [up], token="wrong-token-00000000000")).status_code == 403
    assert (await world.push(ALIYUN_UP, [up])).json() == {"code": 0, "msg": "成功"}
    assert (await world.push(ALIYUN_UP, [up])).status_code == 200  # pushed twice: handled once
    confirmation = await world.aliyun.next()  # the short answer goes back the same way
    assert "已收到" in json.loads(confirmation.params["TemplateParam"])["content"]

    timeline = await world.timeline(incident_id)
    kinds = [e["type"] for e in timeline]
    assert kinds.count("guardian_acknowledged") == 1
    assert "escalation_stopped" in kinds
    status = next(e for e in timeline if e["type"] == "sms_status")
    assert (
        status["data"]["status"] == "undelivered" and status["data"]["error_code"] == "MOBILE_NOT_ON_SERVICE"
    )
    assert world.twilio.seen == [], "no mainland SMS went through Twilio"


async def test_aliyun_callbacks_do_not_exist_without_aliyun(start_cloud: StartCloud) -> None:
    async with start_cloud() as cloud, cloud.client() as client:
        response = await client.post(ALIYUN_REPORT, params={"token": CALLBACK_TOKEN}, json=[])
    assert response.status_code == 404
