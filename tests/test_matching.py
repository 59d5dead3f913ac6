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


def test_integer_rule_equals_the_rational_definition() -> None:
    """Every level profile against up to 3 required competences: the points are the rule's rational value
    (0.7 + 0.1 × level when met, 0.4 × level / minimum below it) rounded half up to a tenth, never a float sum."""
    from fractions import Fraction
    from itertools import product

    for n in (1, 2, 3):
        for mins in product((0, 1, 2, 3), repeat=n):
            required = dict(enumerate(mins, 1))
            for levels in product((0, 1, 2, 3), repeat=n):
                earned = sum(
                    (
                        Fraction(7, 10) + Fraction(level, 10)
                        if level >= max(m, 1)
                        else Fraction(4 * level, 10 * max(m, 1))
                    )
                    for level, m in zip(levels, mins, strict=True)
                    if level
                )
                exact = 60 * earned / n
                tenths = int(exact * 10 + Fraction(1, 2))
                got = score(cand(1, dict(enumerate(levels, 1))), required).breakdown["compétences"]
                assert got == tenths / 10, (required, levels)
