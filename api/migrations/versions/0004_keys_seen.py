"""the latest key revocation each service process has applied to its cache of key verdicts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_processes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keys_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_processes", schema=None) as batch_op:
        batch_op.drop_column("keys_seen_at")
