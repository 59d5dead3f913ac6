"""Folded name keys (lookups insensitive to case and accents on every database); fee billing and settlement;
who recorded each fee schedule; Reply-To of mails about a mission; the relay an application came through

No batch operation: on SQLite a batch copies the table, which its foreign keys forbid for `association` (missions
point at it). New columns are NOT NULL with a server default, so ADD COLUMN works in place everywhere.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base
from models.text import fold

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(table: str, column: str, length: int, comment: str | None = None) -> None:
    op.add_column(
        table, sa.Column(column, sa.String(length), nullable=False, server_default=sa.text("''"), comment=comment)
    )


def upgrade() -> None:
    bind = op.get_bind()
    _text("association", "name_key", 160)
    seen: set[str] = set()
    for id_, name in bind.execute(sa.text("SELECT id, name FROM association ORDER BY id")).all():
        key = fold(name)
        if key in seen:  # two names that differ only by case or accents: the later keeps its id in its key
            key = f"{key} {id_}"
        seen.add(key)
        bind.execute(sa.text("UPDATE association SET name_key = :k WHERE id = :i"), {"k": key, "i": id_})
    op.create_index("ix_association_name_key", "association", ["name_key"], unique=True)

    _text("volunteer", "name_key", 170)
    rows = bind.execute(sa.text("SELECT id, first_name, last_name FROM volunteer")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE volunteer SET name_key = :k WHERE id = :i"),
            [{"k": fold(f"{first} {last}"), "i": id_} for id_, first, last in rows],
        )
    op.create_index("ix_volunteer_name_key", "volunteer", ["name_key"])

    op.add_column(
        "fee_record",
        sa.Column("billed_on", sa.Date(), nullable=True, comment="When the bill was mailed to the association"),
    )
    op.add_column("fee_record", sa.Column("reminded_on", sa.Date(), nullable=True))
    _text("fee_record", "settled_by", 160, "Who recorded it paid or waived")
    _text("fee_bracket", "recorded_by", 160)
    op.add_column("fee_bracket", sa.Column("recorded_at", models.base.UTCDateTime(timezone=True), nullable=True))
    _text("outbox_mail", "reply_to", 254, "The Passerelle, for mails about a mission")
    with op.batch_alter_table("application") as batch:  # application is referenced by nothing: a copy is allowed
        batch.add_column(sa.Column("relayed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_application_relayed_by_id_volunteer", "volunteer", ["relayed_by_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_constraint("fk_application_relayed_by_id_volunteer", type_="foreignkey")
        batch.drop_column("relayed_by_id")
    op.drop_index("ix_volunteer_name_key", "volunteer")
    op.drop_index("ix_association_name_key", "association")
    for table, column in (
        ("outbox_mail", "reply_to"),
        ("fee_bracket", "recorded_at"),
        ("fee_bracket", "recorded_by"),
        ("fee_record", "settled_by"),
        ("fee_record", "reminded_on"),
        ("fee_record", "billed_on"),
        ("volunteer", "name_key"),
        ("association", "name_key"),
    ):
        op.drop_column(table, column)  # DROP COLUMN in place (PostgreSQL, SQLite >= 3.35)
