"""Pure domain rules: mission lifecycle, fees by budget bracket, mission references.

Plain Python, no database and no Prefect, so they are tested in milliseconds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol


class MissionStatus(StrEnum):
    """Where a mission stands; the order is the lifecycle's."""

    REQUESTED = "requested"
    ANALYSED = "analysed"
    APPROVED = "approved"
    PUBLISHED = "published"
    SELECTED = "selected"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """French label shown to people."""
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """True while the mission still needs someone to act."""
        return self not in (MissionStatus.COMPLETED, MissionStatus.CANCELLED)


STATUS_LABELS = {
    MissionStatus.REQUESTED: "Demandée",
    MissionStatus.ANALYSED: "Besoin analysé",
    MissionStatus.APPROVED: "Annonce validée",
    MissionStatus.PUBLISHED: "Annonce diffusée",
    MissionStatus.SELECTED: "Bénévole(s) retenu(s)",
    MissionStatus.IN_PROGRESS: "En cours (recherche close)",
    MissionStatus.COMPLETED: "Terminée",
    MissionStatus.CANCELLED: "Annulée",
}

# The forward path; CANCELLED is reachable from every open status.
_FORWARD = [
    MissionStatus.REQUESTED,
    MissionStatus.ANALYSED,
    MissionStatus.APPROVED,
    MissionStatus.PUBLISHED,
    MissionStatus.SELECTED,
    MissionStatus.IN_PROGRESS,
    MissionStatus.COMPLETED,
]

# Column of Mission holding the moment each status was reached.
REACHED_AT = {
    MissionStatus.REQUESTED: "requested_at",
    MissionStatus.ANALYSED: "analysed_at",
    MissionStatus.APPROVED: "approved_at",
    MissionStatus.PUBLISHED: "published_at",
    MissionStatus.SELECTED: "selected_at",
    MissionStatus.IN_PROGRESS: "started_at",
    MissionStatus.COMPLETED: "completed_at",
    MissionStatus.CANCELLED: "cancelled_at",
}


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: MissionStatus, target: MissionStatus) -> None:
        self.current, self.target = current, target
        super().__init__(
            f"Transition interdite : la mission est « {current.label} » ({current.value}) "
            f"et ne peut pas passer à « {target.label} » ({target.value})."
        )


def can_transition(current: MissionStatus, target: MissionStatus) -> bool:
    """Whether a mission in `current` may move to `target`."""
    if not current.is_open:
        return False
    if target is MissionStatus.CANCELLED:
        return True
    i = _FORWARD.index(current)
    return i + 1 < len(_FORWARD) and _FORWARD[i + 1] is target


# A retained volunteer withdrew before the roadmap or during the mission: the search reopens, the mission goes back
# to « Annonce diffusée » (the only backward transition).
REOPENABLE = frozenset({MissionStatus.SELECTED, MissionStatus.IN_PROGRESS})


def check_reopen(current: MissionStatus) -> None:
    """Raise IllegalTransition unless the search of a mission in `current` may reopen."""
    if current not in REOPENABLE:
        raise IllegalTransition(current, MissionStatus.PUBLISHED)


def has_reached(status: MissionStatus, target: MissionStatus) -> bool:
    """Whether a mission in `status` is at or past `target` on the forward path (never for CANCELLED)."""
    if MissionStatus.CANCELLED in (status, target):
        return status is target
    return _FORWARD.index(status) >= _FORWARD.index(target)


def check_transition(current: MissionStatus, target: MissionStatus) -> None:
    """Raise IllegalTransition unless `current` → `target` is allowed."""
    if not can_transition(current, target):
        raise IllegalTransition(current, target)


# --- Fees -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bracket:
    """Fees owed by an association whose annual operating budget is in [min_budget, max_budget)."""

    min_budget: int
    max_budget: int | None
    membership_fee: int
    search_fee: int


@dataclass(frozen=True)
class Fees:
    """What an association pays: a yearly membership and a flat fee per mission search (euros)."""

    membership_fee: int
    search_fee: int


def fees_for_budget(budget: int, brackets: Sequence[Bracket]) -> Fees:
    """The fees for an annual operating budget (euros), from the bracket that contains it."""
    if budget < 0:
        raise ValueError(f"Budget de fonctionnement négatif : {budget} €.")
    for b in sorted(brackets, key=lambda b: b.min_budget):
        if budget >= b.min_budget and (b.max_budget is None or budget < b.max_budget):
            return Fees(b.membership_fee, b.search_fee)
    raise ValueError(f"Aucune tranche du barème ne couvre un budget de {budget} €.")


def values_valid_until(validated_on: date) -> date:
    """The values check of an association holds one year (renewed at its next mission after that)."""
    try:
        return validated_on.replace(year=validated_on.year + 1)
    except ValueError:  # 29 February
        return validated_on.replace(year=validated_on.year + 1, day=28)


def values_still_valid(validated_on: date | None, today: date) -> bool:
    """Whether the association's adherence to P&C's values, checked on `validated_on`, still holds `today`."""
    return validated_on is not None and today < values_valid_until(validated_on)


def check_brackets(brackets: Sequence[Bracket]) -> None:
    """Raise ValueError unless the brackets cover [0, ∞) without gap or overlap."""
    ordered = sorted(brackets, key=lambda b: b.min_budget)
    if not ordered or ordered[0].min_budget != 0:
        raise ValueError("Le barème doit commencer à 0 €.")
    for prev, nxt in itertools.pairwise(ordered):
        if prev.max_budget != nxt.min_budget:
            raise ValueError(f"Trou ou chevauchement dans le barème autour de {prev.max_budget} €.")
    if ordered[-1].max_budget is not None:
        raise ValueError("La dernière tranche du barème doit être ouverte (sans plafond).")


# --- References -----------------------------------------------------------------------------------

_REF = re.compile(r"^(?P<code>[A-Z]{2,5})-(?P<year>\d{4})-(?P<seq>\d{3,})$")


def format_reference(branch_code: str, year: int, seq: int) -> str:
    """The human reference of a mission: branch code, year, number in that year (`STR-2026-014`)."""
    if seq < 1:
        raise ValueError("Le numéro d'une mission commence à 1.")
    return f"{branch_code.upper()}-{year:04d}-{seq:03d}"


def parse_reference(reference: str) -> tuple[str, int, int]:
    """Split `STR-2026-014` into ('STR', 2026, 14); a malformed reference raises ValueError."""
    m = _REF.match(reference.strip().upper())
    if not m:
        raise ValueError(f"Référence de mission invalide : « {reference} » (attendu par exemple STR-2026-014).")
    return m["code"], int(m["year"]), int(m["seq"])


def next_sequence(used: Iterable[int]) -> int:
    """The next mission number of a branch's year, after those already used."""
    return max(used, default=0) + 1


# --- Where an open mission waits -----------------------------------------------------------------


@dataclass(frozen=True)
class MissionSnapshot:
    """What the lifecycle rules need to know of a mission to tell where it waits (no database, no Prefect)."""

    status: MissionStatus
    today: date
    reached: Mapping[MissionStatus, date | None]
    selection_asked_on: date | None = None
    last_check_in: date | None = None
    roadmap_end: date | None = None
    checkin_every_days: int | None = None

    @property
    def status_since(self) -> date:
        """When the mission reached its current status."""
        since = self.reached.get(self.status)
        assert since is not None, f"status {self.status} without its date"
        return since


class StepTiming(Protocol):
    """What the waiting rule needs of a step (the registry's `Step` has it)."""

    @property
    def key(self) -> str: ...

    @property
    def status(self) -> MissionStatus: ...

    def waiting_since(self, snapshot: MissionSnapshot) -> date | None: ...

    def level_days(self, snapshot: MissionSnapshot, configured: int) -> int: ...


@dataclass(frozen=True)
class Waiting:
    """The step an open mission waits at, since when (a date), and its service level in days."""

    step: str
    since: date
    level_days: int

    def days(self, today: date) -> int:
        """Days waited so far."""
        return max((today - self.since).days, 0)

    def overdue_level(self, today: date) -> int:
        """0 within the level, 1 past it (remind the Passerelle), 2 past twice it (tell the branch lead)."""
        days = self.days(today)
        if days > 2 * self.level_days:
            return 2
        return 1 if days > self.level_days else 0


def waiting_step(snapshot: MissionSnapshot, steps: Sequence[StepTiming], levels: Mapping[str, int]) -> Waiting | None:
    """Where an open mission waits and since when (None for a closed one).

    Of the steps taken while the mission is in its status (in lifecycle order), the last one that says the
    mission waits for it wins: a mission `published` waits for its applications until the selection is asked.
    """
    if not snapshot.status.is_open:
        return None
    found = None
    for step in steps:
        if step.status is snapshot.status:
            since = step.waiting_since(snapshot)
            if since is not None:
                found = Waiting(step.key, since, step.level_days(snapshot, levels[step.key]))
    assert found is not None, f"no step waits at status {snapshot.status}"
    return found


def steps_done(status: MissionStatus, steps: Sequence[StepTiming]) -> int:
    """How many steps of the lifecycle a mission in `status` has behind it (all of them once completed)."""
    if status is MissionStatus.COMPLETED:
        return len(steps)
    return next((i for i, step in enumerate(steps) if step.status is status), len(steps))
