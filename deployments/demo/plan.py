"""The in-memory plan of the demo data set, and what every planner shares: seeded randomness and time.

Rows refer to each other by natural key (`Ref`), never by id: ids exist only once `write` has inserted the rows.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from deployments.demo import data
from models import AuditEvent, Availability, Base
from models.rules import MissionStatus as S
from models.waves import Wave

SEED = "passerelles-demo"
DEMO_TODAY = date(2026, 11, 26)


@dataclass(frozen=True)
class Ref:
    """The id of the row of `kind` whose natural key is `key`, known only once that row is in the database."""

    kind: str
    key: Hashable


class KeyTemplate(str):
    """A value filled from the row's resolved ids (a fee key `search:{mission_id}`, a party `v{volunteer_id}`)."""

    __slots__ = ()


@dataclass
class Plan:
    """Every row of the demo data set, per entity, in insertion order."""

    rows: dict[type[Base], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, model: type[Base], **values: Any) -> None:
        """Plan one row of `model`."""
        self.rows[model].append(values)


@dataclass
class Person:
    """A volunteer as the planner needs to see it."""

    email: str
    branch: str
    created_at: datetime
    consent: bool
    national: bool
    archived_at: datetime | None
    unsubscribed_at: datetime | None
    availability: Availability
    levels: dict[str, int]

    def reachable(self, at: datetime) -> bool:
        """Whether the volunteer received annonces at that moment."""
        gone = [t for t in (self.archived_at, self.unsubscribed_at) if t is not None]
        return self.consent and self.created_at < at and all(t > at for t in gone)


@dataclass
class MissionPlan:
    """The skeleton of a mission: who, what, and when each status was reached."""

    branch: str
    spec: data.AssociationSpec
    coordinator: tuple[str, str]  # e-mail, full name
    template: data.MissionTemplate
    times: dict[S, datetime]
    status: S
    cancel: tuple[S, datetime] | None
    reference: str = ""
    rng: random.Random = field(default_factory=random.Random)
    national: bool = False
    wave: Wave | None = None  # how far its annonce went (models/waves.py)
    needed: int = 1
    selected: list[Person] = field(default_factory=list)

    @property
    def mission(self) -> Ref:
        """Reference to the mission row."""
        return Ref("mission", self.reference)

    def reached(self, status: S) -> bool:
        """Whether the mission got to `status` (cancelled missions keep the steps they reached)."""
        return status in self.times


def seeded_rng(*parts: object) -> random.Random:
    """A generator seeded with SEED and `parts`: the same parts always give the same draws."""
    return random.Random(":".join(map(str, (SEED, *parts))))


def moment(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """`day` at `hour`:`minute` UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end], to the minute."""
    t = start + (end - start) * rng.random()
    return max(start, t.replace(second=0, microsecond=0))


def association_created(spec: data.AssociationSpec) -> datetime:
    """When the association joined: 2 January of its first year, or just after its branch was founded."""
    branch = next(b for b in data.BRANCHES if b.code == spec.branch)
    return moment(max(date(spec.since, 1, 2), branch.founded_on + timedelta(days=1)))


def audit(
    plan: Plan, m: MissionPlan, key: str, action: str, at: datetime, frm: S | None, to: S | None, **details: Any
) -> None:
    """Plan one audit event of the mission."""
    plan.add(
        AuditEvent,
        _parent=m.mission,
        mission_id=m.mission,
        at=at,
        actor=m.coordinator[1],
        action=action,
        step_key=key,
        from_status=frm,
        to_status=to,
        details=details,
    )
