"""Pure matching rule: how well a volunteer fits a mission, with the breakdown shown to the Passerelle.

Scores are computed in whole tenths of a point (integers), so that PostgreSQL, which ranks a national audience in
`tasks/matching.py`, gives exactly the same totals and order as this rule: no float sum, no rounding mode to agree on.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.volunteer import Availability

# Points per criterion; the total is out of 100.
W_COMPETENCE = 60
W_PRIORITY = 15
W_AVAILABILITY = 15
W_PROXIMITY = 10
BUSY_PENALTY = 10  # per mission the volunteer is already on
BUSY_COUNTED = 2  # missions beyond that many cost nothing more
MAX_LEVEL = 3
# Availability points, in tenths.
AVAILABILITY_TENTHS = {
    Availability.AVAILABLE: 10 * W_AVAILABILITY,
    Availability.LIMITED: 10 * W_AVAILABILITY // 3,
    Availability.UNAVAILABLE: 0,
}


@dataclass(frozen=True)
class Candidate:
    """What matching needs to know of a volunteer."""

    volunteer_id: int
    competences: dict[int, int]  # competence id -> level 1..3
    priority_in_domain: bool
    availability: Availability
    current_missions: int
    same_branch: bool


@dataclass(frozen=True)
class Score:
    """A volunteer's fit, out of 100, with the points of each criterion."""

    volunteer_id: int
    total: float
    breakdown: dict[str, float]


def competence_thirtieths(level: int, min_level: int) -> int:
    """What one required competence earns, in thirtieths of its share: at or above the minimum level
    0.7 + 0.1 × level (24, 27 or 30); below it, part of it: 0.4 × level / minimum (4, 6 or 8). Always a whole number."""
    need = max(min_level, 1)
    if level >= need:
        return 21 + 3 * level
    return 12 * level // need


def competence_tenths(earned: int, required: int) -> int:
    """The competence points, in tenths, of `earned` thirtieths over `required` competences, rounded half up."""
    # W_COMPETENCE × earned / 30 / required points = 20 × earned / required tenths.
    return (40 * earned + required) // (2 * required) if required else 0


def other_tenths(priority: bool, availability: Availability, same_branch: bool, busy: int) -> dict[str, int]:
    """The points that do not depend on competences, in tenths."""
    return {
        "priorité": 10 * W_PRIORITY if priority else 0,
        "disponibilité": AVAILABILITY_TENTHS[availability],
        "proximité": 10 * W_PROXIMITY if same_branch else 0,
        "missions en cours": -10 * BUSY_PENALTY * min(busy, BUSY_COUNTED),
    }


def score(candidate: Candidate, required: dict[int, int]) -> Score:
    """Score a candidate against the mission's required competences (id -> minimum level).

    Each required competence counts equally; a volunteer below the minimum level earns part of it.
    """
    earned = sum(
        competence_thirtieths(level, min_level)
        for comp, min_level in required.items()
        if (level := candidate.competences.get(comp, 0))
    )
    tenths = {
        "compétences": competence_tenths(earned, len(required)),
        **other_tenths(
            candidate.priority_in_domain, candidate.availability, candidate.same_branch, candidate.current_missions
        ),
    }
    return Score(candidate.volunteer_id, max(sum(tenths.values()), 0) / 10, {k: v / 10 for k, v in tenths.items()})


def rank(candidates: list[Candidate], required: dict[int, int]) -> list[Score]:
    """Candidates best first; ties broken by volunteer id so the order is stable."""
    return sorted((score(c, required) for c in candidates), key=lambda s: (-s.total, s.volunteer_id))
