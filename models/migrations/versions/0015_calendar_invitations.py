"""Calendar invitations (issue 23, point 7): the dates a mission announces (needs-analysis meeting, check-ins)
with their UID and SEQUENCE; the .ics an outbox mail carries

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("uid", sa.String(200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("mission_id", "key", name="uq_calendar_event_mission_id_key"),
        sa.UniqueConstraint("uid", name="uq_calendar_event_uid"),
    )
    op.create_index("ix_calendar_event_mission_id", "calendar_event", ["mission_id"])
    op.add_column("outbox_mail", sa.Column("calendar", sa.Text(), nullable=False, server_default=sa.text("''")))


def downgrade() -> None:
    op.drop_column("outbox_mail", "calendar")
    op.drop_table("calendar_event")
