"""re-planned versions of a plan (issue 16): root and parent plan, number, time, events, diff

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("root_plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("parent_plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("replan_at", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("events", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("diff_summary", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.create_index(batch_op.f("ix_plans_root_plan_id"), ["root_plan_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_plans_root_plan_id_plans", "plans", ["root_plan_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_plans_parent_plan_id_plans", "plans", ["parent_plan_id"], ["id"]
        )
        batch_op.create_unique_constraint("uq_plans_root_version", ["root_plan_id", "version"])


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_constraint("uq_plans_root_version", type_="unique")
        batch_op.drop_constraint("fk_plans_parent_plan_id_plans", type_="foreignkey")
        batch_op.drop_constraint("fk_plans_root_plan_id_plans", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_plans_root_plan_id"))
        for name in ("diff_summary", "events", "replan_at", "version", "parent_plan_id"):
            batch_op.drop_column(name)
        batch_op.drop_column("root_plan_id")
