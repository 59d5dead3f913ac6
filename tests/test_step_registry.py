"""Adding a step takes a module and a registry line: the card, the dashboard and the reminders follow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy.orm import Session

from models import Mission, MissionStatus
from models.base import utcnow
from models.db import session_factory, unit_of_work
from models.rules import MissionSnapshot
from tasks.monitoring import dashboard_rows, open_missions, remind, service_levels
from tasks.outbox import send_pending
from tasks.steps import REGISTRY, Ctx, Outcome, Prefill, Step
from tasks.views import card
from tests import lifecycle_driver as d

# --- what a new step module would hold ---------------------------------------------------------------------


class SiteVisitForm(RunInput):
    """A visit to the association before the roadmap (fictitious)."""

    held_on: date = Field(title="Date de la visite", description="Quand vous êtes allé(e) sur place.")


def _prefill(session: Session, mission: Mission, n: int) -> Prefill:
    return Prefill(defaults={"held_on": utcnow().date()})


def _apply(session: Session, mission: Mission, answer: SiteVisitForm, ctx: Ctx) -> Outcome:
    return Outcome.CONTINUE


def _since(snapshot: MissionSnapshot) -> date | None:
    return snapshot.status_since  # while the mission is `selected`, after the roadmap in the order: it wins


SITE_VISIT = Step(
    key="site-visit",
    label="Visite sur site",
    instructions="Rendez visite à l'association avec le bénévole retenu.",
    next_action="organiser la visite sur site",
    service_level=3,
    status=MissionStatus.SELECTED,
    form=SiteVisitForm,
    prefill=_prefill,
    apply=_apply,
    since=_since,
)

# -------------------------------------------------------------------------------------------------------------


def test_a_new_step_shows_on_card_dashboard_and_reminders(app_db, mail_server) -> None:
    d.seed_small()
    today = utcnow().date()
    with unit_of_work() as s:
        m = d.new_mission(s)
        m.status = MissionStatus.SELECTED
        m.selected_at = datetime.combine(today - timedelta(days=10), datetime.min.time(), tzinfo=UTC)
        mission_id = m.id

    with REGISTRY.extended(SITE_VISIT, after="roadmap"), unit_of_work() as s:
        mission = s.get(Mission, mission_id)
        assert mission is not None
        text = card(s, mission)
        assert "Visite sur site, depuis 10 jour(s)" in text
        assert "organiser la visite sur site" in text
        assert "sur 9" in text  # one more step in the progress
        [row] = dashboard_rows(open_missions(s, today=today, levels=service_levels()), today)
        assert row["Étape"] == "Visite sur site" and row["Prochaine action"] == "organiser la visite sur site"
        assert row["Délai prévu (jours)"] == 3 and row["En retard"] == "oui, signalé à l'antenne"
        result = remind(s, open_missions(s, today=today, levels=service_levels()), today)
        assert result == {"reminders": 1, "escalations": 1, "errors": []}
    send_pending(session_factory())
    subjects = sorted(str(m["Subject"]) for m in mail_server.messages)
    assert all("Visite sur site" in subject for subject in subjects) and len(subjects) == 2

    with unit_of_work() as s:  # without it, the same mission waits for its roadmap again
        [row] = dashboard_rows(open_missions(s, today=today, levels=service_levels()), today)
        assert row["Étape"] == "Feuille de route"
