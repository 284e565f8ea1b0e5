"""scheduler heartbeat; indexes for the scheduler's change feed and gate 3

Revision ID: 0005_scale
Revises: 0004_retention
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_scale"
down_revision = "0004_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_heartbeat")),
    )
    op.create_index("ix_carts_updated_at", "carts", ["updated_at"])
    # Gate 3 (do-not-disturb) looks sends up by case-folded address.
    op.create_index("ix_sends_store_lower_address", "sends",
                    ["store_id", sa.text("lower(address)"), "created_at"])


def downgrade() -> None:
    op.drop_index("ix_sends_store_lower_address", table_name="sends")
    op.drop_index("ix_carts_updated_at", table_name="carts")
    op.drop_table("scheduler_heartbeat")
