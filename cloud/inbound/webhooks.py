"""Twilio webhooks: inbound SMS answers and delivery status callbacks (the voice and click-to-call
webhooks, :mod:`cloud.inbound.voice` and :mod:`cloud.inbound.bridge`, use the same signature check).

``POST /api/v1/notify/twilio/inbound`` and ``POST /api/v1/notify/twilio/status`` take Twilio's
form-encoded requests. Each must carry a valid ``X-Twilio-Signature`` for the URL Twilio called
(``ANXIN_CLOUD_PUBLIC_URL`` + path) and the auth token, else 403. They exist only with the Twilio
notifier (404 otherwise). Bad fields are answered 422 and counted; nothing here can stop the service.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml import TwiML
from twilio.twiml.messaging_response import MessagingResponse

from cloud.deps import StateDep
from cloud.errors import Forbidden, InvalidInput, NotFound
from cloud.inbound import delivery, replies
from cloud.inbound.flow import process_reply, process_status
from cloud.metrics import NotifyMetrics
from cloud.notify.metrics import notify_metrics
from cloud.phones import E164_RE
from cloud.state import CloudState

router = APIRouter(prefix="/api/v1/notify/twilio", tags=["notify"])

FORM_MAX_BYTES = 32_768  # a 1,600-character Chinese SMS is ~15 kB form-encoded
FORM_MAX_FIELDS = 64
SIGNATURE_HEADER = "X-Twilio-Signature"
MESSAGE_SID_RE = re.compile(r"^[A-Z]{2}[0-9a-zA-Z]{32}$")
ERROR_CODE_RE = re.compile(r"^\d{1,8}$")
TWIML = "application/xml; charset=utf-8"

NotifyMetricsDep = Annotated[NotifyMetrics, Depends(notify_metrics)]


async def read_body(request: Request, limit: int = FORM_MAX_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise InvalidInput("form body too large", field="body")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InvalidInput("form body too large", field="body")
    return bytes(body)


def public_url_of(state: CloudState, request: Request) -> str:
    """The URL Twilio called, as configured: the signature covers it (not the proxy's inner URL)."""
    url = state.settings.public_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def signed_form(request: Request, state: StateDep, metrics: NotifyMetricsDep) -> dict[str, str]:
    """The webhook's form fields, once its signature checks out."""
    token = state.settings.twilio_auth_token.get_secret_value()
    if state.settings.notifier != "twilio" or not token:
        raise NotFound("Twilio webhooks are served only with the Twilio notifier")
    body = await read_body(request)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=FORM_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        metrics.webhooks_rejected.labels("malformed").inc()
        raise InvalidInput(
            "body must be a UTF-8 form (application/x-www-form-urlencoded)", field="body"
        ) from exc
    params = ImmutableMultiDict(pairs)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not RequestValidator(token).validate(
        public_url_of(state, request), params, signature
    ):
        metrics.webhooks_rejected.labels("signature").inc()
        raise Forbidden("invalid Twilio signature", field=SIGNATURE_HEADER)
    return {key: params[key] for key in params}


SignedForm = Annotated[dict[str, str], Depends(signed_form)]


def _message_sid(form: dict[str, str], metrics: NotifyMetrics) -> str:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not MESSAGE_SID_RE.match(sid):
        metrics.webhooks_rejected.labels("invalid_field").inc()
        raise InvalidInput("MessageSid missing or malformed", field="MessageSid")
    return sid


def twiml_of(answer: TwiML) -> Response:
    return Response(content=answer.to_xml(), media_type=TWIML)


def twiml(text: str) -> Response:
    answer = MessagingResponse()
    answer.message(text)
    return twiml_of(answer)


@router.post("/inbound", response_class=Response)
async def inbound_sms(form: SignedForm, state: StateDep, metrics: NotifyMetricsDep) -> Response:
    """A guardian answered an alert SMS. Answers TwiML with a short confirmation."""
    sid = _message_sid(form, metrics)
    sender = form.get("From", "")
    if not E164_RE.match(sender):  # a short code or alphanumeric sender: no guardian has it
        metrics.replies.labels(replies.ReplyResult.UNKNOWN_SENDER.value).inc()
        return twiml(replies.answer_text(replies.ReplyResult.UNKNOWN_SENDER, None))
    outcome = await process_reply(
        state,
        metrics,
        provider_message_id=sid,
        channel="twilio",
        from_phone=sender,
        text=form.get("Body", ""),
    )
    return twiml(replies.answer_text(outcome.result, outcome.language))


@router.post("/status", status_code=204, response_class=Response)
async def status_callback(form: SignedForm, state: StateDep, metrics: NotifyMetricsDep) -> Response:
    """Twilio reports what became of a sent SMS (queued, sent, delivered, undelivered, failed)."""
    sid = _message_sid(form, metrics)
    reported = delivery.parse_status(form.get("MessageStatus") or form.get("SmsStatus") or "")
    if reported is None:  # e.g. "read" or "receiving": nothing we track; 204 so Twilio does not retry
        metrics.status_callbacks.labels("untracked").inc()
        return Response(status_code=204)
    error_code = form.get("ErrorCode", "")
    if error_code and not ERROR_CODE_RE.match(error_code):
        error_code = "invalid"
    await process_status(state, metrics, provider_id=sid, reported=reported, error_code=error_code)
    return Response(status_code=204)
