"""outbox_mail.next_attempt_at: deferred mails (SMTP 4xx, dropped connections) wait for their next try

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox_mail",
        sa.Column(
            "next_attempt_at",
            models.base.UTCDateTime(timezone=True),
            nullable=True,
            comment="Not before (deferred); end of a claim",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_mail") as batch:
        batch.drop_column("next_attempt_at")
