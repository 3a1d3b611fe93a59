"""Edge command queue: store downlinks for an edge, list the unacknowledged, record acks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands.models import CommandRecord
from cloud.errors import NotFound
from cloud.timeline.entries import EDGE_ACTOR, add_entry
from contracts.downlink import DownlinkMessage
from contracts.intake import EdgeCommand


async def queue_command(
    *,
    session: AsyncSession,
    edge_id: str,
    device_id: str,
    downlink: DownlinkMessage,
    incident_id: int | None,
    now_ms: int,
) -> CommandRecord:
    record = CommandRecord(
        edge_id=edge_id,
        device_id=device_id,
        incident_id=incident_id,
        downlink=downlink.model_dump(mode="json", exclude_none=True),
        created_at=now_ms,
    )
    session.add(record)
    await session.flush()
    return record


def to_contract(record: CommandRecord) -> EdgeCommand:
    return EdgeCommand.model_validate(
        {
            "id": record.id,
            "edge_id": record.edge_id,
            "device_id": record.device_id,
            "downlink": record.downlink,
        }
    )


async def unacked_commands(
    *, session: AsyncSession, edge_id: str, after_id: int = 0, limit: int = 200
) -> list[EdgeCommand]:
    rows = await session.scalars(
        select(CommandRecord)
        .where(
            CommandRecord.edge_id == edge_id, CommandRecord.acked_at.is_(None), CommandRecord.id > after_id
        )
        .order_by(CommandRecord.id)
        .limit(limit)
    )
    return [to_contract(r) for r in rows]


async def ack_command(*, session: AsyncSession, edge_id: str, command_id: int, now_ms: int) -> bool:
    """Mark a command delivered (and note it on the incident's timeline); True the first time,
    False when it was already acknowledged."""
    record = await session.get(CommandRecord, command_id)
    if record is None or record.edge_id != edge_id:
        raise NotFound(f"no command {command_id} for this edge", field="command_id")
    if record.acked_at is not None:
        return False
    record.acked_at = now_ms
    if record.incident_id is not None:
        add_entry(
            session,
            record.incident_id,
            at=now_ms,
            type_="command_delivered",
            actor=EDGE_ACTOR,
            command_id=record.id,
            downlink=record.downlink.get("type"),
        )
    await session.flush()
    return True
