"""Associations (the beneficiaries), the fee schedule and the fee records."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, str_enum, utcnow
from models.rules import Bracket
from models.text import fold


def _name_key(context: DefaultExecutionContext) -> str:
    return fold(context.get_current_parameters()["name"])


class Association(Base):
    """A solidarity association asking for help."""

    __tablename__ = "association"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    # fold(name): « Âge d'Or Solidaire » and « AGE D'OR SOLIDAIRE » are one association, on every database.
    name_key: Mapped[str] = mapped_column(
        String(160), unique=True, index=True, default=_name_key, server_default=text("''")
    )
    city: Mapped[str] = mapped_column(String(80), default="")
    # RNA (`W` + 9 digits) or SIRET (14 digits), as given on the public request form (models/public.py checks it)
    registration: Mapped[str] = mapped_column(String(14), default="", server_default=text("''"), index=True)
    purpose: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(160))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    annual_budget: Mapped[int] = mapped_column(comment="Annual operating budget, euros")
    values_validated_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # No new mission while archived (tasks/organisation.set_association_archived); its history and fees stay.
    archived_at: Mapped[datetime | None]

    @validates("name")
    def _keep_key(self, _: str, name: str) -> str:
        self.name_key = fold(name)
        return name


class FeeBracket(Base):
    """One line of the fee schedule in force from `valid_from` (a year) on."""

    __tablename__ = "fee_bracket"
    __table_args__ = (UniqueConstraint("valid_from", "min_budget"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[int]
    min_budget: Mapped[int]
    max_budget: Mapped[int | None]
    membership_fee: Mapped[int]
    search_fee: Mapped[int]
    recorded_by: Mapped[str] = mapped_column(String(160), default="", server_default=text("''"))
    recorded_at: Mapped[datetime | None] = mapped_column(default=utcnow)

    def rule(self) -> Bracket:
        """The pure bracket the fee rules work on."""
        return Bracket(self.min_budget, self.max_budget, self.membership_fee, self.search_fee)


class FeeKind(StrEnum):
    """Yearly membership or flat fee per mission search."""

    MEMBERSHIP = "membership"
    SEARCH = "search"


class FeeStatus(StrEnum):
    """Whether a fee is settled (the stored column); what people read is its `FeeState` (due or billed, paid,
    waived)."""

    DUE = "due"
    PAID = "paid"
    WAIVED = "waived"


class FeeState(StrEnum):
    """Where a fee stands for the association: the one vocabulary of the command line, the mission card, the mails,
    the exports and the report (`fee_state`). Due: owed, no bill sent yet (written at the request); billed: the bill
    went (tasks/fees.bill), not paid yet; paid; waived (with a reason)."""

    DUE = "due"
    BILLED = "billed"
    PAID = "paid"
    WAIVED = "waived"


FEE_STATE_LABELS = {
    FeeState.DUE: "due",
    FeeState.BILLED: "facturée",
    FeeState.PAID: "payée",
    FeeState.WAIVED: "exonérée",
}
FEE_KIND_LABELS = {FeeKind.MEMBERSHIP: "Cotisation annuelle", FeeKind.SEARCH: "Participation aux frais de recherche"}


def fee_state(status: FeeStatus, billed_on: date | bool | None) -> FeeState:
    """A fee's state from its record: settled (paid, waived), else billed once its bill went (`billed_on`, or
    whether there is one), else due."""
    if status is FeeStatus.PAID:
        return FeeState.PAID
    if status is FeeStatus.WAIVED:
        return FeeState.WAIVED
    return FeeState.BILLED if billed_on not in (None, False) else FeeState.DUE


class FeeRecord(Base):
    """A fee owed by an association: the membership of a year, or the search fee of a mission."""

    __tablename__ = "fee_record"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # `membership:<association>:<year>` or `search:<mission>`: one record each, whatever replays.
    key: Mapped[str] = mapped_column(String(60), unique=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("mission.id"), index=True)
    kind: Mapped[FeeKind] = mapped_column(str_enum(FeeKind))
    year: Mapped[int]
    amount: Mapped[int] = mapped_column(comment="euros")
    status: Mapped[FeeStatus] = mapped_column(str_enum(FeeStatus), default=FeeStatus.DUE)
    due_on: Mapped[date]
    billed_on: Mapped[date | None] = mapped_column(comment="When the bill was mailed to the association")
    reminded_on: Mapped[date | None]
    paid_on: Mapped[date | None]
    settled_by: Mapped[str] = mapped_column(
        String(160), default="", server_default=text("''"), comment="Who recorded it paid or waived"
    )
    note: Mapped[str] = mapped_column(String(300), default="")

    @property
    def state(self) -> FeeState:
        """Due, billed, paid or waived (`fee_state`)."""
        return fee_state(self.status, self.billed_on)

    @staticmethod
    def membership_key(association_id: int, year: int) -> str:
        """The key of an association's membership fee of a year (the one place it is written)."""
        return f"membership:{association_id}:{year}"

    @staticmethod
    def search_key(mission_id: int) -> str:
        """The key of a mission's search fee (the one place it is written)."""
        return f"search:{mission_id}"
