"""Where the diffusion waves of published missions stand (models/waves.py applied to the database), and which
missions are due for their next wave."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from prefect import get_run_logger, task
from sqlalchemy import ColumnElement, ScalarSelect, Subquery, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Diffusion,
    Mission,
    MissionCompetence,
    MissionStatus,
    Scope,
    VolunteerCompetence,
)
from models.base import utcnow
from models.db import unit_of_work
from models.settings import get_settings, wave_policy
from models.waves import Wave, WavePolicy, WaveState, is_due, summary
from tasks.runs import pause_key, resume
from tasks.steps import APPLICATIONS, Outcome
from tasks.steps.applications import SCHEDULER, Decision

# The applications that keep a mission from going national: still open or retained.
LIVE = (ApplicationStatus.RECEIVED, ApplicationStatus.SELECTED)


def _fitting() -> ScalarSelect[int]:
    """Applications to the mission whose volunteer meets every required level (correlated to Mission)."""
    meets = (
        exists()
        .where(
            VolunteerCompetence.volunteer_id == Application.volunteer_id,
            VolunteerCompetence.competence_id == MissionCompetence.competence_id,
            VolunteerCompetence.level >= MissionCompetence.min_level,
        )
        .correlate_except(VolunteerCompetence)
    )
    short_of = (
        select(MissionCompetence.competence_id)
        .where(MissionCompetence.mission_id == Application.mission_id, not_(meets))
        .correlate_except(MissionCompetence)
    )
    return (
        select(func.count())
        .select_from(Application)
        .where(Application.mission_id == Mission.id, Application.status.in_(LIVE), not_(exists(short_of)))
        .correlate_except(Application)
        .scalar_subquery()
    )


def selection_asked() -> Subquery:
    """Per mission, when the selection was last asked for — the Passerelle chose « passer à la sélection », or a
    retained volunteer withdrew (the place is filled from the reserve) — if the search did not start again since
    (« reprendre la recherche »). The one definition of « she selects »: no wave goes meanwhile, and the dashboards
    and reminders count the selection's wait from then."""
    reopened = aliased(AuditEvent)
    reopened_since = exists().where(
        reopened.mission_id == AuditEvent.mission_id,
        reopened.at > AuditEvent.at,
        reopened.details["outcome"].as_string() == Outcome.REOPEN.value,
    )
    outcome = AuditEvent.details["outcome"].as_string()
    return (
        select(AuditEvent.mission_id, func.max(AuditEvent.at).label("at"))
        .where(
            or_(
                and_(AuditEvent.action == APPLICATIONS.key, outcome == Outcome.SELECT.value),
                outcome == Outcome.WITHDRAWN.value,
            ),
            not_(reopened_since),
        )
        .group_by(AuditEvent.mission_id)
        .subquery()
    )


def _selecting() -> ColumnElement[bool]:
    """Whether the Passerelle selects (correlated to Mission)."""
    return Mission.id.in_(select(selection_asked().c.mission_id))


def states(session: Session, mission_ids: Iterable[int] | None = None) -> dict[int, WaveState]:
    """The wave state of every mission whose annonce has gone out (or of those of `mission_ids`)."""
    reached_at = (
        select(func.max(Diffusion.sent_at))
        .where(Diffusion.mission_id == Mission.id, Diffusion.wave == Mission.wave)
        .scalar_subquery()
    )
    query = select(
        Mission.id,
        Mission.scope,
        Mission.wave,
        reached_at,
        Mission.published_at,
        Mission.waves_stopped_at,
        _fitting(),
        _selecting(),
    ).where(Mission.wave.is_not(None))
    if mission_ids is not None:
        query = query.where(Mission.id.in_(list(mission_ids)))
    return {
        mid: WaveState(scope is Scope.NATIONAL, wave, at, published, stopped is not None, fitting, selecting)
        for mid, scope, wave, at, published, stopped, fitting, selecting in session.execute(query).tuples()
    }


def state_of(session: Session, mission: Mission) -> WaveState | None:
    """The mission's wave state (None before its publication)."""
    return states(session, [mission.id]).get(mission.id)


def describe(session: Session, mission: Mission) -> str:
    """Where the mission's waves stand, in French (empty before the publication)."""
    state = state_of(session, mission)
    return summary(state, wave_policy(get_settings())) if state is not None else ""


@dataclass(frozen=True)
class DueWave:
    """A published mission whose next wave should go now."""

    mission_id: int
    reference: str
    flow_run_id: str


def due(session: Session, now: datetime, policy: WavePolicy) -> list[DueWave]:
    """Published missions, followed by a run, whose next wave is due at `now`, oldest publication first."""
    candidates = session.execute(
        select(Mission.id, Mission.reference, Mission.flow_run_id)
        .where(
            Mission.status == MissionStatus.PUBLISHED,
            Mission.wave.is_not(None),
            Mission.wave != Wave.NATIONAL,
            Mission.waves_stopped_at.is_(None),
            Mission.flow_run_id.is_not(None),
        )
        .order_by(Mission.published_at, Mission.id)
    ).all()
    found = states(session, [c.id for c in candidates]) if candidates else {}
    return [
        DueWave(c.id, c.reference, c.flow_run_id)
        for c in candidates
        if c.id in found and is_due(found[c.id], policy, now)
    ]


def waiting_applications(flow_run_id: str) -> str:
    """The key of the applications form the run waits at, if it waits at a first asking of one: a form asked
    again after a refusal holds what the Passerelle typed, and is theirs to answer."""
    key = pause_key(flow_run_id)
    return key if key.startswith(f"{APPLICATIONS.round_key}-") and "-essai-" not in key else ""


@task(persist_result=False)
def send_due_waves(now: datetime | None = None) -> list[str]:
    """Answer the applications form of every mission whose next wave is due, as the Passerelle would to send it
    now; the mission run then sends the wave (its diffusion step). A run not waiting at that form (being answered,
    or recovering) is left to the next pass: the wave stays due. `now` moves time (tests)."""
    logger = get_run_logger()
    when = now or utcnow()
    with unit_of_work() as session:
        missions = due(session, when, wave_policy(get_settings()))
    sent = []
    for m in missions:
        try:
            key = waiting_applications(m.flow_run_id)
            if not key:
                logger.info(
                    "%s : vague due, le run n'attend pas le formulaire des candidatures ; au prochain passage",
                    m.reference,
                )
                continue
            if resume(m.flow_run_id, {"decision": Decision.NEXT_WAVE.value, "entered_by": SCHEDULER}):
                sent.append(f"{m.reference} ({key})")
        except Exception:  # one mission's run must not keep the others' waves back
            logger.exception("%s : vague suivante non demandée", m.reference)
    return sent
