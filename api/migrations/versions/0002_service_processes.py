"""service processes (identity, heartbeat) and the owner of a running job

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_processes",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("machine", sa.String(length=100), nullable=False),
        sa.Column("pid_started", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_processes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_processes_heartbeat_at"), ["heartbeat_at"], unique=False
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_owner"))
        batch_op.drop_column("owner")
    with op.batch_alter_table("service_processes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_processes_heartbeat_at"))
    op.drop_table("service_processes")
