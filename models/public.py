"""What people outside P&C submit on the portal's public pages (an association's request for a mission, a
volunteer's sign-up), kept apart until its sender confirms their address (double opt-in); and the pure checks of
what they type (registration numbers, free texts).

A submission is one row: what was typed (its `payload`, JSON), the address to confirm, and only the SHA-256 of the
confirmation link's secret (as models/identity.SignInLink). Nothing of it reaches the team, the volunteers' table
or a mission before `confirmed_at` is set; an unconfirmed row expires and is deleted by the privacy-retention flow.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow
from models.refusals import TextRefused


class SubmissionKind(StrEnum):
    """What a public form asks for; its value names it in the confirmation mail and the rate limits."""

    MISSION_REQUEST = "demande"  # an association asks for a mission (/demande)
    SIGNUP = "inscription"  # a volunteer signs up, or updates their record (/inscription)
    APPLICATION = "candidature"  # someone signs up (or updates) and applies to a published annonce, from its
    # public page (/missions/<reference>) or a relay's forwarding link (/relais/<token>)


class SubmissionStatus(StrEnum):
    """Where a submission stands."""

    AWAITING = "awaiting"  # its address is not confirmed yet: nobody sees it
    CONFIRMED = "confirmed"  # confirmed: a request waits for the branch's decision; a sign-up is applied
    ACCEPTED = "accepted"  # a request accepted: the mission is open
    DECLINED = "declined"  # a request declined, with a reason mailed to the association


class PublicSubmission(Base):
    """One submission of a public form, pending its sender's confirmation then followed to its end."""

    __tablename__ = "public_submission"
    __table_args__ = (Index("ix_public_submission_email", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SubmissionKind] = mapped_column(str_enum(SubmissionKind))
    email: Mapped[str] = mapped_column(String(254))  # normalised, lower-cased: the address to confirm
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what was typed, checked
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the confirmation link's secret
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus), default=SubmissionStatus.AWAITING, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"))
    flow_run_id: Mapped[str] = mapped_column(String(40), default="", server_default=text("''"))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("association.id", ondelete="SET NULL"))
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("mission.id", ondelete="SET NULL"))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str] = mapped_column(String(160), default="", server_default=text("''"))
    reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))  # a decline's, mailed

    @property
    def reference(self) -> str:
        """`D-0007`: how the team and the mails name a request."""
        return f"D-{self.id:04d}"


# --- Pure checks of what is typed ----------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum (SIREN and SIRET numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def check_registration(value: str) -> str:
    """An association's RNA number (`W` and 9 digits) or SIRET (14 digits, Luhn checksum), normalised (blanks
    removed, `W` upper-cased); TextRefused with a French sentence when it is neither."""
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if not compact:
        raise TextRefused("Indiquez le numéro RNA (W suivi de 9 chiffres) ou le SIRET (14 chiffres) de l'association.")
    if compact.startswith("W"):
        if not re.fullmatch(r"W\d{9}", compact):
            raise TextRefused(
                f"Le numéro RNA « {value.strip()} » n'a pas la bonne forme : W suivi de 9 chiffres (W672012345)."
            )
        return compact
    if not compact.isdigit():
        raise TextRefused(
            f"« {value.strip()} » n'est ni un numéro RNA (W suivi de 9 chiffres) ni un SIRET (14 chiffres)."
        )
    if len(compact) != 14:
        raise TextRefused(f"Le SIRET « {value.strip()} » compte {len(compact)} chiffres : il en faut 14.")
    if not luhn_ok(compact):
        raise TextRefused(f"Le SIRET « {value.strip()} » n'est pas valide (clé de contrôle) : vérifiez-le.")
    return compact
