"""Twilio webhooks of click-to-call (signature-checked; the query names incident, target and operator,
and Twilio's signature covers it, so it cannot be forged).

``POST /api/v1/notify/twilio/bridge``: the operator answered their phone; TwiML dials the target with the
center's caller id. ``/bridge/dialed`` (``<Dial action>``): how the target leg ended and how long it
lasted. ``/bridge/status``: the operator's own leg; when it was never answered the target was not
dialled, and that is the outcome. Each outcome goes on the incident's timeline.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from cloud.deps import StateDep
from cloud.errors import InvalidInput, NotFound
from cloud.inbound.flow import announce
from cloud.inbound.webhooks import NotifyMetricsDep, SignedForm, twiml_of
from cloud.incidents.models import Incident
from cloud.notify.callbacks import BRIDGE, BRIDGE_DIALED, BRIDGE_STATUS, TwilioPaths
from cloud.notify.templates import voice_prompt
from cloud.response import calls
from cloud.state import CloudState

log = logging.getLogger(__name__)
router = APIRouter(tags=["notify"])

DIAL_TIMEOUT_S = 30


def _ref(request: Request) -> tuple[int, str, str]:
    query = request.query_params
    incident, target, by = query.get("incident", ""), query.get("target", ""), query.get("by", "")
    if not incident.isdigit() or not target.startswith("phone:") or not by:
        raise InvalidInput("incident, target and by are required", field="query")
    return int(incident), target, by


def _caller_id(state: CloudState) -> str:
    settings = state.settings
    return settings.twilio_caller_id or (settings.twilio_from if settings.twilio_from.startswith("+") else "")


@router.post(BRIDGE, response_class=Response)
async def bridge_script(request: Request, form: SignedForm, state: StateDep) -> Response:
    """The operator picked up: dial the target (the full number goes to Twilio only)."""
    incident_id, target, _by = _ref(request)
    async with state.db.reads() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id}", field="incident")
        phone = (await calls.target_of(session=session, incident=incident, field=target)).phone
    del form
    answer = VoiceResponse()
    text, language = voice_prompt("connecting", state.settings.locale)
    answer.say(text, language=language)
    dial = answer.dial(
        caller_id=_caller_id(state),
        action=TwilioPaths(state.settings.public_url).bridge_dialed + "?" + request.url.query,
        method="POST",
        timeout=DIAL_TIMEOUT_S,
    )
    dial.number(phone)
    return twiml_of(answer)


async def _outcome(
    state: CloudState, request: Request, *, call_id: str, status: str, duration: str, leg: str
) -> None:
    incident_id, target, by = _ref(request)
    outcome = calls.OUTCOME_OF.get(status.strip().lower())
    if outcome is None:
        return
    async with state.db.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return
        recorded = await calls.record_outcome(
            session,
            incident=incident,
            field=target,
            by=by,
            call_id=call_id[:64],
            outcome=outcome,
            duration_s=int(duration) if duration.isdigit() else None,
            leg=leg,
            now_ms=state.now_ms(),
        )
        await session.commit()
    if not recorded:  # Twilio repeated the callback
        return
    log.info("call.outcome incident=%d leg=%s outcome=%s", incident_id, leg, outcome.value)
    await announce(state, incident_id)


@router.post(BRIDGE_DIALED, response_class=Response)
async def bridge_dialed(request: Request, form: SignedForm, state: StateDep) -> Response:
    """How the target leg ended (``DialCallStatus``, ``DialCallDuration``)."""
    await _outcome(
        state,
        request,
        call_id=form.get("DialCallSid") or form.get("CallSid", ""),
        status=form.get("DialCallStatus", ""),
        duration=form.get("DialCallDuration", ""),
        leg="target",
    )
    answer = VoiceResponse()
    answer.hangup()
    return twiml_of(answer)


@router.post(BRIDGE_STATUS, status_code=204, response_class=Response)
async def bridge_status(
    request: Request, form: SignedForm, state: StateDep, metrics: NotifyMetricsDep
) -> Response:
    """The operator's leg ended. Answered legs are reported by ``/bridge/dialed``; this one reports the
    operator's phone not answering (so the target was never dialled)."""
    status = form.get("CallStatus", "").strip().lower()
    if status in ("completed", "in-progress", "queued", "initiated", "ringing", ""):
        metrics.status_callbacks.labels("untracked").inc()
        return Response(status_code=204)
    call_id = form.get("CallSid", "")
    await _outcome(state, request, call_id=call_id, status=status, duration="", leg="operator")
    return Response(status_code=204)
