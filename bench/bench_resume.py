"""Median time from a resume to the next suspend, on the embedded stack (Prefect server and application database
on the embedded PostgreSQL, real SMTP server, two Prefect workers), against a baseline flow that only suspends,
served by the same workers in the same run.

    python bench/bench_resume.py [--missions 3]

What it measures: the Passerelle's wait between clicking « Resume » and the next form being ready.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--missions", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    from deployments.local import EmbeddedPostgres, MailServer, PrefectServer, Worker

    postgres = EmbeddedPostgres(tmp / "pgdata").start()
    server = PrefectServer(home=tmp / "prefect", ui=False, database_url=postgres.url("prefect", "asyncpg"))
    os.environ.update(server.env())
    mail = MailServer().start()
    os.environ.update(
        {
            "PASSERELLES_DATABASE_URL": postgres.url("passerelles"),
            "PASSERELLES_SMTP_PORT": str(mail.port),
            "PYTHONPATH": str(ROOT),
        }
    )
    from deployments import demo

    demo.main([])
    server.start()
    from prefect.deployments.runner import EntrypointType

    from bench.baseline import baseline_suspend
    from deployments.register import POOL, register

    register()
    baseline_suspend.to_deployment(name="baseline", entrypoint_type=EntrypointType.MODULE_PATH).apply(
        work_pool_name=POOL
    )
    workers = [Worker(f"bench-{i}", tmp / f"worker-{i}.log").start() for i in range(args.workers)]
    try:
        ours, base = run(args.missions)
    finally:
        for w in workers:
            w.stop()
        mail.stop()
        server.stop()
        postgres.stop()
    print(f"{args.workers} workers, Prefect server and application database on the embedded PostgreSQL")
    report("mission-lifecycle, resume → next form", ours)
    report("baseline (suspend only), resume → next", base)
    overhead = statistics.median(ours) - statistics.median(base)
    print(f"ratio of medians: {statistics.median(ours) / statistics.median(base):.2f}×, our overhead {overhead:+.2f} s")
    print(
        f"goal (overhead <= {GOAL_OVERHEAD_S} s over the suspend-only baseline): "
        f"{'met' if overhead <= GOAL_OVERHEAD_S else 'NOT met'}"
    )
    return 0


GOAL_OVERHEAD_S = 0.3


def report(label: str, xs: list[float]) -> None:
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
    print(f"{label:42s} n={len(xs):3d}  median {statistics.median(xs):5.2f} s  p90 {p90:5.2f} s  max {xs[-1]:5.2f} s")


def run(missions: int) -> tuple[list[float], list[float]]:
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment
    from sqlalchemy import select

    from deployments.demo.runs import wait_for_deployments
    from flows.request_mission import open_and_start
    from models import Association, Coordinator, Role
    from models.db import unit_of_work
    from tests import lifecycle_driver as d

    wait_for_deployments(timeout=120)

    def paused(run_id: str, after: str | None) -> float:
        t0 = time.perf_counter()
        with get_client(sync_client=True) as c:
            while True:
                st = c.read_flow_run(UUID(run_id)).state
                if st and st.type in (StateType.PAUSED, StateType.COMPLETED) and st.state_details.pause_key != after:
                    return time.perf_counter() - t0
                if time.perf_counter() - t0 > 180:
                    raise SystemExit(f"run {run_id} still at {after!r} after 3 min (refused answer?): {st}")
                time.sleep(0.05)

    def step(run_id: str, key: str, data: dict) -> float:  # type: ignore[type-arg]
        t0 = time.perf_counter()
        while not (answer := d.submit_form(run_id, data))[0]:
            if time.perf_counter() - t0 > 180:
                raise SystemExit(f"resume of {run_id} at {key!r} refused for 3 min: {answer[1]}")
            time.sleep(0.2)
        paused(run_id, key)
        return time.perf_counter() - t0

    ours: list[float] = []
    with unit_of_work() as s:
        coordinator = s.scalar(select(Coordinator).where(Coordinator.role == Role.PASSERELLE).order_by(Coordinator.id))
        association = s.scalar(select(Association).where(Association.branch_id == coordinator.branch_id))
        who, assoc = coordinator.email, association.name
    for i in range(missions):
        run_id = open_and_start(assoc, who, f"Mission de mesure {i}", "")["flow_run_id"]
        drv = d.Driver(run_id)
        paused(run_id, None)
        ours.append(step(run_id, "needs-analysis", d.needs_analysis()))
        text = drv.form()["schema"]["properties"]["text"]["default"]
        ours.append(
            step(
                run_id,
                "annonce-review-1",
                {"text": text, "decision": "approuvée par l'association", "remarks": "", "cancel_reason": ""},
            )
        )
        ours.append(
            step(
                run_id,
                "applications-1",
                {"applications": "V-1\nV-2", "decision": "passer à la sélection", "cancel_reason": ""},
            )
        )
        labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
        ours.append(
            step(
                run_id,
                "selection",
                {"selected": labels[:1], "wants_other": [], "decision": "valider la sélection", "cancel_reason": ""},
            )
        )
        ours.append(step(run_id, "roadmap", d.roadmap()))
        ours.append(step(run_id, "check-in-1", d.check_in()))
        ours.append(step(run_id, "check-in-2", d.check_in(decision="mission terminée : passer au bilan")))
        ours.append(step(run_id, "review", d.review()))
    base: list[float] = []
    for _ in range(missions):
        run = run_deployment("baseline-suspend/baseline", parameters={"steps": 8}, timeout=0)
        paused(str(run.id), None)
        for k in range(8):
            base.append(step(str(run.id), f"step-{k}", {"value": k}))
    return ours, base


if __name__ == "__main__":
    sys.exit(main())
