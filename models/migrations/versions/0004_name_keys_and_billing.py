"""Folded name keys (lookups insensitive to case and accents on every database); fee billing and settlement;
who recorded each fee schedule; Reply-To of mails about a mission

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


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("association", sa.Column("name_key", sa.String(160), nullable=True))
    seen: set[str] = set()
    for id_, name in bind.execute(sa.text("SELECT id, name FROM association ORDER BY id")):
        key = fold(name)
        if key in seen:  # two names that differ only by case or accents: the later keeps its id in its key
            key = f"{key} {id_}"
        seen.add(key)
        bind.execute(sa.text("UPDATE association SET name_key = :k WHERE id = :i"), {"k": key, "i": id_})
    with op.batch_alter_table("association") as batch:
        batch.alter_column("name_key", existing_type=sa.String(160), nullable=False)
        batch.create_unique_constraint("uq_association_name_key", ["name_key"])

    op.add_column("volunteer", sa.Column("name_key", sa.String(170), nullable=True))
    rows = bind.execute(sa.text("SELECT id, first_name, last_name FROM volunteer")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE volunteer SET name_key = :k WHERE id = :i"),
            [{"k": fold(f"{first} {last}"), "i": id_} for id_, first, last in rows],
        )
    with op.batch_alter_table("volunteer") as batch:
        batch.alter_column("name_key", existing_type=sa.String(170), nullable=False)
        batch.create_index("ix_volunteer_name_key", ["name_key"])

    op.add_column("fee_record", sa.Column("billed_on", sa.Date(), nullable=True,
                                          comment="When the bill was mailed to the association"))  # fmt: skip
    op.add_column("fee_record", sa.Column("reminded_on", sa.Date(), nullable=True))
    op.add_column("fee_record", sa.Column("settled_by", sa.String(160), nullable=False, server_default="",
                                          comment="Who recorded it paid or waived"))  # fmt: skip
    op.add_column("fee_bracket", sa.Column("recorded_by", sa.String(160), nullable=False, server_default=""))
    op.add_column("fee_bracket", sa.Column("recorded_at", models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column("outbox_mail", sa.Column("reply_to", sa.String(254), nullable=False, server_default="",
                                           comment="The Passerelle, for mails about a mission"))  # fmt: skip
    # The server defaults only filled the existing rows; the models give the values from now on.
    with op.batch_alter_table("fee_record") as batch:
        batch.alter_column("settled_by", existing_type=sa.String(160), server_default=None)
    with op.batch_alter_table("fee_bracket") as batch:
        batch.alter_column("recorded_by", existing_type=sa.String(160), server_default=None)
    with op.batch_alter_table("outbox_mail") as batch:
        batch.alter_column("reply_to", existing_type=sa.String(254), server_default=None,
                           existing_comment="The Passerelle, for mails about a mission")  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("outbox_mail") as batch:
        batch.drop_column("reply_to")
    with op.batch_alter_table("fee_bracket") as batch:
        batch.drop_column("recorded_at")
        batch.drop_column("recorded_by")
    with op.batch_alter_table("fee_record") as batch:
        batch.drop_column("settled_by")
        batch.drop_column("reminded_on")
        batch.drop_column("billed_on")
    with op.batch_alter_table("volunteer") as batch:
        batch.drop_index("ix_volunteer_name_key")
        batch.drop_column("name_key")
    with op.batch_alter_table("association") as batch:
        batch.drop_constraint("uq_association_name_key", type_="unique")
        batch.drop_column("name_key")
