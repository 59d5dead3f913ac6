"""Lifecycle paths other than the straight one: revisions, cancellations, refused input, concurrent resumes."""

from __future__ import annotations

import contextvars
import threading
import time
from datetime import timedelta
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from sqlalchemy import func, select

from models import (
    Announcement,
    AnnouncementStatus,
    Application,
    AuditEvent,
    Mission,
    MissionStatus,
    OutboxMail,
    Roadmap,
)
from models.db import unit_of_work
from tests import lifecycle_driver as d

pytestmark = pytest.mark.slow


def status(mission_id: int) -> MissionStatus:
    with unit_of_work() as s:
        return s.get(Mission, mission_id).status  # type: ignore[union-attr]


def kinds(server) -> list[str]:
    return [m["X-Passerelles-Kind"] for m in server.messages]


def to_annonce(drv: d.Driver) -> None:
    drv.run()
    drv.resume(d.needs_analysis())


def approve(drv: d.Driver) -> None:
    drv.resume(drv.shown_annonce())


def test_annonce_revision_round(lifecycle) -> None:
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    to_annonce(drv)
    drv.resume(d.annonce("Première version", decision="à réviser", remarks="Plus court, svp."))
    form = drv.form()
    assert form["key"] == "annonce-review-2"
    assert "Plus court, svp." in form["description"]
    assert form["schema"]["properties"]["text"]["default"] == "Première version"
    assert status(mission_id) is MissionStatus.ANALYSED
    drv.resume(d.annonce("Version courte"))
    assert status(mission_id) is MissionStatus.PUBLISHED
    with unit_of_work() as s:
        rows = list(
            s.execute(
                select(Announcement.round, Announcement.status, Announcement.text)
                .where(Announcement.mission_id == mission_id)
                .order_by(Announcement.round)
            )
        )
    assert [(r, st) for r, st, _ in rows] == [(1, AnnouncementStatus.REVISE), (2, AnnouncementStatus.APPROVED)]
    assert rows[1][2] == "Version courte"


@pytest.mark.parametrize("where", ["needs-analysis", "applications", "check-in", "review"])
def test_cancel_at_four_steps(lifecycle, where: str) -> None:
    mail = lifecycle
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    cancel = {"decision": "annuler la mission", "cancel_reason": "L'association a trouvé une solution en interne."}
    if where == "needs-analysis":
        fr = drv.resume(d.needs_analysis(**cancel))
        told_volunteers = 0
    else:
        drv.resume(d.needs_analysis())
        approve(drv)
        drv.resume(d.applications("V-1\nV-2", decision="attendre d'autres candidatures"))
        if where in ("check-in", "review"):
            drv.resume(d.applications())
            labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
            drv.resume(d.selection(labels[:1]))
            drv.resume(drv.agreed_roadmap())
            assert drv.form()["key"] == "check-in-1"
            told_volunteers = 1  # the retained one; the other was thanked at selection
            if where == "check-in":
                fr = drv.resume(d.check_in(**cancel))
            else:  # the bilan form cancels too: a mission stopped before its end
                drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
                drv.resume(d.review(association_rating=None))
                assert drv.form()["key"] == "review-essai-2"
                assert "Indiquez les deux notes" in drv.form()["description"]
                fr = drv.resume({"held_on": str(d.today()), **cancel})
        else:
            assert drv.form()["key"] == "applications-2"
            told_volunteers = 2
            fr = drv.resume(d.applications(**cancel))
    assert fr.state is not None and fr.state.name == "Annulée" and fr.state.type.value == "COMPLETED"
    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert m is not None
        assert m.status is MissionStatus.CANCELLED and m.cancel_reason.startswith("L'association")
        assert m.cancelled_from is not None
    cancelled = [m for m in mail.messages if m["X-Passerelles-Kind"] == "cancelled"]
    assert len(cancelled) == told_volunteers + 1  # + the association
    assert "contact@restos.example" in [m["To"] for m in cancelled]
    assert "solution en interne" in cancelled[0].get_body(("plain",)).get_content()


def test_cancel_without_reason_is_asked_again(lifecycle) -> None:
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis(decision="annuler la mission", cancel_reason="  "))
    form = drv.form()
    assert form["key"] == "needs-analysis-essai-2"
    assert "motif d'annulation" in form["description"]
    assert status(mission_id) is MissionStatus.REQUESTED


def test_wrong_but_well_formed_input_is_asked_again(lifecycle) -> None:
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    today = d.today()
    bad = d.needs_analysis(expected_start=str(today + timedelta(days=30)), expected_end=str(today), need="Texte gardé")
    drv.resume(bad)
    form = drv.form()
    assert form["key"] == "needs-analysis-essai-2"
    assert form["description"].startswith("> ⚠️ **Saisie refusée**")
    assert "précède le début" in form["description"]
    assert form["schema"]["properties"]["need"]["default"] == "Texte gardé"  # nothing typed is lost
    assert status(mission_id) is MissionStatus.REQUESTED
    drv.resume(d.needs_analysis())
    text = drv.form()["schema"]["properties"]["text"]["default"]
    drv.resume(d.annonce("   "))
    form = drv.form()
    assert form["key"] == "annonce-review-1-essai-2" and "annonce est vide" in form["description"]
    drv.resume(d.annonce(text))
    drv.resume(d.applications("V-0001\nV-9999\ninconnu@exemple.fr"))
    form = drv.form()
    assert form["key"] == "applications-1-essai-2"
    assert "Bénévole inconnu : « V-9999 »" in form["description"]
    assert "inconnu@exemple.fr" in form["description"]
    with unit_of_work() as s:  # all or nothing: V-0001 was not recorded either
        assert s.scalar(select(func.count()).select_from(Application)) == 0
    drv.resume(d.applications("V-0001"))
    # Selecting someone who did not apply: the form only offers applicants, and the server refuses anything else.
    with pytest.raises(RuntimeError, match="is not one of"):
        resume_flow_run(UUID(run_id), run_input=d.selection(["V-0004 Prénom4 Nom4"]))
    assert drv.form()["key"] == "selection"
    drv.resume(d.selection([]))
    form = drv.form()
    assert form["key"] == "selection-essai-2" and "Retenez au moins un bénévole" in form["description"]
    assert status(mission_id) is MissionStatus.PUBLISHED
    with unit_of_work() as s:
        refused = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("%:refused")))
        told = list(s.scalars(select(OutboxMail.dedup_key).where(OutboxMail.kind == "waiting")))
    assert refused == 4
    # one « À vous » per step, not per refused attempt
    assert sorted(k.rsplit(":", 1)[1] for k in told) == ["annonce", "applications", "needs-analysis", "selection"]


def test_schema_rejects_out_of_range_before_the_flow(lifecycle) -> None:
    _, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    with pytest.raises(RuntimeError, match=r"volunteers_needed|maximum|10"):
        resume_flow_run(UUID(run_id), run_input=d.needs_analysis(volunteers_needed=50))
    assert drv.state().type.value == "PAUSED"


def test_two_resumes_of_the_same_step_exactly_one_wins(lifecycle) -> None:
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    results: list[str] = []
    barrier = threading.Barrier(2)

    def submit(title: str) -> None:
        barrier.wait()
        try:
            accepted, _ = d.submit_form(run_id, d.needs_analysis(title=title))
        except Exception as exc:  # an HTTP error (409, 503...) refuses the loser as well
            accepted = False
            results.append(f"refused:{type(exc).__name__}")
            return
        results.append(f"ok:{title}" if accepted else "refused:")

    # Each thread carries this test's Prefect settings (a thread starts with none of the caller's context).
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(submit, t)) for t in ("Titre A", "Titre B")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.split(":")[0] for r in results) == ["ok", "refused"], results
    winner = next(r.split(":", 1)[1] for r in results if r.startswith("ok"))
    drv.run()
    with unit_of_work() as s:
        assert s.get(Mission, mission_id).title == winner  # type: ignore[union-attr]
    assert drv.form()["key"] == "annonce-review-1"


def test_a_suspend_cut_short_is_asked_again_under_a_new_key(lifecycle) -> None:
    """A run stopped while it suspends, then rescheduled (serve --recover), must not reuse the unanswered key."""
    from prefect import get_client
    from prefect.states import Scheduled

    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    assert drv.form()["key"] == "needs-analysis"
    with get_client(sync_client=True) as c:  # what recover_runs does to an interrupted run
        c.set_flow_run_state(UUID(run_id), Scheduled(), force=True)
    drv.run()
    form = drv.form()
    assert form["key"] == "needs-analysis-reprise"
    assert "Analyse du besoin" in form["description"]
    drv.resume(d.needs_analysis())
    assert drv.form()["key"] == "annonce-review-1"
    assert status(mission_id) is MissionStatus.ANALYSED


def test_retained_volunteers_withdraw_before_the_roadmap_and_during_the_mission(lifecycle) -> None:
    """The seed's path back: a retained volunteer withdraws → the selection again, for the empty place, from the
    reserve (no new diffusion; the association told), then a roadmap under keys of their own; again during the
    mission, from those the closed search thanked, where the Passerelle chooses to search again (applications);
    then the mission runs to its bilan with every step audited once and every mail once."""
    from tasks.monitoring import open_missions, service_levels
    from tasks.steps import APPLICATIONS
    from tasks.steps.answers import first_round, returns
    from tasks.steps.withdrawal import DECISION

    mail = lifecycle
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    to_annonce(drv)
    approve(drv)
    drv.resume(d.applications("V-0001\nV-0002\nV-0003"))
    labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
    first, second, third = labels[0], labels[1], labels[2]
    drv.resume(d.selection([first], wants_other=[second]))
    with unit_of_work() as s:
        published_at = s.get(Mission, mission_id).published_at  # type: ignore[union-attr]
    assert kinds(mail).count("reserve") == 2

    # Before the roadmap: the form offers the retained volunteer; naming nobody is refused in French.
    form = drv.form()
    assert form["key"] == "roadmap"
    assert form["schema"]["properties"]["withdrawn"]["items"]["enum"] == [first]
    drv.resume(d.roadmap(decision=DECISION, withdrawn=[], notes="Mutation professionnelle"))
    form = drv.form()
    assert form["key"] == "roadmap-essai-2" and "qui se désiste" in form["description"]
    drv.resume(d.roadmap(decision=DECISION, withdrawn=[first], notes="Mutation professionnelle"))
    form = drv.form()
    assert form["key"] == "selection-retour-1"  # straight to the reserve: no new applications round
    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert m is not None and m.status is MissionStatus.PUBLISHED
        assert m.published_at == published_at and m.selected_at is None  # nobody retained any more
        statuses = dict(
            s.execute(select(Application.volunteer_id, Application.status).where(Application.mission_id == mission_id))
            .tuples()
            .all()
        )
        assert sorted(statuses.values()) == ["reserve", "reserve", "withdrawn"]
        assert returns(s, mission_id) == 1 and first_round(s, mission_id, APPLICATIONS) == 2
        waiting = open_missions(s, today=d.today(), levels=service_levels(), mission_id=mission_id)[0].waiting
        assert (waiting.step, waiting.since) == ("selection", d.today())
    assert kinds(mail).count("withdrawal_association") == 1 and kinds(mail).count("withdrawal_volunteer") == 1
    told = next(m for m in mail.messages if m["X-Passerelles-Kind"] == "withdrawal_association")
    assert "Mutation professionnelle" in told.get_body(("plain",)).get_content()
    labels = form["schema"]["properties"]["selected"]["items"]["enum"]
    assert first not in labels and {second, third} <= set(labels)  # the one who withdrew is out; the reserve in
    assert form["schema"]["properties"]["selected"]["default"] == [labels[0]]  # the empty place, prefilled
    drv.resume(d.selection([second]))
    assert drv.form()["key"] == "roadmap-retour-1"
    assert kinds(mail).count("introduction_association") == 2  # the association meets the new volunteer
    assert kinds(mail).count("reserve") == 2  # the reserve is not told twice
    drv.resume(drv.agreed_roadmap())
    assert drv.form()["key"] == "check-in-1"
    assert kinds(mail).count("search_closed") == 1  # the reserve (third) thanked once the search closed
    with unit_of_work() as s:
        assert (
            s.scalar(
                select(Application.status).where(Application.volunteer_id == 3, Application.mission_id == mission_id)
            )
            == "closed"
        )

    # During the mission: the roadmap is kept; the Passerelle searches again rather than take the reserve.
    assert drv.form()["schema"]["properties"]["withdrawn"]["items"]["enum"] == [second]
    drv.resume(d.check_in(decision=DECISION, withdrawn=[second]))
    form = drv.form()
    assert form["key"] == "selection-retour-2"
    assert third in form["schema"]["properties"]["selected"]["items"]["enum"]  # thanked, still a replacement
    assert status(mission_id) is MissionStatus.PUBLISHED
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Roadmap).where(Roadmap.mission_id == mission_id)) == 1
    drv.resume(d.selection([], decision="reprendre la recherche (nouvelles candidatures, diffusion)"))
    assert drv.form()["key"] == "applications-2"
    drv.resume(d.applications("V-0004"))
    assert drv.form()["key"] == "selection-retour-3"
    fourth = next(x for x in drv.form()["schema"]["properties"]["selected"]["items"]["enum"] if x.startswith("V-0004"))
    drv.resume(d.selection([fourth]))
    assert drv.form()["key"] == "roadmap-retour-3"
    drv.resume(drv.agreed_roadmap())
    assert drv.form()["key"] == "check-in-2"  # check-ins go on numbering
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    fr = drv.resume(d.review())
    assert fr.state is not None and fr.state.type.value == "COMPLETED" and fr.state.name == "Terminée"
    with unit_of_work() as s:
        keys = list(s.scalars(select(AuditEvent.step_key).where(AuditEvent.mission_id == mission_id)))
        assert len(keys) == len(set(keys))
        dedup = list(s.scalars(select(OutboxMail.dedup_key)))
        assert len(dedup) == len(set(dedup)) == len(mail.messages)
        statuses = dict(
            s.execute(select(Application.volunteer_id, Application.status).where(Application.mission_id == mission_id))
            .tuples()
            .all()
        )
        assert sorted(statuses.values()) == ["closed", "selected", "withdrawn", "withdrawn"]
    assert kinds(mail).count("withdrawal_association") == 2
    assert sorted(m["To"] for m in mail.messages if m["X-Passerelles-Kind"] == "completed") == sorted(
        ["benevole4@exemple.fr", "contact@restos.example"]
    )


def test_a_silent_running_run_is_rescheduled_by_the_safety_net(lifecycle) -> None:
    """A mission run left Running with no heartbeat (its machine died, the automation missed it) is rescheduled
    by watch-mission-runs' sweep and goes on from where it was; a run heard from recently is left alone."""
    from prefect.states import Running

    from tasks.recovery import RECOVERED, sweep_runs

    _, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis(), run=False)
    with get_client(sync_client=True) as c:  # a process took it, then its machine died: Running, then silence
        c.set_flow_run_state(UUID(run_id), Running(), force=True)
    sweep_runs.fn(stale_seconds=60)
    assert drv.state().type is StateType.RUNNING  # not silent for long enough
    time.sleep(2.5)
    swept = sweep_runs.fn(stale_seconds=0.5)
    assert drv.state().type is StateType.SCHEDULED, swept
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == RECOVERED)) == 1
    drv.run()  # the rescheduled run replays: the answer given before its machine died is kept
    assert drv.form()["key"] == "annonce-review-1"
