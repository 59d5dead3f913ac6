"""The dates a mission announces to its parties as calendar invitations (RFC 5545): the needs-analysis meeting,
each check-in. One row per mission and occasion keeps the event's UID and SEQUENCE, so a moved date updates the
event people already have (same UID, SEQUENCE + 1) and a cancelled mission withdraws it (METHOD:CANCEL)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

NEEDS_MEETING = "rencontre"  # the key of the needs-analysis meeting's event (check-ins: their step key, check-in-3)


class CalendarEvent(Base):
    """One date announced to a mission's parties; the invitations themselves are outbox mails carrying the .ics."""

    __tablename__ = "calendar_event"
    __table_args__ = (UniqueConstraint("mission_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))  # NEEDS_MEETING, or the check-in's step key
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)  # RFC 5545 SEQUENCE: + 1 at each change sent
    starts_on: Mapped[date]
    starts_at: Mapped[time | None]  # local time in Europe/Paris; None: the whole day
    minutes: Mapped[int] = mapped_column(default=60)
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
