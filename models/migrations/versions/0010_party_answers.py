"""Each party answers its own part: a table of what the association and each retained volunteer answered by
their link (roadmap agreement, check-in news, bilan half with the consent to publish); it replaces the roadmap
agreement columns of 0009 on the application, which nothing had filled yet (issue 21)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "party_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("asked", sa.String(120), nullable=False),
        sa.Column("party", sa.String(40), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), sa.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=True),
        sa.Column("answer", sa.String(40), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("would_redo", sa.Boolean(), nullable=True),
        sa.Column("consent_wording", sa.Text(), nullable=False, server_default=""),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("by_link", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("mission_id", "asked", "party", name="uq_party_answer_mission_id_asked_party"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_party_answer_party_rating_range"),
    )
    op.create_index("ix_party_answer_mission_id", "party_answer", ["mission_id"])
    with op.batch_alter_table("application") as batch:
        batch.drop_column("roadmap_remarks")
        batch.drop_column("roadmap_agreed_at")


def downgrade() -> None:
    op.add_column("application", sa.Column("roadmap_agreed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("application", sa.Column("roadmap_remarks", sa.Text(), nullable=False, server_default=""))
    op.drop_index("ix_party_answer_mission_id", "party_answer")
    op.drop_table("party_answer")
