"""Where open missions stand: the branch dashboards and the reminders and escalations of overdue steps.

One query loads every open mission with what the rule needs (models/rules.waiting_step over the step
registry); the rest is small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Association,
    AuditEvent,
    Branch,
    CheckIn,
    CheckInStatus,
    Coordinator,
    Mission,
    MissionStatus,
    Roadmap,
    Role,
)
from models.base import utcnow
from models.checks import check_email
from models.db import unit_of_work
from models.rules import REACHED_AT, MissionSnapshot, Waiting
from models.settings import get_settings, wave_policy
from models.waves import summary
from tasks import outsiders, waves
from tasks.compose import compose
from tasks.delivery import deliver_soon
from tasks.notices import run_url
from tasks.outbox import enqueue
from tasks.steps import CHECK_IN, REGISTRY, Outcome, check_in


def service_levels() -> dict[str, int]:
    """The service level of each step, in days: the registry's defaults with the configured overrides."""
    return REGISTRY.levels(get_settings().service_levels)


@dataclass(frozen=True)
class OpenMission:
    """An open mission, as the dashboards and reminders see it."""

    mission_id: int
    reference: str
    branch_code: str
    association: str
    coordinator_id: int
    coordinator: str
    waiting: Waiting
    flow_run_id: str | None
    health: CheckInStatus | None = None  # of the latest check-in
    diffusion: str = ""  # where the diffusion waves stand, while the mission looks for volunteers


def open_missions(
    session: Session, *, today: date, levels: dict[str, int], mission_id: int | None = None
) -> list[OpenMission]:
    """Every open mission (or only `mission_id`) with the step it waits at, oldest wait first."""
    last_check_in = (
        select(CheckIn.mission_id, func.max(CheckIn.held_on).label("held_on")).group_by(CheckIn.mission_id).subquery()
    )
    selection_asked = waves.selection_asked()
    reopened = (  # the last time the search went back to its applications, or a volunteer withdrew
        select(AuditEvent.mission_id, func.max(AuditEvent.at).label("at"))
        .where(AuditEvent.details["outcome"].as_string().in_([Outcome.WITHDRAWN.value, Outcome.REOPEN.value]))
        .group_by(AuditEvent.mission_id)
        .subquery()
    )
    health = (
        select(CheckIn.status).where(CheckIn.mission_id == Mission.id).order_by(CheckIn.number.desc()).limit(1)
    ).scalar_subquery()
    query = (
        select(
            Mission,
            health,
            Branch.code,
            Association.name,
            Coordinator.first_name,
            Coordinator.last_name,
            last_check_in.c.held_on,
            selection_asked.c.at,
            reopened.c.at,
            Roadmap.end_on,
            Roadmap.checkin_every_days,
        )
        .join(Branch, Branch.id == Mission.branch_id)
        .join(Association, Association.id == Mission.association_id)
        .join(Coordinator, Coordinator.id == Mission.coordinator_id)
        .outerjoin(last_check_in, last_check_in.c.mission_id == Mission.id)
        .outerjoin(selection_asked, selection_asked.c.mission_id == Mission.id)
        .outerjoin(reopened, reopened.c.mission_id == Mission.id)
        .outerjoin(Roadmap, Roadmap.mission_id == Mission.id)
        .where(Mission.status.not_in([MissionStatus.COMPLETED, MissionStatus.CANCELLED]))
    )
    if mission_id is not None:
        query = query.where(Mission.id == mission_id)
    result = []
    rows = session.execute(query).tuples().all()
    published = [m.id for m, *_ in rows if m.status is MissionStatus.PUBLISHED]
    wave_states = waves.states(session, published) if published else {}
    policy = wave_policy(get_settings())
    for m, status, code, association, first, last, checked, asked, back_on, end_on, every in rows:
        reached = {s: (getattr(m, col).date() if getattr(m, col) else None) for s, col in REACHED_AT.items()}
        if back_on is not None:  # the search reopened: a selection asked before it no longer counts
            reached[MissionStatus.PUBLISHED] = back_on.date()
        asked_on = asked.date() if asked is not None else None
        snapshot = MissionSnapshot(
            m.status,
            today=today,
            reached=reached,
            selection_asked_on=asked_on,
            last_check_in=checked,
            roadmap_end=end_on,
            checkin_every_days=every,
        )
        waiting = REGISTRY.waiting(snapshot, levels)
        assert waiting is not None
        result.append(
            OpenMission(
                m.id,
                m.reference,
                code,
                association,
                m.coordinator_id,
                f"{first} {last}",
                waiting,
                m.flow_run_id,
                CheckInStatus(status) if status else None,
                summary(wave_states[m.id], policy) if m.id in wave_states else "",
            )
        )
    return sorted(result, key=lambda o: (o.waiting.since, o.reference))


def dashboard_rows(missions: list[OpenMission], today: date) -> list[dict[str, Any]]:
    """One table row per open mission, in French."""
    return [
        {
            "Référence": o.reference,
            "Association": o.association,
            "Étape": REGISTRY[o.waiting.step].label,
            "Passerelle": o.coordinator,
            "En attente depuis (jours)": o.waiting.days(today),
            "Délai prévu (jours)": o.waiting.level_days,
            "En retard": ["non", "oui", "oui, signalé à l'antenne"][o.waiting.overdue_level(today)],
            "Prochaine action": REGISTRY[o.waiting.step].next_action,
            "Dernier point": o.health.label if o.health else "—",
            "Diffusion": o.diffusion or "—",
        }
        for o in missions
    ]


def national_summary(missions: list[OpenMission], branches: list[str], today: date) -> list[dict[str, Any]]:
    """Per branch: open missions, overdue ones, and the busiest Passerelles."""
    rows = []
    for code in branches:
        mine = [o for o in missions if o.branch_code == code]
        load: dict[str, int] = {}
        for o in mine:
            load[o.coordinator] = load.get(o.coordinator, 0) + 1
        busiest = ", ".join(f"{name} ({n})" for name, n in sorted(load.items(), key=lambda x: (-x[1], x[0]))[:3])
        rows.append(
            {
                "Antenne": code,
                "Missions ouvertes": len(mine),
                "En retard": sum(1 for o in mine if o.waiting.overdue_level(today) >= 1),
                "Signalées à l'antenne": sum(1 for o in mine if o.waiting.overdue_level(today) == 2),
                "À risque ou bloquées": sum(1 for o in mine if o.health and o.health.alarming),
                "Passerelles les plus chargées": busiest or "—",
            }
        )
    return rows


def remind(session: Session, missions: list[OpenMission], today: date) -> dict[str, Any]:
    """Queue a reminder to the Passerelle for each step past its level, and to the branch lead past twice it.

    One mail per mission, step, waiting period and level, whatever how often this runs. Each mission is handled
    on its own: one that fails (a bad address, no branch lead) is reported and the others go on.
    """
    leads = dict(
        session.execute(
            select(Branch.code, Coordinator)
            .join(Coordinator, Coordinator.branch_id == Branch.id)
            .where(Coordinator.role == Role.BRANCH_LEAD, Coordinator.active.is_(True))
            .order_by(Coordinator.id.desc())
        )
        .tuples()
        .all()
    )
    counts = {"reminders": 0, "escalations": 0}
    errors: list[str] = []
    for o in missions:
        level = o.waiting.overdue_level(today)
        if level == 0:
            continue
        try:
            _remind_one(session, o, level, leads.get(o.branch_code), today, counts)
        except Exception as exc:
            errors.append(f"{o.reference} : {exc}")
    return {**counts, "errors": errors}


def _remind_one(
    session: Session, o: OpenMission, level: int, lead: Coordinator | None, today: date, counts: dict[str, int]
) -> None:
    passerelle = session.get(Coordinator, o.coordinator_id)
    assert passerelle is not None
    period = f"{o.waiting.step}:{o.waiting.since.isoformat()}"
    ctx = {
        "o": o,
        "step": REGISTRY[o.waiting.step].label,
        "days": o.waiting.days(today),
        "action": REGISTRY[o.waiting.step].next_action,
        "url": run_url(o.flow_run_id) if o.flow_run_id else "",
    }
    to = check_email(passerelle.email)
    if enqueue(
        session,
        mission_id=o.mission_id,
        kind="reminder",
        about=period,
        to=to,
        content=compose("reminder", name=passerelle.first_name, **ctx),
    ):
        counts["reminders"] += 1
    if level == 2:
        if lead is None:
            raise ValueError(f"l'antenne {o.branch_code} n'a pas de responsable à qui signaler le retard")
        if enqueue(
            session,
            mission_id=o.mission_id,
            kind="escalation",
            about=period,
            to=check_email(lead.email),
            content=compose("escalation", name=lead.first_name, **ctx),
        ):
            counts["escalations"] += 1


def branch_key(code: str) -> str:
    """Artifact key of a branch's dashboard."""
    return f"antenne-{code.lower()}-missions-ouvertes"


NATIONAL_KEY = "national-missions-ouvertes"


@task(name="publish-dashboards")
def publish_dashboards(today: date | None = None) -> dict[str, int]:
    """Publish each branch's table of open missions and the national summary (keyed table artifacts)."""
    today = today or utcnow().date()
    with unit_of_work() as session:
        missions = open_missions(session, today=today, levels=service_levels())
        branches = list(session.scalars(select(Branch.code).order_by(Branch.code)))
    for code in branches:
        mine = [o for o in missions if o.branch_code == code]
        late = sum(1 for o in mine if o.waiting.overdue_level(today))
        create_table_artifact(
            table=dashboard_rows(mine, today) or [{"Référence": "—", "Prochaine action": "aucune mission ouverte"}],
            key=branch_key(code),
            description=f"Antenne {code} : {len(mine)} mission(s) ouverte(s), dont {late} en retard, "
            f"au {today:%d/%m/%Y}.",
        )
    create_table_artifact(
        table=national_summary(missions, branches, today),
        key=NATIONAL_KEY,
        description=f"Missions ouvertes par antenne au {today:%d/%m/%Y}.",
    )
    return {"branches": len(branches), "open_missions": len(missions)}


@task(name="send-reminders")
def send_reminders(today: date | None = None) -> dict[str, Any]:
    """Queue the reminders and escalations due today (the `send-mails` flow sends them)."""
    today = today or utcnow().date()
    with unit_of_work() as session:
        missions = open_missions(session, today=today, levels=service_levels())
        result = remind(session, missions, today)
        result["news_asked"] = ask_due_news(session, missions, today)
        result.update(outsiders.remind_outsiders(session, utcnow()))
    deliver_soon()
    return result


def ask_due_news(session: Session, missions: list[OpenMission], today: date) -> int:
    """At each check-in date (the roadmap's rhythm reached), ask the association and each retained volunteer how
    the mission goes, by their links (once per check-in and person); how many were asked."""
    asked = 0
    for o in missions:
        if o.waiting.step != CHECK_IN.key or not outsiders.check_in_due(o.waiting.since, o.waiting.level_days, today):
            continue
        m = session.get(Mission, o.mission_id)
        if m is not None:
            asked += outsiders.ask_news(session, m, check_in.next_round(session, m.id))
    return asked
