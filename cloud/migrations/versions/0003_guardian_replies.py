"""guardian replies: inbound SMS answers, delivery status of notifications, exact event kinds, SLA answer time

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_event_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("guardian_answered_at", sa.BigInteger(), nullable=True))
    # Existing incidents: the kinds come from the stored edge events.
    op.execute(
        "UPDATE incidents SET origin_kind = "
        "(SELECT e.kind FROM edge_events e WHERE e.key = incidents.origin_key)"
    )
    op.execute(
        "UPDATE incidents SET last_event_kind = (SELECT e.kind FROM edge_events e "
        "WHERE e.incident_id = incidents.id ORDER BY e.id DESC LIMIT 1)"
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_updated_at", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_notifications_provider_id"), ["provider_id"], unique=False)
    op.create_table(
        "guardian_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["guardian_id"], ["guardians.id"], name=op.f("fk_guardian_replies_guardian_id_guardians")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_guardian_replies_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardian_replies")),
        sa.UniqueConstraint("provider_message_id", name=op.f("uq_guardian_replies_provider_message_id")),
    )
    with op.batch_alter_table("guardian_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guardian_replies_guardian_id"), ["guardian_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guardian_replies_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("guardian_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardian_replies_incident_id"))
        batch_op.drop_index(batch_op.f("ix_guardian_replies_guardian_id"))
    op.drop_table("guardian_replies")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_provider_id"))
        batch_op.drop_column("delivery_updated_at")
        batch_op.drop_column("delivery_status")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("guardian_answered_at")
        batch_op.drop_column("last_event_kind")
        batch_op.drop_column("origin_kind")
