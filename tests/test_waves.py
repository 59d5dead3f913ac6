"""Diffusion in waves: the pure rule with time moved by hand, which applications keep a mission from going national
(both dialects), and a mission run whose waves go by themselves when `diffusion-waves` runs at a later `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Branch,
    Channel,
    Diffusion,
    Mission,
    MissionCompetence,
    MissionStatus,
    PriorityFlag,
    Scope,
    Volunteer,
    VolunteerCompetence,
)
from models.base import utcnow
from models.db import unit_of_work
from models.taxonomy import Competence, Domain
from models.waves import Wave, WavePolicy, WaveState, due_at, is_due, next_wave, plan, summary
from tasks.missions import record_application
from tasks.waves import due, states
from tests import factories as f
from tests import lifecycle_driver as d

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = WavePolicy(head_start=timedelta(hours=48), national_after=timedelta(days=7))


def state(reached: Wave | None, *, remote: bool = True, at: datetime = T0, **over: object) -> WaveState:
    return WaveState(**{"remote": remote, "reached": reached, "reached_at": at, "published_at": T0, **over})  # type: ignore[arg-type]


def test_the_waves_of_a_mission() -> None:
    assert plan(remote=False) == [Wave.PRIORITY, Wave.BRANCH]
    assert plan(remote=True) == [Wave.PRIORITY, Wave.BRANCH, Wave.NATIONAL]
    assert next_wave(None, remote=False) is Wave.PRIORITY
    assert next_wave(Wave.PRIORITY, remote=False) is Wave.BRANCH
    assert next_wave(Wave.BRANCH, remote=False) is None  # beyond the branch only if the Passerelle widens
    assert next_wave(Wave.BRANCH, remote=True) is Wave.NATIONAL
    assert next_wave(Wave.NATIONAL, remote=False) is None  # widened by hand: nothing after


def test_when_the_next_wave_is_due() -> None:
    # The priority volunteers' head start, then the branch.
    assert due_at(state(Wave.PRIORITY), POLICY) == T0 + timedelta(hours=48)
    assert not is_due(state(Wave.PRIORITY), POLICY, T0 + timedelta(hours=47, minutes=59))
    assert is_due(state(Wave.PRIORITY), POLICY, T0 + timedelta(hours=48))
    # The national wave: N days after the publication, only for a remote mission without a fitting application.
    branch_sent = T0 + timedelta(hours=48)
    assert due_at(state(Wave.BRANCH, at=branch_sent), POLICY) == T0 + timedelta(days=7)
    assert due_at(state(Wave.BRANCH, at=branch_sent, fitting_applications=1), POLICY) is None
    assert due_at(state(Wave.BRANCH, at=branch_sent, remote=False), POLICY) is None
    late = T0 + timedelta(days=9)  # the branch wave went late (skipped to by hand): national not before it
    assert due_at(state(Wave.BRANCH, at=late), POLICY) == late
    # Stopped, the selection under way, or gone as far as it goes: nothing more by itself.
    assert due_at(state(Wave.PRIORITY, stopped=True), POLICY) is None
    assert due_at(state(Wave.PRIORITY, selecting=True), POLICY) is None
    assert due_at(state(Wave.NATIONAL), POLICY) is None
    assert due_at(state(None), POLICY) is None


def test_where_the_waves_stand_in_french() -> None:
    assert summary(state(None), POLICY) == "pas encore diffusée"
    assert summary(state(Wave.PRIORITY), POLICY) == (
        "vague 1/3 : bénévoles prioritaires du domaine (le 01/12/2026 à 10 h 00) ; prochaine vague (bénévoles de "
        "l'antenne) le 03/12/2026 à 10 h 00"
    )  # Paris time
    assert summary(state(Wave.BRANCH, remote=False), POLICY).startswith("vague 2/2 : bénévoles de l'antenne")
    assert summary(state(Wave.BRANCH, fitting_applications=2), POLICY).endswith(
        "pas de vague nationale tant qu'une candidature adaptée est en cours"
    )
    assert summary(state(Wave.PRIORITY, stopped=True), POLICY).endswith("vagues suivantes arrêtées par la Passerelle")
    assert summary(state(Wave.PRIORITY, selecting=True), POLICY).endswith("suspendues pendant la sélection")
    assert summary(state(Wave.NATIONAL, remote=False), POLICY).startswith("vague 3/3 : bénévoles de toute la France")


def test_fitting_applications_and_due_missions(app_db) -> None:
    """A fitting application (every required level met) keeps a remote mission from its national wave; one below a
    level, withdrawn or not retained does not."""
    d.seed_small(n_volunteers=4)  # site-web levels: V1 2, V2 3, V3 1, V4 2
    with unit_of_work() as s:
        site, compta = (s.scalar(select(Competence).where(Competence.code == c)) for c in ("site-web", "comptabilite"))
        assert site is not None and compta is not None
        f.volunteer(s, s.scalar(select(Branch)), competences={"comptabilite": 3})  # type: ignore[arg-type]  # V5
        m = d.new_mission(s)
        m.scope, m.wave, m.published_at, m.flow_run_id = Scope.NATIONAL, Wave.BRANCH, T0, "run-1"
        m.status = MissionStatus.PUBLISHED
        s.add_all(
            [
                MissionCompetence(mission_id=m.id, competence_id=site.id, min_level=2),
                MissionCompetence(mission_id=m.id, competence_id=compta.id, min_level=1),
            ]
        )
        s.add(Diffusion(mission_id=m.id, channel=Channel.EMAIL, round=1, wave=Wave.BRANCH, sent_at=T0))
        s.flush()
        for vid in (3, 5):  # V3 below the web level, V5 without web at all
            record_application(s, m, s.get(Volunteer, vid), channel=Channel.FORM)  # type: ignore[arg-type]
        mission_id = m.id
    later = T0 + timedelta(days=8)
    with unit_of_work() as s:
        assert states(s)[mission_id].fitting_applications == 0
        assert [x.mission_id for x in due(s, later, POLICY)] == [mission_id]
        # V2 has web 3 but no accounting: not fitting either; with accounting 1 they are.
        v2 = s.get(Volunteer, 2)
        record_application(s, s.get(Mission, mission_id), v2, channel=Channel.FORM)  # type: ignore[arg-type]
        assert states(s)[mission_id].fitting_applications == 0
        s.add(VolunteerCompetence(volunteer_id=2, competence_id=compta.id, level=1))
        s.flush()
        assert states(s)[mission_id].fitting_applications == 1
        assert due(s, later, POLICY) == []
        app = s.scalar(select(Application).where(Application.volunteer_id == 2))
        app.status = ApplicationStatus.WITHDRAWN  # type: ignore[union-attr]
        s.flush()
        assert [x.mission_id for x in due(s, later, POLICY)] == [mission_id]
        # No wave while the Passerelle selects, nor after a withdrawal (the place is filled from the reserve);
        # again once the selection asked for new applications (« reprendre la recherche »).
        s.add(
            AuditEvent(
                mission_id=mission_id,
                actor="Claire Muller",
                action="applications",
                step_key="applications-1",
                details={"outcome": "select"},
                at=T0 + timedelta(days=1),
            )
        )
        s.flush()
        assert states(s)[mission_id].selecting and due(s, later, POLICY) == []
        s.add(
            AuditEvent(
                mission_id=mission_id,
                actor="Claire Muller",
                action="roadmap",
                step_key="roadmap",
                details={"outcome": "withdrawn"},
                at=T0 + timedelta(days=2),
            )
        )
        s.flush()
        assert states(s)[mission_id].selecting and due(s, later, POLICY) == []
        s.add(
            AuditEvent(
                mission_id=mission_id,
                actor="C. Muller",
                action="selection",
                step_key="selection-retour-1",
                details={"outcome": "reopen"},
                at=T0 + timedelta(days=3),
            )
        )
        s.flush()
        assert [x.mission_id for x in due(s, later, POLICY)] == [mission_id]
        s.get(Mission, mission_id).waves_stopped_at = T0  # type: ignore[union-attr]
        s.flush()
        assert due(s, later, POLICY) == []


def _annonces(mail) -> list[str]:
    return sorted(m["To"] for m in mail.messages if m["X-Passerelles-Kind"] == "annonce")


def test_a_mission_run_sends_its_waves_by_itself(lifecycle) -> None:
    """Priority first; the branch when `diffusion-waves` runs 48 h later (not before); the Passerelle stops the
    waves, then sends the national one by hand; a next wave when none is left is refused in French."""
    from flows.waves import diffusion_waves
    from tasks.steps.applications import SCHEDULER

    mail = lifecycle
    with unit_of_work() as s:  # V1 has priority in the web domain; MUL has one volunteer open to national annonces
        web = s.scalar(select(Domain).where(Domain.code == "web-numerique"))
        s.add(PriorityFlag(volunteer_id=1, domain_id=web.id))  # type: ignore[union-attr]
        far = f.volunteer(s, f.branch(s, "MUL"), consent_national=True, competences={"site-web": 3}).email
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis(remote_ok=True))
    drv.resume(drv.shown_annonce())
    form = drv.form()
    assert form["key"] == "applications-1"
    assert _annonces(mail) == ["benevole1@exemple.fr"]  # the head start of the priority volunteer
    assert "vague 1/3 : bénévoles prioritaires du domaine" in form["description"]
    assert "entered_by" not in form["schema"]["properties"]  # who answers is stamped, never chosen

    assert diffusion_waves(now=utcnow() + timedelta(hours=47)) == []
    sent = diffusion_waves(now=utcnow() + timedelta(hours=49))
    with unit_of_work() as s:
        reference = s.get(Mission, mission_id).reference  # type: ignore[union-attr]
    assert sent == [f"{reference} (applications-1)"]
    drv.run()  # the resumed run (a worker would run it): the branch wave
    assert drv.form()["key"] == "applications-2"
    branch = [f"benevole{i}@exemple.fr" for i in range(1, 6)]
    assert _annonces(mail) == branch  # V6 gave no consent; V1 not twice
    with unit_of_work() as s:
        answer = s.scalar(select(AuditEvent).where(AuditEvent.step_key == "applications-1"))
        assert answer is not None and answer.actor == SCHEDULER
        rounds = s.execute(select(Diffusion.round, Diffusion.wave).where(Diffusion.channel != "social")).all()
        assert sorted(rounds) == [(1, Wave.PRIORITY), (2, Wave.BRANCH)]
    assert diffusion_waves(now=utcnow() + timedelta(days=6)) == []  # the national wave is 7 days after publication
    with unit_of_work() as s:  # the branch dashboard says it too
        from tasks.monitoring import dashboard_rows, open_missions, service_levels

        row = dashboard_rows(open_missions(s, today=d.today(), levels=service_levels()), d.today())[0]
    assert row["Diffusion"].startswith("vague 2/3 : bénévoles de l'antenne") and "toute la France" in row["Diffusion"]

    drv.resume(d.applications(decision="arrêter les vagues de diffusion programmées"))
    assert "vagues suivantes arrêtées par la Passerelle" in drv.form()["description"]
    assert diffusion_waves(now=utcnow() + timedelta(days=8)) == []

    drv.resume(d.applications(decision="envoyer maintenant la vague de diffusion suivante"))
    assert _annonces(mail) == sorted([*branch, far])
    drv.resume(d.applications(decision="envoyer maintenant la vague de diffusion suivante"))
    form = drv.form()
    assert form["key"].endswith("-essai-2")
    assert "L'annonce a déjà été envoyée à toutes ses vagues." in form["description"]
    assert _annonces(mail) == sorted([*branch, far])  # nobody twice
