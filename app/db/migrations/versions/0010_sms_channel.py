"""SMS as a second channel: the cart's texting number and SMS consent, each send's channel

Revision ID: 0010_sms_channel
Revises: 0009_send_offers
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_sms_channel"
down_revision = "0009_send_offers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("sms_consent", sa.Boolean(), nullable=True))
        batch.create_index("ix_carts_phone", ["phone"])
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=5), nullable=False,
                                   server_default="email"))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("carts") as batch:
        batch.drop_index("ix_carts_phone")
        batch.drop_column("sms_consent")
        batch.drop_column("phone")
