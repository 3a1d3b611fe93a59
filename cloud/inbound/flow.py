"""One unit of work per inbound answer or status callback: handle, commit, tell the operators.

The Twilio webhooks and the dev phone page both come through here, so a developer's reply on
``/dev/phones`` takes exactly the path a guardian's real SMS takes.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from cloud.inbound import service as inbound
from cloud.inbound.delivery import DeliveryStatus
from cloud.inbound.service import DeliveryUpdate, ReplyOutcome
from cloud.incidents.models import Incident
from cloud.live.broadcast import announce_incident
from cloud.metrics import NotifyMetrics
from cloud.phones import mask_phone
from cloud.state import CloudState

log = logging.getLogger(__name__)


async def announce(state: CloudState, incident_id: int) -> None:
    async with state.db.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is not None:
            await announce_incident(session=session, hub=state.hub, incident=incident, created=False)


async def process_reply(
    state: CloudState,
    metrics: NotifyMetrics,
    *,
    provider_message_id: str,
    channel: str,
    from_phone: str,
    text: str,
) -> ReplyOutcome:
    for attempt in (1, 2):
        try:
            async with state.db.sessions() as session:
                outcome = await inbound.handle_reply(
                    session=session,
                    provider_message_id=provider_message_id,
                    channel=channel,
                    from_phone=from_phone,
                    text=text,
                    now_ms=state.now_ms(),
                )
                await session.commit()
            break
        except IntegrityError:  # the same message id handled concurrently: the retry sees it
            if attempt == 2:
                raise
    metrics.replies.labels("duplicate" if outcome.duplicate else outcome.result.value).inc()
    log.info(
        "guardian.reply channel=%s from=%s result=%s incident=%s duplicate=%s",
        channel,
        mask_phone(from_phone),
        outcome.result.value,
        outcome.incident_id,
        outcome.duplicate,
    )
    if outcome.incident_id is not None and not outcome.duplicate:
        await announce(state, outcome.incident_id)
        if outcome.effects:
            async with state.db.reads() as session:
                await outcome.effects.publish(
                    session=session, hub=state.hub, outbox_wakeup=state.outbox_wakeup
                )
            state.escalation_wakeup.set()
    return outcome


async def process_status(
    state: CloudState, metrics: NotifyMetrics, *, provider_id: str, reported: DeliveryStatus, error_code: str
) -> DeliveryUpdate | None:
    async with state.db.sessions() as session:
        update = await inbound.record_delivery(
            session=session,
            provider_id=provider_id,
            reported=reported,
            error_code=error_code,
            now_ms=state.now_ms(),
        )
        await session.commit()
    metrics.status_callbacks.labels("applied" if update is not None else "ignored").inc()
    if update is None:
        log.info("sms.status_ignored id=%s status=%s", provider_id, reported.value)
        return None
    log.log(
        logging.WARNING
        if update.status in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED)
        else logging.INFO,
        "sms.status notification=%d incident=%d status=%s error_code=%s",
        update.notification_id,
        update.incident_id,
        update.status.value,
        error_code or "-",
    )
    await announce(state, update.incident_id)
    if update.status in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
        state.escalation_wakeup.set()  # the guardian ladder moves on from a message that did not arrive
    return update
