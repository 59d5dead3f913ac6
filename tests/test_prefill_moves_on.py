"""A form submitted as prefilled moves the mission on when it can, and otherwise says what it waits for (found by
the stack check of issue 21, bench/stack_check.py): the steps' prefills and verdicts on a database, no Prefect."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prefect.input import RunInput
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Competence, Domain, Mission, MissionCompetence, MissionStatus, Roadmap
from models.base import utcnow
from models.reference_data import ensure_reference_data
from tasks.lookups import find_coordinator
from tasks.missions import open_mission
from tasks.steps import Ctx, Outcome
from tasks.steps import check_in as ci
from tasks.steps import needs_analysis as na
from tasks.steps.base import StepWaits
from tests import factories as f


def as_shown(form: type[RunInput], defaults: dict[str, Any]) -> Any:
    """The answer of a form submitted as it is shown: the prefill over the fields' own defaults."""
    return form.model_validate(defaults)


def requested(session: Session, *, values_checked_days_ago: int | None) -> Mission:
    """A requested mission whose request named its domain and a competence; the association's values checked
    that many days ago (None: never)."""
    ensure_reference_data(session)
    branch = f.branch(session)
    f.coordinator(session, branch)
    checked = None if values_checked_days_ago is None else utcnow().date() - timedelta(days=values_checked_days_ago)
    association = f.association(session, branch, values_validated_on=checked)
    mission = open_mission(
        session,
        association=association,
        coordinator=find_coordinator(session, "claire.muller@pc.example"),
        title="Refonte du site internet",
        request="Notre site date de 2010, nous voulons le refaire.",
    )
    domain = session.scalar(select(Domain).where(Domain.code == "web-numerique"))
    competence = session.scalar(select(Competence).where(Competence.code == "site-web"))
    assert domain is not None and competence is not None
    mission.domain_id = domain.id
    mission.deliverables = "Un site en ligne."
    session.add(MissionCompetence(mission_id=mission.id, competence_id=competence.id))
    session.flush()
    return mission


def test_needs_analysis_as_shown_validates_while_the_values_check_holds(session: Session) -> None:
    mission = requested(session, values_checked_days_ago=200)
    shown = as_shown(na.NeedsAnalysisForm, na.prefill(session, mission, 1).defaults)
    assert shown.decision is na.Decision.VALIDATE
    assert na.apply(session, mission, shown, Ctx(1, "needs-analysis", "x")) is Outcome.CONTINUE
    assert mission.status is MissionStatus.ANALYSED


@pytest.mark.parametrize("days_ago", [400, None], ids=["expired", "never"])
def test_needs_analysis_as_shown_with_the_values_check_due_says_it_waits_for_it(
    session: Session, days_ago: int | None
) -> None:
    # The check of the association's values is a fact of the meeting: the form cannot tick it for the Passerelle.
    # As shown it keeps the analysis in progress, and its note says what validating it still needs.
    mission = requested(session, values_checked_days_ago=days_ago)
    prefill = na.prefill(session, mission, 1)
    assert "à vérifier à cette rencontre" in prefill.section
    shown = as_shown(na.NeedsAnalysisForm, prefill.defaults)
    assert shown.decision is na.Decision.DRAFT and shown.values_accepted is False
    with pytest.raises(StepWaits) as waits:
        na.apply(session, mission, shown, Ctx(1, "needs-analysis", "x"))
    assert "Pour la valider" in str(waits.value) and "adhésion de l'association aux valeurs" in str(waits.value)
    assert mission.status is MissionStatus.REQUESTED
    ticked = shown.model_copy(update={"values_accepted": True, "decision": na.Decision.VALIDATE})
    assert na.apply(session, mission, ticked, Ctx(1, "needs-analysis-essai-2", "x")) is Outcome.CONTINUE
    assert mission.association.values_validated_on == shown.meeting_date


def in_progress(session: Session, *, roadmap_ends_in_days: int) -> Mission:
    mission = requested(session, values_checked_days_ago=10)
    today = utcnow().date()
    mission.status = MissionStatus.IN_PROGRESS
    session.add(
        Roadmap(
            mission_id=mission.id,
            start_on=today - timedelta(days=90),
            end_on=today + timedelta(days=roadmap_ends_in_days),
            validated_on=today - timedelta(days=95),
        )
    )
    session.flush()
    return mission


def test_check_in_as_shown_passes_to_the_bilan_once_the_roadmap_has_ended(session: Session) -> None:
    mission = in_progress(session, roadmap_ends_in_days=0)
    prefill = ci.prefill(session, mission, 3)
    assert "Fin de la feuille de route" in prefill.section
    shown = as_shown(ci.CheckInForm, prefill.defaults)
    assert ci.apply(session, mission, shown, Ctx(3, "check-in-3", "x")) is Outcome.FINISHED


def test_check_in_as_shown_goes_on_while_the_roadmap_runs(session: Session) -> None:
    mission = in_progress(session, roadmap_ends_in_days=30)
    prefill = ci.prefill(session, mission, 1)
    assert "decision" not in prefill.defaults and "Fin de la feuille de route" not in prefill.section
    shown = as_shown(ci.CheckInForm, prefill.defaults)
    assert ci.apply(session, mission, shown, Ctx(1, "check-in-1", "x")) is Outcome.CONTINUE
