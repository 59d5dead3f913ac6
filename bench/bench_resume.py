"""Time from a resume to the next suspend, on the embedded stack (Prefect server and application database on the
embedded PostgreSQL, real SMTP server, two Prefect workers), for each launcher side by side in one run: Prefect's
default start and the warm launcher (deployments/warm.py); with, for each, a baseline flow that only suspends.

    python bench/bench_resume.py [--missions 3] [--checkins 7] [--launchers default,warm]
    python bench/bench_resume.py --missions 2 --launchers warm@2,warm@1    # the workers' poll interval, same run

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
    load_before = os.getloadavg()[1]
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
            # `warm@2`: the warm launcher with workers polling every 2 s (the default: the stack's own interval)
            kind, _, query = launcher.partition("@")
            os.environ["PASSERELLES_WARM_LAUNCHER"] = str(kind == "warm").lower()
            get_settings.cache_clear()
            register()  # the pool's command follows the setting
            baseline_suspend.to_deployment(name="baseline", entrypoint_type=EntrypointType.MODULE_PATH).apply(
                work_pool_name=POOL
            )
            poll = {"query_seconds": float(query)} if query else {}
            workers = [
                Worker(f"{launcher}-{i}", tmp / f"{launcher}-{i}.log", **poll).start()  # type: ignore[arg-type]
                for i in range(args.workers)
            ]
            try:
                time.sleep(8)  # the warm processes import before their first run; the workers start polling

                def cpu() -> float:
                    return machine_seconds({os.getpid(), postmaster, server.proc.pid}, exclude=os.getpid())  # type: ignore[union-attr]

                warm_logs = [w.log.with_suffix(".warm.log") for w in workers]
                results[launcher] = run(launcher, args.missions, args.checkins, cpu, warm_logs)
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
    print(
        f"load average of the machine (5 min) {load_before:.1f} at the start, {os.getloadavg()[1]:.1f} at the end on "
        f"{os.cpu_count()} cores: above the core count, others loaded it; compare the ratios of this run, not seconds"
    )
    for launcher, r in results.items():
        report(f"[{launcher}] mission-lifecycle, resume → next form", r["ours"])
        report(f"[{launcher}] baseline (suspend only)", r["base"])
        print(
            f"[{launcher}] machine time per resume: mission {r['cpu']:.2f} s, baseline {r['base_cpu']:.2f} s; the "
            f"stack idle costs {r['idle']:.2f} CPU s per s, so a resume alone about "
            f"{r['cpu'] - r['idle'] * r['wall']:.2f} s (mission), {r['base_cpu'] - r['idle'] * r['base_wall']:.2f} s "
            "(baseline)"
        )
        print(f"[{launcher}] where a resume's wait goes (median s, n):")
        for name, what in PHASES:
            values = r["phases"].get(name) or []
            if values:
                print(f"    {name:24s} {statistics.median(values):6.3f}  n={len(values):3d}  {what}")
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
    reference, *others = list(results)
    for other in others:  # each configuration against the first of the run (the same machine, minutes apart)
        d, w = results[reference], results[other]
        print(
            f"ratios {reference} / {other}: median wait "
            f"{statistics.median(d['ours']) / statistics.median(w['ours']):.2f}×, "
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


PHASES = (  # where a resume's wait goes, in order (breakdown)
    ("click → Resuming", "the resume API call until the server has rescheduled the run (Scheduled « Resuming »)"),
    ("resume API call", "the call as the client sees it (inside the previous phase and the next)"),
    ("Resuming → Pending", "the worker's poll (PREFECT_WORKER_QUERY_SECONDS), then its read of the deployment"),
    ("Pending → Submitting", "the worker builds the job (deployment, flow, variables), labels the run"),
    ("Submitting → fork", "the worker starts the pool's command; the client connects; the warm process forks"),
    ("fork → Running", "the child: settings, Prefect's engine loads the run and the flow, proposes Running"),
    ("Submitting → Running", "both above (the only figure without the warm launcher's log)"),
    ("Running → replay read", "the flow's entry, attach_run, the answers and verdicts read (the replay)"),
    ("replay read → Paused", "the step: its checks and transaction, mails, the next form prepared, the suspend"),
    ("Paused → seen", "the bench's poll (every 50 ms) noticing the next form"),
    ("click → seen", "the whole wait"),
)


def breakdown(
    run_id: str, states: list[Any], clicks: list[tuple[float, float, float]], warm_logs: list[Path]
) -> dict[str, list[float]]:
    """Per resume of one run, the seconds spent in each phase of PHASES: from the run's states (their timestamps,
    the same clock), its task runs, and the warm processes' log (the fork's moment, one line per run)."""
    import re

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    forks: list[float] = []
    pattern = re.compile(rf"forked \d+ for flow run {run_id} at ([\d.]+)")
    for log in warm_logs:
        if log.exists():
            forks += [float(m.group(1)) for m in pattern.finditer(log.read_text(errors="replace"))]
    forks.sort()
    with get_client(sync_client=True) as c:
        task_runs = c.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
    replay_ends = sorted(
        t.end_time.timestamp() for t in task_runs if t.name.startswith("recorded_verdicts") and t.end_time
    )
    out: dict[str, list[float]] = {name: [] for name, _ in PHASES}
    stamps = [(st.name, st.type, st.timestamp.timestamp()) for st in states]
    # The resumes: each Scheduled « Resuming » state, then the Pending, Submitting, Running and the next pause.
    starts = [i for i, (name, _, _) in enumerate(stamps) if name == "Resuming"]
    for n, i in enumerate(starts[: len(clicks)]):
        clicked, answered, seen = clicks[n]
        after = {}
        for name, type_, t in stamps[i + 1 :]:
            if type_.value in ("PAUSED", "COMPLETED"):
                after["Paused"] = t
                break
            after.setdefault(name, t)
        resuming = stamps[i][2]
        pending, submitting, running, paused = (after.get(k) for k in ("Pending", "Submitting", "Running", "Paused"))
        if None in (pending, running, paused):
            continue  # a resume that crashed or was rescheduled: not a normal one
        assert pending is not None and running is not None and paused is not None
        fork = next((f for f in forks if resuming < f < running), None)
        replay = next((r for r in replay_ends if running < r < paused), None)
        out["click → Resuming"].append(resuming - clicked)
        out["resume API call"].append(answered - clicked)
        out["Resuming → Pending"].append(pending - resuming)
        if submitting is not None:
            out["Pending → Submitting"].append(submitting - pending)
            out["Submitting → Running"].append(running - submitting)
            if fork is not None:
                out["Submitting → fork"].append(fork - submitting)
                out["fork → Running"].append(running - fork)
        if replay is not None:
            out["Running → replay read"].append(replay - running)
            out["replay read → Paused"].append(paused - replay)
        out["Paused → seen"].append(seen - paused)
        out["click → seen"].append(seen - clicked)
    return out


def run(launcher: str, missions: int, checkins: int, cpu: Any, warm_logs: list[Path]) -> dict[str, Any]:
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

    clicks: dict[str, list[tuple[float, float, float]]] = {}  # run → (clicked, API answered, next form seen)

    def step(run_id: str, key: str, data: dict[str, Any]) -> float:
        t0, clicked = time.perf_counter(), time.time()
        while not (answer := d.submit_form(run_id, data))[0]:
            if time.perf_counter() - t0 > 180:
                raise SystemExit(f"resume of {run_id} at {key!r} refused for 3 min: {answer[1]}")
            time.sleep(0.2)
        answered = time.time()
        paused(run_id, key)
        clicks.setdefault(run_id, []).append((clicked, answered, time.time()))
        return time.perf_counter() - t0

    with unit_of_work() as s:
        coordinator = s.scalar(select(Coordinator).where(Coordinator.role == Role.PASSERELLE).order_by(Coordinator.id))
        assert coordinator is not None
        association = s.scalar(select(Association).where(Association.branch_id == coordinator.branch_id))
        assert association is not None
        who, assoc = coordinator.email, association.name
    ours: list[float] = []
    phases: dict[str, list[float]] = {}
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
        for name, values in breakdown(run_id, states, clicks[run_id], warm_logs).items():
            phases.setdefault(name, []).extend(values)
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
        "phases": phases,
        "cpu": cpu_ours / len(ours),
        "base_cpu": base_cpu,
        "wall": statistics.mean(ours),
        "base_wall": statistics.mean(base),
    }


if __name__ == "__main__":
    sys.exit(main())
