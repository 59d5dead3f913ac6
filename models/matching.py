"""Pure matching rule: how well a volunteer fits a mission, with the breakdown shown to the Passerelle."""

from __future__ import annotations

from dataclasses import dataclass

from models.volunteer import Availability

# Points per criterion; the total is out of 100.
W_COMPETENCE = 60
W_PRIORITY = 15
W_AVAILABILITY = 15
W_PROXIMITY = 10
BUSY_PENALTY = 10  # per mission the volunteer is already on
MAX_LEVEL = 3


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


def score(candidate: Candidate, required: dict[int, int]) -> Score:
    """Score a candidate against the mission's required competences (id -> minimum level).

    Each required competence counts equally; a volunteer below the minimum level earns part of it.
    """
    if required:
        earned = 0.0
        for comp, min_level in required.items():
            level = candidate.competences.get(comp, 0)
            if level >= max(min_level, 1):
                earned += 0.7 + 0.3 * level / MAX_LEVEL
            elif level:
                earned += 0.4 * level / max(min_level, 1)
        competence = W_COMPETENCE * earned / len(required)
    else:
        competence = 0.0
    availability = {
        Availability.AVAILABLE: W_AVAILABILITY,
        Availability.LIMITED: W_AVAILABILITY / 3,
        Availability.UNAVAILABLE: 0.0,
    }[candidate.availability]
    breakdown = {
        "compétences": round(competence, 1),
        "priorité": float(W_PRIORITY if candidate.priority_in_domain else 0),
        "disponibilité": round(availability, 1),
        "proximité": float(W_PROXIMITY if candidate.same_branch else 0),
        "missions en cours": float(-min(candidate.current_missions, 2) * BUSY_PENALTY),
    }
    return Score(candidate.volunteer_id, round(max(sum(breakdown.values()), 0.0), 1), breakdown)


def rank(candidates: list[Candidate], required: dict[int, int]) -> list[Score]:
    """Candidates best first; ties broken by volunteer id so the order is stable."""
    return sorted((score(c, required) for c in candidates), key=lambda s: (-s.total, s.volunteer_id))
