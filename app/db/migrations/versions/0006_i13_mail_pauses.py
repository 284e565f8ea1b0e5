"""mail circuit breaker: mail_pauses (issue 13)

Revision ID: 0006_i13_mail_pauses
Revises: 0005_scale
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_i13_mail_pauses"
down_revision = "0005_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_probes", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_pauses")),
    )
    op.create_index("uq_mail_pauses_open_scope", "mail_pauses", ["scope"], unique=True,
                    sqlite_where=sa.text("closed_at IS NULL"),
                    postgresql_where=sa.text("closed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_mail_pauses_open_scope", table_name="mail_pauses")
    op.drop_table("mail_pauses")
