"""Pure matching rule."""

from __future__ import annotations

from models.matching import Candidate, rank, score
from models.volunteer import Availability

REQ = {1: 2, 2: 1}


def cand(vid: int, comps: dict[int, int], **kw: object) -> Candidate:
    base: dict[str, object] = {
        "priority_in_domain": False,
        "availability": Availability.AVAILABLE,
        "current_missions": 0,
        "same_branch": True,
    }
    base.update(kw)
    return Candidate(vid, comps, **base)  # type: ignore[arg-type]


def test_full_expert_match_scores_100() -> None:
    s = score(cand(1, {1: 3, 2: 3}, priority_in_domain=True), REQ)
    assert s.total == 100.0
    assert set(s.breakdown) == {"compétences", "priorité", "disponibilité", "proximité", "missions en cours"}


def test_more_competence_ranks_higher_and_ties_are_stable() -> None:
    ranked = rank([cand(3, {1: 2}), cand(2, {1: 3, 2: 2}), cand(1, {1: 2})], REQ)
    assert [s.volunteer_id for s in ranked] == [2, 1, 3]


def test_priority_and_availability_and_busy() -> None:
    a = score(cand(1, {1: 2}), REQ).total
    assert score(cand(1, {1: 2}, priority_in_domain=True), REQ).total == a + 15
    assert score(cand(1, {1: 2}, availability=Availability.UNAVAILABLE), REQ).total == a - 15
    assert score(cand(1, {1: 2}, current_missions=5), REQ).total == a - 20
    assert score(cand(1, {1: 2}, same_branch=False), REQ).total == a - 10


def test_below_minimum_level_earns_less_than_meeting_it() -> None:
    assert score(cand(1, {1: 1}), REQ).breakdown["compétences"] < score(cand(1, {1: 2}), REQ).breakdown["compétences"]
    assert score(cand(1, {}), REQ).breakdown["compétences"] == 0
