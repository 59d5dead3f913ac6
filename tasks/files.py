"""The files a run produces, kept in the application database and reached through the sign-in gateway
(models/files.py): stored here, their address for the run's artifacts, read back for the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models.base import utcnow
from models.files import FileKind, StoredFile
from models.settings import get_settings

KEPT_MONTHS = 12  # like the access log (tasks/identity.py): the privacy-retention flow purges older files
HTML = "text/html; charset=utf-8"
CSV = "text/csv; charset=utf-8"


def store_file(
    session: Session,
    *,
    kind: FileKind,
    name: str,
    media_type: str,
    content: bytes,
    branches: Sequence[str],
    actor: str,
) -> StoredFile:
    """Keep one produced file; flushed, so that its number (and address) is known."""
    row = StoredFile(
        kind=kind.value,
        name=name,
        media_type=media_type,
        content=content,
        branches=",".join(branches),
        created_by=actor[:254],
    )
    session.add(row)
    session.flush()
    return row


def file_path(file_id: int, name: str) -> str:
    """The file's path at the sign-in gateway."""
    return f"/fichiers/{file_id}/{quote(name)}"


def file_url(file_id: int, name: str) -> str:
    """The file's address for people: the gateway's public address (PASSERELLES_PUBLIC_BASE_URL)."""
    return get_settings().public_base_url.rstrip("/") + file_path(file_id, name)


def purge_files(session: Session, now: datetime | None = None) -> int:
    """Delete the stored files older than 12 months."""
    cutoff = (now or utcnow()) - timedelta(days=30 * KEPT_MONTHS + 5)
    return session.execute(delete(StoredFile).where(StoredFile.created_at < cutoff)).rowcount or 0  # type: ignore[attr-defined]
