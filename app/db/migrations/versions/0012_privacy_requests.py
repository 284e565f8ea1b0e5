"""privacy_requests: each erasure carried out (Shopify customers/redact and shop/redact, the
merchant's own) with when, status and counts, for the admin's privacy page

Revision ID: 0012_privacy_requests
Revises: 0011_offer_lifecycle
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_privacy_requests"
down_revision = "0011_offer_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        # No foreign key: the record of a store's own erasure outlives the store.
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index("ix_privacy_requests_store_received", "privacy_requests",
                    ["store_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_privacy_requests_store_received", table_name="privacy_requests")
    op.drop_table("privacy_requests")
