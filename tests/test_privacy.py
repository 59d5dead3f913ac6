"""Personal data: erasure reaches every table and what Prefect keeps; retention warns, then erases; old mail bodies
are purged. Real databases, a real Prefect server, a real SMTP server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import cast
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from sqlalchemy import select

import models
from models import ErasureRecord, MailStatus, Mission, MissionStatus, OutboxMail, Volunteer, VolunteerEvent
from models.base import utcnow
from models.db import get_engine, unit_of_work
from tasks.privacy import retention_pass
from tests import factories as f
from tests import lifecycle_driver as d

NAME, ADDRESS = "Prénom2 Nom2", "benevole2@exemple.fr"


def found_in_database() -> list[str]:
    """Every (table, column) of the application database whose value names the person."""
    hits = []
    with get_engine().connect() as conn:
        for table in models.Base.metadata.sorted_tables:
            for row in conn.execute(table.select()).mappings():
                for column, value in row.items():
                    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else ""
                    if NAME.lower() in text.lower() or ADDRESS in text.lower():
                        hits.append(f"{table.name}.{column}")
    return hits


def found_in_prefect(run_id: str) -> list[str]:
    """Every artifact version and stored form input of the run that names the person."""
    hits = []
    with get_client(sync_client=True) as client:
        runs = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]))
        for a in client.read_artifacts(artifact_filter=runs):
            if NAME in json.dumps(a.data, ensure_ascii=False) or ADDRESS in json.dumps(a.data):
                hits.append(f"artifact {a.key}")
        for entry in client.filter_flow_run_input(UUID(run_id), key_prefix="", limit=10_000, exclude_keys=set()):
            value = json.dumps(json.loads(entry.value), ensure_ascii=False)
            if NAME in value or ADDRESS in value:
                hits.append(f"input {entry.key}")
        run = client.read_flow_run(UUID(run_id))
        if NAME in f"{run.name} {run.tags} {run.parameters}":
            hits.append("run")
    return hits


def admin_run_naming_them() -> UUID:
    """A finished run of an administration form whose parameters and end message name the person."""
    from prefect.states import Completed

    from flows.admin import update_volunteer

    dep = cast(RunnerDeployment, update_volunteer.to_deployment(name="update-volunteer", tags=["administration"]))
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(cast(UUID, dep.apply()), parameters={"benevole": ADDRESS})
        client.set_flow_run_state(run.id, Completed(message=f"V-0002 {NAME} : disponibilité changée."), force=True)
        return run.id


@pytest.mark.slow
def test_erasure_leaves_the_name_and_address_nowhere_and_the_mission_goes_on(lifecycle) -> None:
    from deployments.cli import main

    mail = lifecycle
    mission_id, run_id, drv = d.published()
    drv.resume(d.applications(f"{ADDRESS} : Bonjour, ici {NAME}\nV-0003"))
    labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
    chosen = next(x for x in labels if x.startswith("V-0002"))
    drv.resume(d.selection([chosen], wants_other=[chosen]))
    assert drv.form()["key"] == "selection-essai-2"  # refused: the refused answer, with the name, is in the audit
    drv.resume(d.selection([chosen]))
    drv.resume(drv.agreed_roadmap(notes=f"{NAME} commence en janvier."))
    drv.resume(d.check_in(notes=f"Point avec {NAME} : tout va bien."))
    assert drv.form()["key"] == "check-in-2"
    assert found_in_database() and found_in_prefect(run_id)  # the person is everywhere, as expected
    # another mission, where matching merely suggested them: its form names them too
    _, other_run = d.open_and_start("Une autre mission")
    other = d.Driver(other_run)
    other.run()
    other.resume(d.needs_analysis())
    other.resume(other.shown_annonce())
    assert other.form()["key"] == "applications-1" and found_in_prefect(other_run)
    # an administration run that named them (its parameters, its end message)
    admin = admin_run_naming_them()

    assert main(["erase-volunteer", "V-0002", "--motif", ""]) == 1  # a reason is required; nothing done
    assert found_in_database()
    assert main(["erase-volunteer", "V-0002", "--motif", "demande écrite du 3 décembre 2026"]) == 0
    assert found_in_database() == []
    assert found_in_prefect(run_id) == [] and found_in_prefect(other_run) == []
    with get_client(sync_client=True) as client, pytest.raises(ObjectNotFound):
        client.read_flow_run(admin)  # deleted: its record is the audit and the erasure record
    with unit_of_work() as s:
        record = s.scalar(select(ErasureRecord))
        assert record is not None and record.volunteer_id == 2
        assert (record.actor, record.reason) == (
            "système (ligne de commande sur le serveur)",
            "demande écrite du 3 décembre 2026",
        )
        assert "données personnelles effacées" in record.summary and "1 run(s) d'administration" in record.summary
    assert main(["erase-volunteer", "V-0002", "--motif", "encore"]) == 1  # already erased

    with unit_of_work() as s:  # statistics stay: the application, its status and score
        v = s.get(Volunteer, 2)
        assert v is not None and v.full_name == "Bénévole effacé(e)" and v.unsubscribed_at is not None
        assert s.scalar(select(Mission.status).where(Mission.id == mission_id)) is MissionStatus.IN_PROGRESS
    # the run replays over the rewritten answers and the mission goes on; nothing is mailed to the erased person
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    fr = drv.resume(d.review())
    assert fr.state is not None and fr.state.name == "Terminée"
    assert not [m for m in mail.messages if m["X-Passerelles-Kind"] == "completed" and "efface" in m["To"]]
    assert found_in_database() == [] and found_in_prefect(run_id) == []


def test_retention_warns_then_erases_and_purges_old_bodies(app_db) -> None:
    from deployments.cli import main

    now = utcnow()
    with unit_of_work() as s:
        branch = f.branch(s, "STR")
        old = now - timedelta(days=4 * 365)
        idle = f.volunteer(s, branch, first_name="Ancien", last_name="Inactif", email="ancien@exemple.fr")
        kept = f.volunteer(s, branch, first_name="Ancienne", last_name="Fidèle", email="fidele@exemple.fr")
        new = f.volunteer(s, branch, first_name="Nouveau", last_name="Venu", email="nouveau@exemple.fr")
        idle.created_at = kept.created_at = old
        s.add(
            VolunteerEvent(
                volunteer_id=kept.id,
                actor="Ancienne Fidèle",
                source="link",
                at=now - timedelta(days=30),
                changes={"changes": ["préférences confirmées"]},
            )
        )
        s.add(
            OutboxMail(
                dedup_key="org:test:old",
                kind="test",
                to_address="x@exemple.fr",
                subject="Ancien",
                text_body="corps",
                html_body="<p>corps</p>",
                status=MailStatus.SENT,
                sent_at=now - timedelta(days=91),
            )
        )
        ids = idle.id, kept.id, new.id
    with unit_of_work() as s:
        first = retention_pass(s, now=now)
    assert first.warned == [ids[0]] and first.to_erase == [] and first.bodies_purged == 1
    with unit_of_work() as s:
        warning = s.scalar(select(OutboxMail).where(OutboxMail.kind == "retention_warning"))
        assert warning is not None and warning.to_address == "ancien@exemple.fr"
        assert "/preferences/" in warning.text_body and warning.list_unsubscribe
        assert s.scalar(select(OutboxMail.text_body).where(OutboxMail.dedup_key == "org:test:old")) == ""
    with unit_of_work() as s:  # the next day: warned already, not yet due
        again = retention_pass(s, now=now + timedelta(days=1))
    assert again.warned == [] and again.to_erase == []
    with unit_of_work() as s:  # the warning's delay is over and they did nothing
        due = retention_pass(s, now=now + timedelta(days=31))
    assert due.to_erase == [ids[0]]
    assert main(["erase-volunteer", "ancien@exemple.fr", "--motif", "durée de conservation"]) == 0
    with unit_of_work() as s:
        assert retention_pass(s, now=now + timedelta(days=32)).to_erase == []  # erased: out of the pass
        assert s.get(Volunteer, ids[0]).email == f"efface-{ids[0]}@efface.invalid"  # type: ignore[union-attr]
