"""Retention: indexes for the purge queries; envelope cursors are never reused on SQLite.

Revision ID: 0002
Revises: 0001

`dropbox purge` selects envelopes by `day` and reporters by `last_active_day`
every night, hence the two indexes. The rebuild of `envelopes` matters more:
SQLite without AUTOINCREMENT gives a new row `max(seq) + 1`, so after the
newest envelope is deleted (by a responder, or by the purge) the next report
would reuse its `seq`, a number the responders' cursor has already passed, and
they would never see that report. With AUTOINCREMENT SQLite remembers the
highest `seq` ever handed out (in `sqlite_sequence`). PostgreSQL sequences never
go back, so there only the indexes are added.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The copy keeps every seq; sqlite_sequence starts at the highest one present.
        with op.batch_alter_table(
            "envelopes", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    op.create_index("ix_envelopes_day", "envelopes", ["day"])
    op.create_index("ix_reporters_last_active_day", "reporters", ["last_active_day"])


def downgrade() -> None:
    op.drop_index("ix_reporters_last_active_day", table_name="reporters")
    op.drop_index("ix_envelopes_day", table_name="envelopes")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "envelopes", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
