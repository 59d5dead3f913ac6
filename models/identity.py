"""Who acts: the team's sign-in links, their sessions (a browser's, or a personal token of the command line and of
scripts), and the access log the CNIL asks for (sign-ins, what was opened, every write)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.org import Coordinator


class SignInLink(Base):
    """A one-time sign-in link mailed to a team member: only the SHA-256 of its secret is kept; used once."""

    __tablename__ = "signin_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # browser, token (the command line's `passerelles login`)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class MemberSession(Base):
    """A signed-in member: a browser session (its cookie holds the secret) or a personal token (`Bearer`). Only the
    SHA-256 of the secret is kept; a session ends at sign-out, after its idle time, or when the member leaves."""

    __tablename__ = "member_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # browser, token
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    coordinator: Mapped[Coordinator] = relationship(lazy="joined")


class AccessLog(Base):
    """One access: a sign-in (success or failure), a mission run or a form opened (forms show volunteers' data), a
    write, a refusal. Kept 12 months (the privacy-retention flow purges older rows); an admin exports it as CSV."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    who: Mapped[str] = mapped_column(String(254))  # the member's e-mail, the address tried, or a machine
    event: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(10), default="", server_default=text("''"))
    path: Mapped[str] = mapped_column(String(500), default="", server_default=text("''"))
    target: Mapped[str] = mapped_column(String(200), default="", server_default=text("''"))
    status: Mapped[int | None]
    ip: Mapped[str] = mapped_column(String(64), default="", server_default=text("''"))
    detail: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class ErasureRecord(Base):
    """That a volunteer was erased (RGPD), by whom and why, without the person's data: the proof the erasure was
    done, kept as long as the statistics it leaves."""

    __tablename__ = "erasure_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(index=True)  # the anonymised row's id (`V-0042 Bénévole effacé(e)`)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))  # what was rewritten
