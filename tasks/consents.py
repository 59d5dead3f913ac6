"""A volunteer's consents and the record of every change to their data (RGPD: the controller can show when, how
and under which wording a consent was given or withdrawn, and who changed what)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import ConsentKind, ConsentRecord, ConsentSource, Volunteer, VolunteerEvent
from models.base import utcnow
from models.volunteer import CONSENT_VERSION

CONSENT_ATTRS = {ConsentKind.ANNOUNCEMENTS: "consent_announcements", ConsentKind.NATIONAL: "consent_national"}
CONSENT_LABELS = {ConsentKind.ANNOUNCEMENTS: "annonces de l'antenne", ConsentKind.NATIONAL: "annonces nationales"}


def set_consent(
    session: Session,
    v: Volunteer,
    kind: ConsentKind,
    granted: bool,
    source: ConsentSource,
    *,
    wording_version: str = CONSENT_VERSION,
) -> bool:
    """Give or withdraw one consent, recorded with its date, source and the version of the wording the person was
    shown (the current one unless said); False if unchanged."""
    if getattr(v, CONSENT_ATTRS[kind]) == granted:
        return False
    setattr(v, CONSENT_ATTRS[kind], granted)
    session.add(
        ConsentRecord(
            volunteer_id=v.id, kind=kind, granted=granted, source=source, wording_version=wording_version, at=utcnow()
        )
    )
    return True


def log_change(session: Session, v: Volunteer, *, actor: str, source: ConsentSource, changes: list[str]) -> None:
    """Keep what changed in the volunteer's record (in French), who changed it and how; nothing when nothing did."""
    if changes:
        session.add(
            VolunteerEvent(volunteer_id=v.id, actor=actor, source=source, changes={"changes": changes}, at=utcnow())
        )
