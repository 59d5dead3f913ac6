"""A mission suspended by the code before the step registry (its answers stored in the old shapes) resumes and
finishes with the current code: the stored answers load, the recorded start point reads, nothing runs twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Mission, MissionStatus, OutboxMail, RoadmapObjective
from models.db import get_engine, unit_of_work, upgrade
from models.settings import get_settings
from tests import lifecycle_driver as d
from tests.conftest import create_pg_database, drop_pg_database

pytestmark = pytest.mark.slow

# The last commit whose forms had French field names in the roadmap and string decisions, and whose runs recorded
# their start point as {"annonce_round", "check_in"}.
LEGACY = "59bd33e2f3be0ce63c92de982a1ba9136f65dca2"
ROOT = Path(__file__).resolve().parent.parent

LEGACY_DRIVER = """
import json, flows
from tests import lifecycle_driver as d
assert flows.__file__.startswith(%(tree)r), flows.__file__
d.seed_small()
mission_id, run_id = d.open_and_start()
drv = d.Driver(run_id)
drv.run()
drv.resume(d.needs_analysis())
text = drv.form()["schema"]["properties"]["text"]["default"]
drv.resume({"text": text, "decision": "approuvée par l'association", "remarks": "", "cancel_reason": ""})
drv.resume({"applications": "V-0001\\nV-0002", "decision": "passer à la sélection", "cancel_reason": ""})
labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
drv.resume({"selected": labels[:1], "wants_other": labels[1:], "decision": "valider la sélection",
            "cancel_reason": ""})
drv.resume(d.roadmap())
assert drv.form()["key"] == "check-in-1"
print("RESULT:" + json.dumps({"mission": mission_id, "run": run_id}))
"""


def legacy_tree(dest: Path, commit: str = LEGACY) -> Path:
    """The legacy commit's files, from this clone's history."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=False)
    if archive.returncode:
        pytest.skip(f"commit {commit} is not in this clone's history: {archive.stderr.decode()[:200]}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.fixture
def legacy_db(lifecycle, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request) -> Iterator[str]:
    """An application database at the legacy schema (revision 0001, or the test's `schema` mark), which the
    settings point at."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}" if db_url.startswith("sqlite") else create_pg_database("legacy")
    assert url is not None
    mark = request.node.get_closest_marker("schema")
    upgrade(url, mark.args[0] if mark else "0001")
    monkeypatch.setenv("PASSERELLES_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()
    if not url.startswith("sqlite"):
        drop_pg_database(url)


def test_mission_suspended_by_the_previous_code_finishes(lifecycle, legacy_db: str, tmp_path: Path) -> None:
    mail = lifecycle
    tree = legacy_tree(tmp_path / "legacy")
    done = subprocess.run(  # the previous code on the previous schema: seeds, opens a mission, runs it to check-in-1
        [sys.executable, "-c", LEGACY_DRIVER % {"tree": str(tree)}],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = next((line for line in done.stdout.splitlines() if line.startswith("RESULT:")), None)
    assert result, done.stdout[-3000:] + done.stderr[-3000:]
    ids = json.loads(result.removeprefix("RESULT:"))
    mission_id, drv = ids["mission"], d.Driver(ids["run"])
    upgrade(legacy_db)  # the deployment of the new code migrates the database
    with unit_of_work() as s:
        assert s.get(Mission, mission_id).status is MissionStatus.IN_PROGRESS  # type: ignore[union-attr]
    sent_before = len(mail.messages)

    # Now the current code replays every answer the old code stored, then goes on.
    drv.resume(d.check_in())
    assert drv.form()["key"] == "check-in-2"
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    assert drv.form()["key"] == "review"
    fr = drv.resume(d.review())
    assert fr.state is not None and fr.state.name == "Terminée"
    with unit_of_work() as s:
        assert s.get(Mission, mission_id).status is MissionStatus.COMPLETED  # type: ignore[union-attr]
        objectives = list(s.scalars(select(RoadmapObjective.objective).order_by(RoadmapObjective.position)))
        assert objectives == ["Maquette validée", "Site en ligne"]
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.mission_id == mission_id)))
        for step in ("needs-analysis", "annonce", "diffusion", "selection", "roadmap", "review"):
            assert actions.count(step) == 1, (step, actions)
        keys = list(s.scalars(select(OutboxMail.dedup_key).where(OutboxMail.mission_id == mission_id)))
        assert len(keys) == len(set(keys)) == len(mail.messages)
        assert s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "annonce")) == 5
    # after the old code's mails: the check-in forms, the bilan form (and each party asked for its own bilan)
    # and the thank-you mails, nothing again; the second check-in's day announced to the parties' calendars, then
    # withdrawn when the mission completed before it
    kinds = {m["X-Passerelles-Kind"] for m in mail.messages[sent_before:]}
    assert kinds == {"waiting", "review_to_give", "review_to_give_volunteer", "completed", "calendar"}


# The version before each party answered its own part (issue 21): schema 0008, one roadmap sent to the association
# only, the reserve unknown.
PREVIOUS = "28d52c8cb03879bdf829ac25deff532a5df5bd47"
PREVIOUS_DRIVER = """
import json, flows
from tests import lifecycle_driver as d
assert flows.__file__.startswith(%(tree)r), flows.__file__
d.seed_small()
mission_id, run_id = d.open_and_start()
drv = d.Driver(run_id)
drv.run()
drv.resume(d.needs_analysis())
text = drv.form()["schema"]["properties"]["text"]["default"]
drv.resume({"text": text, "decision": "approuvée par l'association", "remarks": "", "cancel_reason": ""})
drv.resume({"applications": "V-0001\\nV-0002", "decision": "passer à la sélection", "cancel_reason": ""})
labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
drv.resume({"selected": labels[:1], "wants_other": [], "decision": "valider la sélection", "cancel_reason": ""})
drv.resume(d.roadmap(decision="la faire valider par l'association (lien par mail)", validated_by_association=False))
assert drv.form()["key"] == "roadmap-essai-2"
print("RESULT:" + json.dumps({"mission": mission_id, "run": run_id}))
"""


@pytest.mark.schema("0008")
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_roadmap_sent_before_the_upgrade_is_validated_after_it(lifecycle, legacy_db: str, tmp_path: Path) -> None:
    """A mission suspended by the previous version while its roadmap waits for the association: after the upgrade
    (0009, 0010), the association's link of the old mail still answers; the volunteer, never asked by the old
    version, agrees through the Passerelle; the mission finishes, nothing run or mailed twice."""
    import html

    from fastapi.testclient import TestClient

    from models import Application, ApplicationStatus
    from portal.app import app
    from tasks.links import Purpose
    from tests.test_portal import link_in

    mail = lifecycle
    tree = legacy_tree(tmp_path / "previous", PREVIOUS)
    done = subprocess.run(
        [sys.executable, "-c", PREVIOUS_DRIVER % {"tree": str(tree)}],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = next((line for line in done.stdout.splitlines() if line.startswith("RESULT:")), None)
    assert result, done.stdout[-3000:] + done.stderr[-3000:]
    ids = json.loads(result.removeprefix("RESULT:"))
    mission_id, drv = ids["mission"], d.Driver(ids["run"])
    upgrade(legacy_db)
    with unit_of_work() as s:
        statuses = sorted(
            str(a.status) for a in s.scalars(select(Application).where(Application.mission_id == mission_id))
        )
        assert statuses == [ApplicationStatus.RESERVE.value, ApplicationStatus.SELECTED.value]  # 0009: in reserve
    with TestClient(app) as portal:
        old_link = link_in(mail, "roadmap_to_approve", Purpose.ROADMAP)
        assert "Je valide cette feuille de route" in html.unescape(portal.get(old_link).text)
        assert portal.post(old_link, data={"decision": "approuver"}).status_code == 200
    drv.run()
    form = drv.form()
    assert form["key"] == "roadmap-essai-3" and "en attente de l'accord de V-000" in form["description"]
    drv.resume(drv.agreed_roadmap())  # she tells the agreement the volunteer gave her
    assert drv.form()["key"] == "check-in-1"
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    fr = drv.resume(d.review())
    assert fr.state is not None and fr.state.name == "Terminée"
    with unit_of_work() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.mission_id == mission_id)))
        for step in ("needs-analysis", "annonce", "diffusion", "selection", "roadmap", "review"):
            assert actions.count(step) == 1, (step, actions)
        keys = list(s.scalars(select(OutboxMail.dedup_key).where(OutboxMail.mission_id == mission_id)))
        assert len(keys) == len(set(keys))
        assert s.get(Mission, mission_id).status is MissionStatus.COMPLETED  # type: ignore[union-attr]
