"""Aliyun SMS HTTP push (消息回执 HTTP 批量推送): delivery reports (SmsReport) and answers (SmsUp).

Aliyun posts a JSON array to the URL configured in its console; it signs nothing, so that URL carries
our shared secret: ``…/report?token=<ANXIN_CLOUD_ALIYUN_CALLBACK_TOKEN>`` (compared in constant time;
wrong or missing → 403). Served only when Aliyun SMS is configured (404 otherwise). Each item is handled
on its own: a bad one is counted and skipped. We answer ``{"code": 0, "msg": "成功"}`` so Aliyun does
not push again.

SmsReport item: ``{"phone_number": "13800001234", "send_time": "…", "report_time": "…",
"success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
"biz_id": "…", "out_id": "…"}``. SmsUp item: ``{"phone_number": "13800001234", "send_time": "…",
"content": "1", "sign_name": "安心", "dest_code": "…", "sequence_id": 1234567890}``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from cloud.deps import StateDep
from cloud.errors import Forbidden, InvalidInput, NotFound
from cloud.inbound import delivery, replies
from cloud.inbound.flow import process_reply, process_status
from cloud.inbound.webhooks import FORM_MAX_BYTES, NotifyMetricsDep, read_body
from cloud.notify.callbacks import ALIYUN_REPORT, ALIYUN_UP
from cloud.notify.port import NotifierError
from cloud.phones import E164_RE

log = logging.getLogger(__name__)
router = APIRouter(tags=["notify"])

RECEIVED = {"code": 0, "msg": "成功"}
MAX_ITEMS = 100
ANSWER_TIMEOUT_S = 5.0


async def pushed_items(request: Request, state: StateDep, metrics: NotifyMetricsDep) -> list[dict[str, Any]]:
    """The pushed array, once the shared token checks out."""
    settings = state.settings
    token = settings.aliyun_callback_token.get_secret_value()
    if not settings.aliyun_configured or not token or settings.notifier == "console":
        raise NotFound("Aliyun SMS callbacks are served only when Aliyun SMS is configured")
    given = request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        metrics.webhooks_rejected.labels("signature").inc()
        raise Forbidden("invalid callback token", field="token")
    body = await read_body(request, FORM_MAX_BYTES * 4)
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        metrics.webhooks_rejected.labels("malformed").inc()
        raise InvalidInput("body must be a JSON array", field="body") from exc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        metrics.webhooks_rejected.labels("malformed").inc()
        raise InvalidInput(f"body must be a JSON array of at most {MAX_ITEMS} items", field="body")
    return [item for item in items if isinstance(item, dict)]


PushedItems = Annotated[list[dict[str, Any]], Depends(pushed_items)]


def e164_of(phone_number: object) -> str | None:
    """Aliyun names mainland numbers without the country code (``13800001234``)."""
    digits = str(phone_number or "").strip()
    if digits.startswith("+"):
        number = digits
    elif digits.startswith("86") and len(digits) == 13:
        number = "+" + digits
    else:
        number = "+86" + digits
    return number if E164_RE.match(number) else None


@router.post(ALIYUN_REPORT)
async def sms_report(items: PushedItems, state: StateDep, metrics: NotifyMetricsDep) -> JSONResponse:
    """Delivery reports: ``success`` true = delivered; false = undelivered (the ladder moves on)."""
    for item in items:
        biz_id = item.get("biz_id")
        if not isinstance(biz_id, str) or not biz_id or len(biz_id) > 64:
            metrics.webhooks_rejected.labels("invalid_field").inc()
            continue
        success = item.get("success") in (True, "true", "True")
        error_code = str(item.get("err_code") or "")[:32]
        await process_status(
            state,
            metrics,
            provider_id=biz_id,
            reported=delivery.DeliveryStatus.DELIVERED if success else delivery.DeliveryStatus.UNDELIVERED,
            error_code="" if success else error_code,
        )
    return JSONResponse(RECEIVED)


@router.post(ALIYUN_UP)
async def sms_up(items: PushedItems, state: StateDep, metrics: NotifyMetricsDep) -> JSONResponse:
    """Answers: ``1`` / ``2`` / text, the same path as a Twilio inbound SMS; a short confirmation back."""
    for item in items:
        sender = e164_of(item.get("phone_number"))
        sequence = str(item.get("sequence_id") or "")
        if sender is None or not sequence.isdigit():
            metrics.webhooks_rejected.labels("invalid_field").inc()
            continue
        outcome = await process_reply(
            state,
            metrics,
            provider_message_id=f"aliyun-up-{sequence}",
            channel="aliyun",
            from_phone=sender,
            text=str(item.get("content") or ""),
        )
        if outcome.duplicate:
            continue
        try:  # the answer is a courtesy; the reply is stored
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                await state.notifier.send_sms(
                    to=sender, body=replies.answer_text(outcome.result, outcome.language)
                )
        except (NotifierError, TimeoutError) as exc:
            log.warning("guardian.answer_failed channel=aliyun error=%s", type(exc).__name__)
    return JSONResponse(RECEIVED)
