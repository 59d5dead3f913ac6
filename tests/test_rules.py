"""Pure rules: lifecycle transitions, fee brackets, references. No database, no Prefect."""

from __future__ import annotations

import itertools

import pytest

from models.rules import (
    Bracket,
    IllegalTransition,
    MissionStatus,
    can_transition,
    check_brackets,
    check_transition,
    fees_for_budget,
    format_reference,
    next_sequence,
    parse_reference,
)

S = MissionStatus
FORWARD = [S.REQUESTED, S.ANALYSED, S.APPROVED, S.PUBLISHED, S.SELECTED, S.IN_PROGRESS, S.COMPLETED]


@pytest.mark.parametrize(("a", "b"), itertools.pairwise(FORWARD))
def test_forward_steps_allowed(a: MissionStatus, b: MissionStatus) -> None:
    check_transition(a, b)


@pytest.mark.parametrize("a", FORWARD[:-1])
def test_every_open_status_can_be_cancelled(a: MissionStatus) -> None:
    assert can_transition(a, S.CANCELLED)


def test_illegal_transition_names_both_states() -> None:
    with pytest.raises(IllegalTransition) as exc:
        check_transition(S.REQUESTED, S.IN_PROGRESS)
    msg = str(exc.value)
    assert "Demandée" in msg and "requested" in msg
    assert "En cours" in msg and "in_progress" in msg


@pytest.mark.parametrize("target", list(S))
def test_terminal_statuses_are_final(target: MissionStatus) -> None:
    assert not can_transition(S.COMPLETED, target)
    assert not can_transition(S.CANCELLED, target)


def test_no_skipping_or_going_back() -> None:
    assert not can_transition(S.PUBLISHED, S.ANALYSED)
    assert not can_transition(S.ANALYSED, S.PUBLISHED)
    assert not can_transition(S.ANALYSED, S.ANALYSED)


BRACKETS = [
    Bracket(0, 50_000, 50, 100),
    Bracket(50_000, 300_000, 100, 250),
    Bracket(300_000, None, 200, 500),
]


@pytest.mark.parametrize(
    ("budget", "expected"),
    [(0, (50, 100)), (49_999, (50, 100)), (50_000, (100, 250)), (299_999, (100, 250)), (10**9, (200, 500))],
)
def test_fees_by_bracket_boundaries(budget: int, expected: tuple[int, int]) -> None:
    fees = fees_for_budget(budget, BRACKETS)
    assert (fees.membership_fee, fees.search_fee) == expected


def test_negative_budget_rejected_in_french() -> None:
    with pytest.raises(ValueError, match="négatif"):
        fees_for_budget(-1, BRACKETS)


def test_brackets_must_cover_everything() -> None:
    check_brackets(BRACKETS)
    with pytest.raises(ValueError, match="Trou"):
        check_brackets([Bracket(0, 10, 1, 1), Bracket(20, None, 1, 1)])
    with pytest.raises(ValueError, match="ouverte"):
        check_brackets([Bracket(0, 10, 1, 1)])
    with pytest.raises(ValueError, match="Aucune tranche"):
        fees_for_budget(5, [Bracket(10, None, 1, 1)])


def test_reference_format_and_parse() -> None:
    assert format_reference("str", 2026, 14) == "STR-2026-014"
    assert format_reference("MUL", 2026, 1234) == "MUL-2026-1234"
    assert parse_reference(" str-2026-014 ") == ("STR", 2026, 14)
    with pytest.raises(ValueError, match="Référence de mission invalide"):
        parse_reference("2026-STR-14")
    with pytest.raises(ValueError):
        format_reference("STR", 2026, 0)


def test_next_sequence() -> None:
    assert next_sequence([]) == 1
    assert next_sequence([1, 2, 7]) == 8
