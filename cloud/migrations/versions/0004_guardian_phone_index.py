"""index guardians by phone number: inbound SMS replies look the sender up by number

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_guardians_phone"), "guardians", ["phone"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_guardians_phone"), table_name="guardians")
