"""sends.offer_code, sends.offer_ref: the single-use recovery code a reminder carried

Revision ID: 0009_send_offers
Revises: 0008_shopper_locks
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_send_offers"
down_revision = "0008_shopper_locks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("offer_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("offer_ref", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("offer_ref")
        batch.drop_column("offer_code")
