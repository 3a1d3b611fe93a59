"""Twilio voice webhooks of the guardian ladder's calls, signature-checked like the SMS webhooks.

``POST /api/v1/notify/twilio/voice``: the call was answered; we answer TwiML that says the masked alarm
text in the contact's language inside ``<Gather numDigits="1">``. ``/voice/gather``: the key pressed —
``1`` ("I'm going") and ``2`` ("can't — next contact") take the path of the SMS replies ``1`` / ``2``.
``/voice/status``: how the call ended; busy, no-answer, failed or ended without a key moves the ladder on,
like an undelivered SMS.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from twilio.twiml.voice_response import VoiceResponse

from cloud.deps import StateDep
from cloud.errors import InvalidInput
from cloud.inbound import delivery
from cloud.inbound import service as inbound
from cloud.inbound.flow import process_reply, process_status
from cloud.inbound.webhooks import NotifyMetricsDep, SignedForm, twiml_of
from cloud.notify.callbacks import VOICE, VOICE_GATHER, VOICE_STATUS, TwilioPaths
from cloud.notify.templates import voice_prompt

log = logging.getLogger(__name__)
router = APIRouter(tags=["notify"])

KEY_TIMEOUT_S = 8
ANSWER_KEYS = {"1": "going", "2": "cannot"}


def _call_sid(form: dict[str, str], metrics: NotifyMetricsDep) -> str:
    sid = form.get("CallSid", "")
    if not (sid.startswith("CA") and len(sid) == 34 and sid.isalnum()):
        metrics.webhooks_rejected.labels("invalid_field").inc()
        raise InvalidInput("CallSid missing or malformed", field="CallSid")
    return sid


def _prompt(answer: VoiceResponse, key: str, language: str) -> None:
    text, lang = voice_prompt(key, language)
    answer.say(text, language=lang)


@router.post(VOICE, response_class=Response)
async def voice_script(form: SignedForm, state: StateDep, metrics: NotifyMetricsDep) -> Response:
    """The contact picked up: the alarm text, then one key (asked twice before the call ends)."""
    sid = _call_sid(form, metrics)
    async with state.db.reads() as session:
        note = await inbound.voice_note(session=session, call_sid=sid, to_phone=form.get("To", ""))
        script = (note.body, note.language) if note is not None else None
    answer = VoiceResponse()
    if script is None:  # not one of our ladder calls (or long gone): say so and hang up
        _prompt(answer, "gone", state.settings.locale)
        answer.hangup()
        return twiml_of(answer)
    body, language = script
    gather_url = TwilioPaths(state.settings.public_url).voice_gather
    gather = answer.gather(num_digits=1, action=gather_url, method="POST", timeout=KEY_TIMEOUT_S)
    gather.say(body, language=voice_prompt("again", language)[1])
    again = answer.gather(num_digits=1, action=gather_url, method="POST", timeout=KEY_TIMEOUT_S)
    _prompt(again, "again", language)
    _prompt(answer, "no_key", language)
    answer.hangup()
    return twiml_of(answer)


@router.post(VOICE_GATHER, response_class=Response)
async def voice_key(form: SignedForm, state: StateDep, metrics: NotifyMetricsDep) -> Response:
    """The key pressed: 1 = going (every pending step stops), 2 = cannot (the ladder moves on)."""
    sid = _call_sid(form, metrics)
    digits = form.get("Digits", "")
    async with state.db.sessions() as session:
        note = await inbound.voice_note(session=session, call_sid=sid, to_phone=form.get("To", ""))
        found = (note.to_phone, note.language, note.provider_id) if note is not None else None
    answer = VoiceResponse()
    if found is None:
        _prompt(answer, "gone", state.settings.locale)
        answer.hangup()
        return twiml_of(answer)
    phone, language, provider_id = found
    key = ANSWER_KEYS.get(digits)
    if key is None:  # any other key: ask again, once more
        gather = answer.gather(
            num_digits=1,
            action=TwilioPaths(state.settings.public_url).voice_gather,
            method="POST",
            timeout=KEY_TIMEOUT_S,
        )
        _prompt(gather, "again", language)
        _prompt(answer, "no_key", language)
        answer.hangup()
        return twiml_of(answer)
    if provider_id is not None:  # answered on the keypad: the call's end no longer moves the ladder
        await process_status(
            state, metrics, provider_id=provider_id, reported=delivery.DeliveryStatus.DELIVERED, error_code=""
        )
    await process_reply(
        state, metrics, provider_message_id=f"{sid}-key", channel="voice", from_phone=phone, text=digits
    )
    _prompt(answer, key, language)
    answer.hangup()
    return twiml_of(answer)


@router.post(VOICE_STATUS, status_code=204, response_class=Response)
async def voice_status(form: SignedForm, state: StateDep, metrics: NotifyMetricsDep) -> Response:
    """How a ladder call ended. Not answered on the keypad = the next contact or channel."""
    sid = _call_sid(form, metrics)
    call_status = form.get("CallStatus", "").strip().lower()
    reported = delivery.parse_call_status(call_status)
    if reported is None:
        metrics.status_callbacks.labels("untracked").inc()
        return Response(status_code=204)
    await process_status(state, metrics, provider_id=sid, reported=reported, error_code=call_status)
    return Response(status_code=204)
