"""The lifecycle through the real serving process (`passerelles serve`), killed mid-way and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from prefect.client.schemas.objects import StateType
from sqlalchemy import func, select

from models import AuditEvent, Mission, MissionStatus, OutboxMail
from models.db import unit_of_work
from tests import lifecycle_driver as d

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_prefect_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A Prefect server for this test alone: a serving process runs every scheduled run of its deployments, so
    the runs other tests left on the shared server (against other databases) must not be there."""
    import prefect.settings as ps
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import temporary_settings

    from deployments.local import PrefectServer

    server = PrefectServer(home=tmp_path / "prefect", ui=False)
    server.start()
    for k, v in {**server.env(), "PREFECT_LOGGING_TO_API_ENABLED": "false"}.items():
        monkeypatch.setenv(k, v)
    with temporary_settings(updates={ps.PREFECT_API_URL: server.api_url, ps.PREFECT_HOME: str(server.home)}):
        yield server
        EventsWorker.drain_all(timeout=10)
        APILogWorker.drain_all(timeout=10)
    server.stop()


def start_serving(log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "serve", "--recover"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def wait_for(
    drv: d.Driver, log: Path, *, key: str | None = None, state: StateType = StateType.PAUSED, timeout: float = 120
):
    deadline = time.monotonic() + timeout
    fr = drv.read()
    while time.monotonic() < deadline:
        fr = drv.read()
        if fr.state and fr.state.type == state and (key is None or fr.state.state_details.pause_key == key):
            return fr
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"run never reached {state} {key}; last: {fr.state}\nserve log:\n{tail}")


def submit(drv: d.Driver, data: dict) -> None:  # type: ignore[type-arg]
    for _ in range(20):
        ok, reason = d.submit_form(drv.flow_run_id, data)
        if ok:
            return
        time.sleep(0.5)  # the SQLite server may be busy; a refusal here is not expected
    raise AssertionError(reason)


def test_serving_killed_and_restarted_sends_nothing_twice(own_prefect_server, app_db, mail_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d.seed_small()
    log = tmp_path / "serve.log"
    serving = start_serving(log)
    try:
        from deployments.demo_runs import wait_for_deployments

        wait_for_deployments(timeout=120, serving=serving)
        mission_id, run_id = d.open_and_start()
        drv = d.Driver(run_id)
        wait_for(drv, log, key="needs-analysis")
        submit(drv, d.needs_analysis())
        fr = wait_for(drv, log, key="annonce-review-1")
        text = d.Driver(run_id).form()["schema"]["properties"]["text"]["default"]

        # 1. The serving process dies while the mission waits; the Passerelle answers meanwhile.
        kill(serving)
        submit(drv, {"text": text, "decision": "approuvée par l'association", "remarks": "", "cancel_reason": ""})
        time.sleep(3)
        assert drv.read().state.type == StateType.SCHEDULED  # waits in Resuming for a server
        serving = start_serving(log)
        wait_for(drv, log, key="applications-1")
        with unit_of_work() as s:
            assert s.get(Mission, mission_id).status is MissionStatus.PUBLISHED  # type: ignore[union-attr]

        # 2. The serving process dies in the middle of a step.
        submit(drv, {"applications": "V-1\nV-2", "decision": "passer à la sélection", "cancel_reason": ""})
        wait_for(drv, log, state=StateType.RUNNING, timeout=60)
        kill(serving)
        time.sleep(1)
        serving = start_serving(log)
        fr = wait_for(drv, log, key="selection")
        assert fr.state.type == StateType.PAUSED
    finally:
        serving.send_signal(signal.SIGTERM)
        try:
            serving.wait(30)
        except subprocess.TimeoutExpired:
            kill(serving)

    received = Counter((m["To"], m["Subject"]) for m in mail_server.messages)
    assert received, "no mail received"
    assert max(received.values()) == 1, received  # nothing sent twice
    waiting = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "waiting"]
    assert len(waiting) == 4  # one per step the mission waited at: analysis, annonce, applications, selection
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.status != "sent")) == 0
        steps = list(s.scalars(select(AuditEvent.step_key).where(AuditEvent.mission_id == mission_id)))
    assert len(steps) == len(set(steps))
    assert {"needs-analysis", "annonce-review-1", "diffusion-1", "applications-1"} <= set(steps)
    annonces = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "annonce"]
    assert len(annonces) == 5
