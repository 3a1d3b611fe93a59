"""A district's broker as production runs it: a registry with provisioned devices, ``anxin broker sync``
writing the logins and ACL, and the real ``mosquitto`` with them (plain and TLS listeners)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from throwaway_ca import Certificates

from anxin.broker_sync import sync_broker_files
from broker.runner import MosquittoBroker
from cloud.db import open_database
from cloud.registry import service
from cloud.registry.schemas import DeviceIn, SubjectIn
from contracts.ids import DeviceKind

NOW_MS = 1_764_500_000_000
EDGE = "edge-xiqing-01"
GATEWAY_PASSWORD = "gateway-password-0123456789"
DEVICES = ("card-0001", "card-0002")


@dataclass
class District:
    broker: MosquittoBroker
    secrets: dict[str, str]  # device id -> the secret the registry gave it at provisioning
    db_url: str
    out_dir: Path
    certs: Certificates

    async def sync(self) -> None:
        await sync_broker_files(
            database_url=self.db_url, gateways={EDGE: GATEWAY_PASSWORD}, out_dir=self.out_dir
        )


async def provision(db_url: str, device_ids: tuple[str, ...]) -> dict[str, str]:
    """Register one elder with ``device_ids`` through the registry service; their secrets."""
    db = await open_database(db_url)
    try:
        async with db.sessions() as session:
            await service.seed_district(session=session)
            subject = await service.create_subject(
                session=session,
                data=SubjectIn(display_name="王秀英", birth_year=1940, community_id=1),
                now_ms=NOW_MS,
            )
            secrets = {}
            for device_id in device_ids:
                device = DeviceIn(
                    device_id=device_id, kind=DeviceKind.SOS_CARD, subject_id=subject.id, edge_id=EDGE
                )
                created = await service.create_device(session=session, data=device, now_ms=NOW_MS)
                secrets[device_id] = created.mqtt_secret
            await session.commit()
    finally:
        await db.close()
    return secrets
