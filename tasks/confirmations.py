"""Double opt-in for the portal's public forms: a submission is kept apart, its sender gets a confirmation link by
mail (through the outbox, like every mail), and only a confirmed submission goes further.

The link's secret is 32 random bytes mailed once; only its SHA-256 is kept (as the team's sign-in links), so the
database alone confirms nobody. A link serves once and for CONFIRM_HOURS; an unconfirmed submission is deleted
once expired (`purge_unconfirmed`, run by the privacy-retention flow), with what it held.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import PublicSubmission, SubmissionKind, SubmissionStatus
from models.base import utcnow
from models.refusals import StepRefused
from models.settings import get_settings
from tasks.compose import compose
from tasks.outbox import enqueue

CONFIRM_HOURS = 48
PATH = "confirmation"  # the portal's path of a confirmation link: /confirmation/<secret>


class ConfirmationRefused(StepRefused):
    """A confirmation link that confirms nothing (unknown, expired, already used); `used` says it already served:
    the kind and id of the submission it confirmed."""

    def __init__(self, reason: str, *, expired: bool = False, used: tuple[SubmissionKind, int] | None = None) -> None:
        super().__init__(reason)
        self.expired, self.used = expired, used


def secret_hash(secret: str) -> str:
    """What is kept of a confirmation link's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def confirmation_url(secret: str) -> str:
    """The link mailed to the sender."""
    return f"{get_settings().portal_url.rstrip('/')}/{PATH}/{secret}"


def submit(
    session: Session,
    kind: SubmissionKind,
    email: str,
    payload: dict[str, Any],
    *,
    branch_id: int | None = None,
    greeting: str = "",
) -> PublicSubmission:
    """Keep a checked submission apart and queue the mail that asks its sender to confirm their address (sent
    after the commit). Nothing else is written: no association, no volunteer, no mail to the team."""
    secret = secrets.token_urlsafe(32)
    row = PublicSubmission(
        kind=kind,
        email=email.lower(),
        payload=payload,
        secret_hash=secret_hash(secret),
        status=SubmissionStatus.AWAITING,
        expires_at=utcnow() + timedelta(hours=CONFIRM_HOURS),
        branch_id=branch_id,
    )
    session.add(row)
    session.flush()
    content = compose(
        "confirm_address",
        form_kind=kind.value,
        url=confirmation_url(secret),
        hours=CONFIRM_HOURS,
        name=greeting,
        p=payload,
    )
    enqueue(session, mission_id=None, kind="confirm_address", about=f"s{row.id}", to=row.email, content=content)
    return row


def pending(session: Session, secret: str) -> PublicSubmission:
    """The submission a confirmation link names, still to confirm; ConfirmationRefused (in French) otherwise.
    Reads only: the GET of the link (a mail client may open it by itself) confirms nothing."""
    row = session.scalar(select(PublicSubmission).where(PublicSubmission.secret_hash == secret_hash(secret)))
    return _usable(row)


def confirm(session: Session, secret: str) -> PublicSubmission:
    """Confirm the submission a link names, once: its address is the sender's. ConfirmationRefused when the link
    is unknown, expired or already used (nothing written)."""
    row = session.scalar(
        select(PublicSubmission).where(PublicSubmission.secret_hash == secret_hash(secret)).with_for_update()
    )
    row = _usable(row)
    row.confirmed_at = utcnow()
    row.status = SubmissionStatus.CONFIRMED
    return row


def _usable(row: PublicSubmission | None) -> PublicSubmission:
    if row is None:
        raise ConfirmationRefused(
            "Ce lien de confirmation n'est pas valide : il a peut-être été mal copié, ou la demande a expiré et a "
            "été effacée. Vous pouvez remplir le formulaire à nouveau."
        )
    if row.confirmed_at is not None:
        raise ConfirmationRefused(
            "Ce lien a déjà servi : votre adresse est confirmée, rien de plus à faire.", used=(row.kind, row.id)
        )
    if row.expires_at < utcnow():
        raise ConfirmationRefused(
            f"Ce lien de confirmation a expiré (il sert {CONFIRM_HOURS} heures) : rien n'a été enregistré. "
            "Remplissez le formulaire à nouveau.",
            expired=True,
        )
    return row


def purge_unconfirmed(session: Session, now: datetime | None = None) -> int:
    """Delete the submissions never confirmed whose link expired (what they held goes with them); how many."""
    result = session.execute(
        delete(PublicSubmission).where(PublicSubmission.confirmed_at.is_(None), PublicSubmission.expires_at < utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
