"""The e-mail outbox: every mail is a row first, so a replayed flow never sends twice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class MailStatus(StrEnum):
    """Where an outgoing mail stands."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender until `next_attempt_at` (its lease)
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # to a volunteer who unsubscribed meanwhile: never sent


class OutboxMail(Base):
    """One mail to one recipient, unique by its deduplication key (mission, recipient, kind, round)."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("mission.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str] = mapped_column(
        String(254), default="", server_default=text("''"), comment="The Passerelle, for mails about a mission"
    )
    list_unsubscribe: Mapped[str] = mapped_column(
        String(500), default="", server_default=text("''"), comment="One-click unsubscribe URL (mails to volunteers)"
    )
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    # The calendar invitation the mail carries (an .ics, RFC 5545), as built when queued: a mail re-sent is the same
    calendar: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    status: Mapped[MailStatus] = mapped_column(str_enum(MailStatus), default=MailStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[str] = mapped_column(String(254), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(comment="Not before (deferred); end of a claim")
    sent_at: Mapped[datetime | None]
