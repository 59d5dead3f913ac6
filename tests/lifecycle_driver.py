"""Drive mission-lifecycle runs in this process against the real Prefect server (see PREFECT_NOTES.md):
run until the run suspends, resume it through the API with `run_input`, run the replay to the next suspend."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.flow_engine import run_flow
from prefect.flow_runs import resume_flow_run
from prefect.input.run_input import keyset_from_paused_state
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.mission_lifecycle import mission_lifecycle
from models import Branch, Mission, Role
from models.base import utcnow
from models.db import session_factory, unit_of_work
from models.reference_data import ensure_reference_data
from tasks import notices
from tasks.lookups import find_association, find_coordinator
from tasks.missions import open_mission
from tasks.outbox import send_pending
from tasks.runs import start_run
from tests import factories as f


def deploy() -> None:
    """Register the lifecycle deployment (no process serves it: the test runs it in-process)."""
    # Called outside an event loop: `to_deployment` and `apply` dispatch to their sync implementations.
    deployment = cast(RunnerDeployment, mission_lifecycle.to_deployment(name="mission-lifecycle"))
    deployment.apply()


def seed_small(n_volunteers: int = 6) -> dict[str, Any]:
    """A branch, a Passerelle with a lead, an association and a few volunteers with web competences.

    Volunteers V-1..V-n: the last one without consent; the even ones accept national annonces.
    """
    with unit_of_work() as s:
        ensure_reference_data(s)
        branch = s.scalar(select(Branch).where(Branch.code == "STR"))
        if branch is None:
            branch = f.branch(s, "STR", founded_on=date(2008, 1, 1))
            f.coordinator(s, branch, "Claire", "Muller")
            f.coordinator(s, branch, "Jean", "Kieffer", role=Role.BRANCH_LEAD)
            f.association(s, branch)
            for i in range(1, n_volunteers + 1):
                f.volunteer(
                    s,
                    branch,
                    first_name=f"Prénom{i}",
                    last_name=f"Nom{i}",
                    email=f"benevole{i}@exemple.fr",
                    consent_announcements=i != n_volunteers,
                    consent_national=i % 2 == 0,
                    competences={"site-web": 1 + i % 3},
                )
        return {"branch_id": branch.id}


def new_mission(
    s: Session, title: str = "Refonte du site internet", passerelle: str = "claire.muller@pc.example"
) -> Mission:
    """Open a mission of the small seed's association, in the caller's transaction."""
    return open_mission(
        s,
        association=find_association(s, "Les Restos du Quartier"),
        coordinator=find_coordinator(s, passerelle),
        title=title,
        request="Notre site date de 2010, nous voulons le refaire.",
    )


def open_and_start(title: str = "Refonte du site internet") -> tuple[int, str]:
    """Open a mission in the database and start its run; (mission id, flow run id)."""
    with unit_of_work() as s:
        mission_id = new_mission(s, title).id
    return mission_id, start_run(mission_id)


def submit_form(flow_run_id: str, run_input: dict[str, Any]) -> tuple[bool, str]:
    """Resume through the API as the UI does; (accepted, reason). The server answers a refused or losing resume
    with a status in the body (REJECT or ABORT), which `prefect.flow_runs.resume_flow_run` only partly raises."""
    from prefect.client.schemas.responses import SetStateStatus

    with get_client(sync_client=True) as client:
        result = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    return result.status == SetStateStatus.ACCEPT, str(getattr(result.details, "reason", "") or "")


@dataclass
class Driver:
    """One mission's run, moved step by step."""

    flow_run_id: str
    keys: list[str] = field(default_factory=list)

    def read(self) -> FlowRun:
        async def go() -> FlowRun:
            async with get_client() as c:
                return await c.read_flow_run(UUID(self.flow_run_id))

        return run_coro_as_sync(go())

    def state(self) -> State:
        """The run's current state (a run always has one once created)."""
        state = self.read().state
        assert state is not None
        return state

    def run(self) -> FlowRun:
        """Execute the run in this process until it suspends or ends."""
        try:
            run_flow(mission_lifecycle, flow_run=self.read(), return_type="state")
        except BaseException as exc:  # the engine re-raises Pause/Abort in some versions
            if type(exc).__name__ not in ("Pause", "Abort"):
                raise
        send_pending(session_factory(), on_failure=notices.undelivered)  # what the send-mails flow does
        fr = self.read()
        if fr.state and fr.state.type == StateType.PAUSED:
            self.keys.append(fr.state.state_details.pause_key or "")
        return fr

    def form(self) -> dict[str, Any]:
        """The waiting form: its key, description (markdown) and JSON schema."""
        fr = self.read()
        state = fr.state
        assert state is not None and state.type == StateType.PAUSED, state
        keyset = keyset_from_paused_state(state)

        async def go() -> dict[str, Any]:
            async with get_client() as c:
                run_id = UUID(self.flow_run_id)
                return {
                    "key": state.state_details.pause_key,
                    "description": json.loads(await c.read_flow_run_input(run_id, keyset["description"])),
                    "schema": json.loads(await c.read_flow_run_input(run_id, keyset["schema"])),
                }

        return run_coro_as_sync(go())

    def choices(self, name: str) -> list[str]:
        """The choices the waiting form offers for a list field (the retained volunteers of « agreed_by_phone »)."""
        return list(self.form()["schema"]["properties"][name]["items"]["enum"])

    def shown_annonce(self, **over: Any) -> dict[str, Any]:
        """The waiting annonce form's text (its prefill, the draft or the previous version) approved."""
        return annonce(self.form()["schema"]["properties"]["text"]["default"], **over)

    def agreed_roadmap(self, **over: Any) -> dict[str, Any]:
        """The roadmap validated, every retained volunteer's agreement recorded by the Passerelle (by phone)."""
        return roadmap(agreed_by_phone=self.choices("agreed_by_phone"), **over)

    def resume(self, run_input: dict[str, Any], *, run: bool = True) -> FlowRun:
        """Submit the form through the API (retrying 503s of the SQLite server), then replay to the next suspend."""
        for attempt in range(10):
            try:
                resume_flow_run(UUID(self.flow_run_id), run_input=run_input)
                break
            except Exception as exc:  # the SQLite-backed server may answer 503 under load
                if "503" not in str(exc) or attempt == 9:
                    raise
                time.sleep(0.5)
        return self.run() if run else self.read()


def send_queued() -> None:
    """Send what the outbox holds, as the send-mails flow does."""
    send_pending(session_factory(), on_failure=notices.undelivered)


def published() -> tuple[int, str, Driver]:
    """A new mission run through its needs analysis and its annonce, approved: it waits at `applications-1`."""
    mission_id, run_id = open_and_start()
    drv = Driver(run_id)
    drv.run()
    drv.resume(needs_analysis())
    drv.resume(drv.shown_annonce())
    return mission_id, run_id, drv


def today() -> date:
    return utcnow().date()


# One builder per step form: a valid answer, the one that moves the mission on; a test names only what differs
# (`needs_analysis(volunteers_needed=2)`, `applications("V-1", decision="attendre d'autres candidatures")`).


def needs_analysis(**over: Any) -> dict[str, Any]:
    """A valid needs-analysis answer: the analysis validated."""
    d = {
        "meeting_date": str(today()),
        "values_accepted": True,
        "title": "Refonte du site internet",
        "need": "Un site clair pour présenter nos actions et recruter des bénévoles.",
        "deliverables": "Un site WordPress en ligne et une formation de l'équipe.",
        "domain": "web-numerique · Web et numérique",
        "competences": ["site-web · Conception de site internet (Web et numérique)"],
        "effort": "Deux demi-journées par mois",
        "expected_start": str(today() + timedelta(days=10)),
        "expected_end": str(today() + timedelta(days=100)),
        "remote_ok": False,
        "volunteers_needed": 1,
        "decision": "valider l'analyse",
        "cancel_reason": "",
    }
    d.update(over)
    return d


def annonce(text: str, **over: Any) -> dict[str, Any]:
    """A valid annonce answer: `text` approved by the association (`Driver.shown_annonce`: the text as shown)."""
    d = {"text": text, "decision": "approuvée par l'association", "remarks": "", "cancel_reason": ""}
    d.update(over)
    return d


def applications(applications: str = "", **over: Any) -> dict[str, Any]:
    """A valid applications answer: these applications (one per line, none by default) recorded, on to the
    selection."""
    d = {"applications": applications, "decision": "passer à la sélection", "cancel_reason": ""}
    d.update(over)
    return d


def selection(selected: list[str], **over: Any) -> dict[str, Any]:
    """A valid selection answer: `selected` retained (labels among the form's choices), no one else asking for
    another mission."""
    d = {"selected": selected, "wants_other": [], "decision": "valider la sélection", "cancel_reason": ""}
    d.update(over)
    return d


def roadmap(**over: Any) -> dict[str, Any]:
    """A valid roadmap answer: validated by the association (`Driver.agreed_roadmap`: and by every retained
    volunteer)."""
    start, end = today() + timedelta(days=10), today() + timedelta(days=100)
    d = {
        "objectives": [
            {"objective": "Maquette validée", "deliverable": "Maquette", "due_on": str(start + timedelta(days=20))},
            {"objective": "Site en ligne", "deliverable": "Site", "due_on": str(end)},
        ],
        "start_on": str(start),
        "end_on": str(end),
        "checkin_every_days": 30,
        "validated_by_association": True,
        "validated_on": str(today()),
        "notes": "",
        "decision": "valider la feuille de route",
        "cancel_reason": "",
    }
    d.update(over)
    return d


def check_in(**over: Any) -> dict[str, Any]:
    """A valid check-in answer: on time, the mission goes on."""
    d = {
        "held_on": str(today()),
        "status": "dans les temps",
        "notes": "RAS",
        "decision": "poursuivre la mission",
        "cancel_reason": "",
    }
    d.update(over)
    return d


def review(**over: Any) -> dict[str, Any]:
    """A valid bilan answer: both ratings given, the mission completed."""
    d = {
        "held_on": str(today()),
        "association_rating": 5,
        "volunteer_rating": 4,
        "objectives_met": "oui",
        "testimony": "Une belle collaboration.",
        "association_would_redo": True,
        "volunteer_would_redo": True,
        "decision": "enregistrer le bilan et terminer la mission",
    }
    d.update(over)
    return d
