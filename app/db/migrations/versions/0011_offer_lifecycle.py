"""sends.offer_expires_at / offer_used_at / offer_removed_at, and offer_codes (a custom
store's code pool): a recovery code's life after the send; sends.bounced_at: the mail
provider reported the message bounced (per-step numbers)

Revision ID: 0011_offer_lifecycle
Revises: 0010_sms_channel
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_offer_lifecycle"
down_revision = "0010_sms_channel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("offer_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("offer_removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True))
    # The periodic sync looks for expired codes still on the platform.
    op.create_index("ix_sends_offer_expires_at", "sends", ["offer_expires_at"])
    op.create_table(
        "offer_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cart_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_offer_codes_store_id_stores"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"],
                                name=op.f("fk_offer_codes_cart_id_carts"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_codes")),
        sa.UniqueConstraint("store_id", "code", name=op.f("uq_offer_codes_store_id")),
    )
    op.create_index("ix_offer_codes_store_taken", "offer_codes", ["store_id", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_offer_codes_store_taken", table_name="offer_codes")
    op.drop_table("offer_codes")
    op.drop_index("ix_sends_offer_expires_at", table_name="sends")
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("bounced_at")
        batch.drop_column("offer_removed_at")
        batch.drop_column("offer_used_at")
        batch.drop_column("offer_expires_at")
