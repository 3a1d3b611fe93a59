"""dispatch: staff accounts and sessions, escalations and timers, case workers, incident owner and
version, notification channel, response plans, reveal audit, drills

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:54:22.034673
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("all_streets", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_sessions_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "staff_streets",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_streets_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["streets.id"], name=op.f("fk_staff_streets_street_id_streets")
        ),
        sa.PrimaryKeyConstraint("staff_id", "street_id", name=op.f("pk_staff_streets")),
    )
    op.create_table(
        "case_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_case_workers_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_workers")),
    )
    with op.batch_alter_table("case_workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_workers_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_workers_phone"), ["phone"], unique=False)

    op.create_table(
        "response_plans",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_response_plans_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_response_plans")),
    )
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("started_by", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.device_id"], name=op.f("fk_drills_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_drills_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drills")),
    )
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drills_device_id"), ["device_id"], unique=False)

    op.create_table(
        "escalation_timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("fired_at", sa.BigInteger(), nullable=True),
        sa.Column("late_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_escalation_timers_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_timers")),
    )
    with op.batch_alter_table("escalation_timers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_timers_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_escalation_timers_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.BigInteger(), nullable=True),
        sa.Column("stopped_by", sa.String(length=64), nullable=True),
        sa.Column("ladder", sa.JSON(), nullable=True),
        sa.Column("ladder_index", sa.Integer(), nullable=False),
        sa.Column("ladder_status", sa.String(length=16), nullable=True),
        sa.Column("ladder_notification_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_escalations_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_escalations")),
    )
    op.create_table(
        "reveal_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_reveal_audit_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_reveal_audit_staff_id_staff")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_reveal_audit_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reveal_audit")),
    )
    with op.batch_alter_table("reveal_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reveal_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reveal_audit_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reveal_audit_subject_id"), ["subject_id"], unique=False)

    # plain ADD COLUMN (no batch table copy: other tables reference incidents)
    op.add_column("incidents", sa.Column("owner", sa.String(length=32), nullable=True))
    op.add_column("incidents", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("incidents", sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(op.f("ix_incidents_owner"), "incidents", ["owner"], unique=False)

    op.add_column(
        "notifications", sa.Column("channel", sa.String(length=8), server_default="sms", nullable=False)
    )
    op.add_column(
        "notifications", sa.Column("kind", sa.String(length=16), server_default="alert", nullable=False)
    )
    op.add_column("notifications", sa.Column("contact", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("contact")
        batch_op.drop_column("kind")
        batch_op.drop_column("channel")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_owner"))
        batch_op.drop_column("drill")
        batch_op.drop_column("version")
        batch_op.drop_column("owner")

    with op.batch_alter_table("reveal_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reveal_audit_subject_id"))
        batch_op.drop_index(batch_op.f("ix_reveal_audit_staff_id"))
        batch_op.drop_index(batch_op.f("ix_reveal_audit_at"))

    op.drop_table("reveal_audit")
    op.drop_table("escalations")
    with op.batch_alter_table("escalation_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_timers_state_due_at")
        batch_op.drop_index(batch_op.f("ix_escalation_timers_incident_id"))

    op.drop_table("escalation_timers")
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drills_device_id"))

    op.drop_table("drills")
    op.drop_table("response_plans")
    with op.batch_alter_table("case_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_workers_phone"))
        batch_op.drop_index(batch_op.f("ix_case_workers_community_id"))

    op.drop_table("case_workers")
    op.drop_table("staff_streets")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_staff_id"))

    op.drop_table("staff_sessions")
    op.drop_table("staff")
