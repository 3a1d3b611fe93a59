"""alarm identity: boot beside seq, unassigned incidents (no subject), room for gateway-scoped event keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds ``incidents`` to change a column, and other tables point at it: its documented
    procedure turns foreign keys off around the rebuild (only possible outside a transaction, so the
    migrations so far are committed first), checks them, and turns them on again."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("COMMIT")
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("BEGIN IMMEDIATE")
    yield
    if sqlite:
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration 0005 broke {len(broken)} foreign keys")
        op.execute("COMMIT")
        op.execute("PRAGMA foreign_keys = ON")
        op.execute("BEGIN IMMEDIATE")


def upgrade() -> None:
    with _foreign_keys_off():
        _upgrade()


def _upgrade() -> None:
    with op.batch_alter_table("edge_events", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=140), type_=sa.String(length=220))
        batch_op.add_column(sa.Column("boot", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("origin_boot", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("unassigned_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with _foreign_keys_off():
        _downgrade()


def _downgrade() -> None:
    # Unassigned incidents (no person) and their gateway-scoped events cannot exist in the older schema.
    unassigned = "(SELECT id FROM incidents WHERE subject_id IS NULL)"
    op.execute(f"DELETE FROM incident_timeline WHERE incident_id IN {unassigned}")
    op.execute(f"DELETE FROM edge_events WHERE incident_id IN {unassigned} OR key LIKE '%/%'")
    op.execute(f"UPDATE edge_commands SET incident_id = NULL WHERE incident_id IN {unassigned}")
    op.execute("DELETE FROM incidents WHERE subject_id IS NULL")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("unassigned_reason")
        batch_op.drop_column("origin_boot")
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("edge_events", schema=None) as batch_op:
        batch_op.drop_column("boot")
        batch_op.alter_column("key", existing_type=sa.String(length=220), type_=sa.String(length=140))
