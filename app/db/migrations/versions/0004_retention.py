"""carts.erased_at: when retention erased a cart's personal data

Revision ID: 0004_retention
Revises: 0003_shopify
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_retention"
down_revision = "0003_shopify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.drop_column("erased_at")
