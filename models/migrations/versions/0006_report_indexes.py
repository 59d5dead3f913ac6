"""Indexes for reports: each step timestamp a report counts by period, with the branch

CREATE INDEX only: no batch copy on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = ("requested_at", "published_at", "selected_at", "started_at", "completed_at", "cancelled_at")


def upgrade() -> None:
    for step in STEPS:
        op.create_index(f"ix_mission_branch_{step}", "mission", ["branch_id", step])


def downgrade() -> None:
    for step in STEPS:
        op.drop_index(f"ix_mission_branch_{step}", table_name="mission")
