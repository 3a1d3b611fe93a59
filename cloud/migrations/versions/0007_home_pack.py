"""smart service pack: a sensor names its hub and room

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("hub_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("room", sa.String(length=16), nullable=True))
        batch.create_index(batch.f("ix_devices_hub_id"), ["hub_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_index(batch.f("ix_devices_hub_id"))
        batch.drop_column("room")
        batch.drop_column("hub_id")
