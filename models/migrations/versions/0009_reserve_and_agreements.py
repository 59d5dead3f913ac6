"""The search closes at the roadmap: applicants not retained are in reserve until then; each retained volunteer
agrees to the roadmap (issue 21)

Applications not retained on a mission whose roadmap is not validated yet (still « sélection faite ») are in
reserve; those of missions further on keep « not retained ».

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("application", sa.Column("roadmap_agreed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("application", sa.Column("roadmap_remarks", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE application SET status = 'reserve' WHERE status = 'not_selected' "
        "AND mission_id IN (SELECT id FROM mission WHERE status IN ('published', 'selected'))"
    )


def downgrade() -> None:
    op.execute("UPDATE application SET status = 'not_selected' WHERE status = 'reserve'")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("roadmap_remarks")
        batch.drop_column("roadmap_agreed_at")
