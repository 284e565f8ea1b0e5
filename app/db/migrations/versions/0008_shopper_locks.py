"""shopper_locks: one row per shopper, locked while a reminder to them is claimed

Revision ID: 0008_shopper_locks
Revises: 0007_tombstones
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_shopper_locks"
down_revision = "0007_tombstones"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopper_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopper", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_shopper_locks_store_id_stores"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopper_locks")),
        sa.UniqueConstraint("store_id", "shopper", name=op.f("uq_shopper_locks_store_id")),
    )


def downgrade() -> None:
    op.drop_table("shopper_locks")
