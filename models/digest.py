"""The daily digest of a team member, pure: what it lists, when it is empty, its day and its outbox key.

One morning mail per member who wants it (`Coordinator.daily_digest`, on by default for Passerelles): the mission
steps waiting for them, the requests and applications that came since their last digest, and the links the
parties outside have left unanswered. Nothing is sent when there is nothing to do; at most one per member and
day (the key holds the day, in Paris time: what the team reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from models.waves import PARIS


@dataclass(frozen=True)
class WaitingStep:
    """A mission's form waiting for the member: its step, since when, the run's page."""

    reference: str
    association: str
    step: str
    since: date
    url: str


@dataclass(frozen=True)
class NewRequest:
    """A mission requested since the last digest."""

    reference: str
    association: str
    title: str
    at: datetime


@dataclass(frozen=True)
class NewApplication:
    """An application received since the last digest."""

    reference: str
    volunteer: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class Unanswered:
    """A link sent to someone outside (association, volunteer) still unanswered."""

    reference: str
    who: str
    what: str
    since: date


@dataclass(frozen=True)
class Digest:
    """Everything one member's digest lists."""

    waiting: tuple[WaitingStep, ...] = ()
    requests: tuple[NewRequest, ...] = ()
    applications: tuple[NewApplication, ...] = ()
    unanswered: tuple[Unanswered, ...] = ()

    @property
    def items(self) -> int:
        """How many things it lists."""
        return len(self.waiting) + len(self.requests) + len(self.applications) + len(self.unanswered)

    @property
    def empty(self) -> bool:
        """Nothing to do: no mail."""
        return self.items == 0


def digest_day(now: datetime) -> date:
    """The day a digest is for: today in Paris."""
    return now.astimezone(PARIS).date()


def digest_about(coordinator_id: int, day: date) -> str:
    """What tells one digest from another in the outbox key: the member and the day."""
    return f"c{coordinator_id}:{day.isoformat()}"
