"""The portal: one-click unsubscribe URL of each mail to a volunteer; consent records (date, source, wording);
changes to a volunteer's record

ADD COLUMN with a server default and a new table: no batch copy on SQLite.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox_mail",
        sa.Column(
            "list_unsubscribe",
            sa.String(500),
            nullable=False,
            server_default=sa.text("''"),
            comment="One-click unsubscribe URL (mails to volunteers)",
        ),
    )
    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "announcements", "national", name="consentkind", native_enum=False, create_constraint=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "import", "form", "link", name="consentsource", native_enum=False, create_constraint=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("wording_version", sa.String(20), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
            name=op.f("fk_consent_record_volunteer_id_volunteer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    op.create_index(op.f("ix_consent_record_volunteer_id"), "consent_record", ["volunteer_id"], unique=False)
    op.create_table(
        "volunteer_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "import", "form", "link", name="consentsource", native_enum=False, create_constraint=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
            name=op.f("fk_volunteer_event_volunteer_id_volunteer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_event")),
    )
    op.create_index(op.f("ix_volunteer_event_volunteer_id"), "volunteer_event", ["volunteer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_volunteer_event_volunteer_id"), table_name="volunteer_event")
    op.drop_table("volunteer_event")
    op.drop_index(op.f("ix_consent_record_volunteer_id"), table_name="consent_record")
    op.drop_table("consent_record")
    op.drop_column("outbox_mail", "list_unsubscribe")
