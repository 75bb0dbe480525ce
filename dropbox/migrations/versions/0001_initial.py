"""Initial schema: reporters, envelopes, api_nonces.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reporters",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("login_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("reply_key", sa.String(128), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("last_active_day", sa.Date(), nullable=False),
    )
    op.create_table(
        "envelopes",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column(
            "reporter_id",
            sa.String(32),
            sa.ForeignKey("reporters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=True),
        sa.Column("responder", sa.String(32), nullable=True),
    )
    op.create_index("ix_envelopes_reporter_id", "envelopes", ["reporter_id"])
    op.create_table(
        "api_nonces",
        sa.Column("nonce", sa.String(128), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_nonces")
    op.drop_index("ix_envelopes_reporter_id", table_name="envelopes")
    op.drop_table("envelopes")
    op.drop_table("reporters")
