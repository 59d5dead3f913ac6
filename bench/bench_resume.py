"""Time from a resume to the next suspend, on the embedded stack (Prefect server and application database on the
embedded PostgreSQL, real SMTP server, two Prefect workers), for each launcher side by side in one run: Prefect's
default start and the warm launcher (deployments/warm.py); with, for each, a baseline flow that only suspends.

    python bench/bench_resume.py [--missions 3] [--checkins 7] [--launchers default,warm]

What it measures: the Passerelle's wait between clicking « Resume » and the next form being ready (median, p90),
the machine time per resume (CPU of the workers, their runs, the warm processes, the Prefect server and PostgreSQL,
from /proc: other loads of the machine do not count), and the wait by step number (a resume replays every earlier
step: the first against the twelfth). Prints the ratios of the launchers.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MEDIAN_S = 2.0
GOAL_MACHINE_S = 1.5
IDLE_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--missions", type=int, default=3)
    parser.add_argument("--checkins", type=int, default=7, help="check-ins before the bilan (7: 13 resumes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--launchers", default="default,warm")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    from bench.common import machine_seconds
    from deployments.local import EmbeddedPostgres, MailServer, PrefectServer, Worker
    from models.settings import get_settings

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

    postmaster = int((tmp / "pgdata" / "postmaster.pid").read_text().split()[0])
    results: dict[str, dict[str, Any]] = {}
    try:
        for launcher in args.launchers.split(","):
            os.environ["PASSERELLES_WARM_LAUNCHER"] = str(launcher == "warm").lower()
            get_settings.cache_clear()
            register()  # the pool's command follows the setting
            baseline_suspend.to_deployment(name="baseline", entrypoint_type=EntrypointType.MODULE_PATH).apply(
                work_pool_name=POOL
            )
            workers = [Worker(f"{launcher}-{i}", tmp / f"{launcher}-{i}.log").start() for i in range(args.workers)]
            try:
                time.sleep(8)  # the warm processes import before their first run; the workers start polling

                def cpu() -> float:
                    return machine_seconds({os.getpid(), postmaster, server.proc.pid}, exclude=os.getpid())  # type: ignore[union-attr]

                results[launcher] = run(launcher, args.missions, args.checkins, cpu)
                c0 = cpu()
                time.sleep(IDLE_S)  # what the stack costs doing nothing: workers polling, server loops, PostgreSQL
                results[launcher]["idle"] = (cpu() - c0) / IDLE_S
            finally:
                for w in workers:
                    w.stop()
    finally:
        mail.stop()
        server.stop()
        postgres.stop()
    print(f"\n{args.workers} workers, Prefect server and application database on the embedded PostgreSQL")
    for launcher, r in results.items():
        report(f"[{launcher}] mission-lifecycle, resume → next form", r["ours"])
        report(f"[{launcher}] baseline (suspend only)", r["base"])
        print(
            f"[{launcher}] machine time per resume: mission {r['cpu']:.2f} s, baseline {r['base_cpu']:.2f} s; the "
            f"stack idle costs {r['idle']:.2f} CPU s per s, so a resume alone about "
            f"{r['cpu'] - r['idle'] * r['wall']:.2f} s (mission), {r['base_cpu'] - r['idle'] * r['base_wall']:.2f} s "
            "(baseline)"
        )
        by_step = r["by_step"]
        print(
            f"[{launcher}] by step (median over missions): "
            + ", ".join(f"{i + 1}: {statistics.median(v):.2f}" for i, v in enumerate(by_step))
        )
        first, twelfth = statistics.median(by_step[0]), statistics.median(by_step[min(11, len(by_step) - 1)])
        print(f"[{launcher}] resume → next form, step 1 {first:.2f} s, step 12 {twelfth:.2f} s: {twelfth / first:.2f}×")
        spans = r["run_spans"]
        print(
            f"[{launcher}] the run alone (Running → Suspended), by step: "
            + ", ".join(f"{i + 1}: {statistics.median(v):.2f}" for i, v in enumerate(spans))
        )
        first, twelfth = statistics.median(spans[0]), statistics.median(spans[min(11, len(spans) - 1)])
        print(f"[{launcher}] the run alone, step 1 {first:.2f} s, step 12 {twelfth:.2f} s: {twelfth / first:.2f}×")
    if "default" in results and "warm" in results:
        d, w = results["default"], results["warm"]
        print(
            f"ratios default / warm: median wait {statistics.median(d['ours']) / statistics.median(w['ours']):.2f}×, "
            f"machine time per resume {d['cpu'] / w['cpu']:.2f}×, baseline median "
            f"{statistics.median(d['base']) / statistics.median(w['base']):.2f}×"
        )
    for launcher, r in results.items():
        median, machine = statistics.median(r["ours"]), r["cpu"]
        print(
            f"goal [{launcher}]: median ≤ {GOAL_MEDIAN_S} s {'met' if median <= GOAL_MEDIAN_S else 'NOT met'} "
            f"({median:.2f} s); machine time ≤ {GOAL_MACHINE_S} s {'met' if machine <= GOAL_MACHINE_S else 'NOT met'}"
            f" ({machine:.2f} s)"
        )
    return 0


def report(label: str, xs: list[float]) -> None:
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
    print(f"{label:52s} n={len(xs):3d}  median {statistics.median(xs):5.2f} s  p90 {p90:5.2f} s  max {xs[-1]:5.2f} s")


def run(launcher: str, missions: int, checkins: int, cpu: Any) -> dict[str, Any]:
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

    def step(run_id: str, key: str, data: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        while not (answer := d.submit_form(run_id, data))[0]:
            if time.perf_counter() - t0 > 180:
                raise SystemExit(f"resume of {run_id} at {key!r} refused for 3 min: {answer[1]}")
            time.sleep(0.2)
        paused(run_id, key)
        return time.perf_counter() - t0

    with unit_of_work() as s:
        coordinator = s.scalar(select(Coordinator).where(Coordinator.role == Role.PASSERELLE).order_by(Coordinator.id))
        assert coordinator is not None
        association = s.scalar(select(Association).where(Association.branch_id == coordinator.branch_id))
        assert association is not None
        who, assoc = coordinator.email, association.name
    ours: list[float] = []
    by_step: list[list[float]] = []
    run_spans: list[list[float]] = []
    cpu_ours = 0.0
    for i in range(missions):
        run_id = open_and_start(assoc, who, f"Mission de mesure {launcher} {i}", "")["flow_run_id"]
        drv = d.Driver(run_id)
        paused(run_id, None)
        c0 = cpu()
        times = [step(run_id, "needs-analysis", d.needs_analysis())]
        text = drv.form()["schema"]["properties"]["text"]["default"]
        times.append(step(run_id, "annonce-review-1", d.annonce(text)))
        times.append(step(run_id, "applications-1", d.applications("V-1\nV-2")))
        labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
        times.append(step(run_id, "selection", d.selection(labels[:1])))
        times.append(step(run_id, "roadmap", drv.agreed_roadmap()))
        for n in range(1, checkins + 1):
            decision = "mission terminée : passer au bilan" if n == checkins else "poursuivre la mission"
            times.append(step(run_id, f"check-in-{n}", d.check_in(decision=decision)))
        times.append(step(run_id, "review", d.review()))
        cpu_ours += cpu() - c0
        ours += times
        with get_client(sync_client=True) as c:
            states = c.read_flow_run_states(UUID(run_id))
        # How long the run itself took each time (Running → its next state: the replay and the step), without
        # the worker's poll and the process start; the first is the start, then one per resume.
        pairs = itertools.pairwise(states)
        spans = [(b.timestamp - a.timestamp).total_seconds() for a, b in pairs if a.name == "Running"]
        for k, t in enumerate(spans[1:]):
            if len(run_spans) <= k:
                run_spans.append([])
            run_spans[k].append(t)
        for k, t in enumerate(times):
            if len(by_step) <= k:
                by_step.append([])
            by_step[k].append(t)
        print(f"  [{launcher}] mission {i}: " + " ".join(f"{t:.2f}" for t in times), flush=True)
    base: list[float] = []
    c0 = cpu()
    for _ in range(missions):
        fr = run_deployment("baseline-suspend/baseline", parameters={"steps": 8}, timeout=0)
        paused(str(fr.id), None)  # type: ignore[union-attr]
        for k in range(8):
            base.append(step(str(fr.id), f"step-{k}", {"value": k}))  # type: ignore[union-attr]
    base_cpu = (cpu() - c0) / len(base)
    return {
        "ours": ours,
        "base": base,
        "by_step": by_step,
        "run_spans": run_spans,
        "cpu": cpu_ours / len(ours),
        "base_cpu": base_cpu,
        "wall": statistics.mean(ours),
        "base_wall": statistics.mean(base),
    }


if __name__ == "__main__":
    sys.exit(main())
