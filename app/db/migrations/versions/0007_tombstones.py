"""erasure tombstones (keyed hashes) and each store's tombstone key

Revision ID: 0007_tombstones
Revises: 0006_i13_mail_pauses
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007_tombstones"
down_revision = "0006_i13_mail_pauses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("privacy_key", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    for (store_id,) in conn.execute(sa.text("SELECT id FROM stores")).all():
        conn.execute(sa.text("UPDATE stores SET privacy_key = :k WHERE id = :i"),
                     {"k": secrets.token_hex(32), "i": store_id})
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_tombstones_store_id_stores"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tombstones")),
        sa.UniqueConstraint("store_id", "kind", "digest", name=op.f("uq_tombstones_store_id")),
    )


def downgrade() -> None:
    op.drop_table("tombstones")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("privacy_key")
