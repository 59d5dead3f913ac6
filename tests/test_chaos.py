"""Chaos: missions driven through every step by an automated coordinator while workers are killed with SIGKILL
at random moments (at least 20 kills), then the whole stack (workers, Prefect server, SMTP server) killed and
restarted. Every mission reaches its bilan; every mail arrives once (by Message-ID, and by recipient and kind);
every step is audited once."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from prefect.client.schemas.objects import StateType
from sqlalchemy import func, select

from deployments.local import MailServer, Worker
from models import AuditEvent, Mission, MissionStatus, OutboxMail
from models.db import unit_of_work
from models.settings import get_settings
from tests import lifecycle_driver as d

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]
MISSIONS = 4
KILLS = int(os.environ.get("PASSERELLES_CHAOS_KILLS", "20"))
SILENCE = timedelta(seconds=45)


def answer(drv: d.Driver, key: str, finish: bool) -> dict[str, Any]:
    """What the coordinator answers to the form waiting under `key` (any round, any retry); the missions go on
    from check-in to check-in until `finish`, so that however fast the machine, every kill hits live missions."""
    if key.startswith("needs-analysis"):
        return d.needs_analysis()
    if key.startswith("annonce-review"):
        return drv.shown_annonce()
    if key.startswith("applications"):
        return d.applications("V-1\nV-2")
    if key.startswith("selection"):
        labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
        return d.selection(labels[:1])
    if key.startswith("roadmap"):
        return drv.agreed_roadmap()
    if key.startswith("check-in"):
        return d.check_in(decision="mission terminée : passer au bilan" if finish else "poursuivre la mission")
    assert key.startswith("review"), key
    return d.review()


def drive(drivers: dict[int, d.Driver], finish: bool) -> int:
    """Answer every form that waits now; the number of missions still open."""
    open_ = 0
    for mission_id, drv in drivers.items():
        with unit_of_work() as s:
            if not s.get(Mission, mission_id).status.is_open:  # type: ignore[union-attr]
                continue
        open_ += 1
        try:
            fr = drv.read()
            if fr.state and fr.state.type == StateType.PAUSED:
                d.submit_form(drv.flow_run_id, answer(drv, fr.state.state_details.pause_key or "", finish))
        except Exception:  # the server is down or busy: ask again at the next round
            pass
    return open_


def test_missions_survive_kills_and_a_whole_stack_restart(pg_prefect_server, pg_app_db, tmp_path, monkeypatch) -> None:
    from deployments.register import register

    server = pg_prefect_server
    rng = random.Random(20261202)
    mail = MailServer().start()
    monkeypatch.setenv("PASSERELLES_SMTP_PORT", str(mail.port))
    get_settings.cache_clear()
    received: list[Any] = []
    register(silence=SILENCE)
    d.seed_small()
    workers = [Worker(f"c{i}", tmp_path / f"c{i}.log").start() for i in (1, 2)]
    try:
        drivers = {}
        for i in range(MISSIONS):
            mission_id, run_id = d.open_and_start(f"Mission chaos {i}")
            drivers[mission_id] = d.Driver(run_id)
        kills, next_kill = 0, time.monotonic() + rng.uniform(2, 6)
        deadline = time.monotonic() + 900
        restarted = False
        while drive(drivers, finish=restarted):
            assert time.monotonic() < deadline, "missions still open after 15 min"
            if kills < KILLS and time.monotonic() > next_kill:
                victim = rng.choice(workers)
                victim.kill()
                victim.start()
                kills += 1
                next_kill = time.monotonic() + rng.uniform(1, 4)
            elif kills >= KILLS and not restarted:  # the whole stack, at once
                for w in workers:
                    w.kill()
                assert server.proc is not None
                os.killpg(server.proc.pid, signal.SIGKILL)
                server.proc.wait(10)
                received += mail.messages
                mail.stop()
                time.sleep(2)
                server.start()
                mail = MailServer(port=mail.port).start()
                for w in workers:
                    w.start()
                restarted = True
            time.sleep(1)
        assert kills >= KILLS and restarted
        print(f"chaos: {kills} worker kills and a whole-stack restart; {MISSIONS} missions completed")
        time.sleep(5)  # the last send-mails run
        deadline = time.monotonic() + 120
        while True:
            with unit_of_work() as s:
                left = s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.status != "sent"))
            if not left or time.monotonic() > deadline:
                break
            time.sleep(2)
    finally:
        for w in workers:
            w.stop()
        received += mail.messages
        mail.stop()

    with unit_of_work() as s:
        statuses = Counter(s.scalars(select(Mission.status)))
        keys = list(s.execute(select(AuditEvent.mission_id, AuditEvent.step_key)).tuples())
        pending = s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.status != "sent"))
        outbox = {m.message_id: (m.dedup_key, m.to_address) for m in s.scalars(select(OutboxMail))}
    assert statuses == {MissionStatus.COMPLETED: MISSIONS}
    assert len(keys) == len(set(keys))  # every step of every mission audited once
    assert pending == 0
    ids = Counter(m["Message-ID"] for m in received)
    assert max(ids.values()) == 1 and set(ids) == set(outbox)  # every queued mail arrived, once
    by_key = Counter(outbox[m["Message-ID"]][0] for m in received)  # mission, kind, recipient (or step waited at)
    assert max(by_key.values()) == 1 and all(outbox[m["Message-ID"]][1] == m["To"] for m in received)
