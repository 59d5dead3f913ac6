"""The files the team reads from a run: a regional report's HTML and CSV, a data export's CSV.

They are kept in the application database, the record, not on a worker's disk (workers may be on other machines);
the sign-in gateway serves them behind the team's sign-in (`/fichiers/<n>/<name>`), to the roles allowed
(`models/permissions.may_read_file`), each download in the access log. Kept 12 months, like the access log.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class FileKind(StrEnum):
    """What a stored file is: who may read it follows (a report counts, an export lists)."""

    REPORT = "rapport"  # figures only, naming nobody
    EXPORT = "export"  # one line per mission, application or fee: personal data, admins only


class StoredFile(Base):
    """One produced file and its scope (the branches it covers, empty for all)."""

    __tablename__ = "stored_file"
    __table_args__ = (Index("ix_stored_file_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # FileKind's value
    name: Mapped[str] = mapped_column(String(200))  # the file name offered to the browser
    media_type: Mapped[str] = mapped_column(String(100))
    branches: Mapped[str] = mapped_column(String(500))  # branch codes, comma-separated; empty: every branch
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))  # `C-12`, or the system

    @property
    def branch_codes(self) -> tuple[str, ...]:
        """The branches covered (none: every branch)."""
        return tuple(c for c in self.branches.split(",") if c)
