"""Load: N missions suspended at their first form, then every one resumed through the API as fast as the machine
allows, with 2 workers, on a Prefect server backed by PostgreSQL and, for comparison, by SQLite.

    python bench/bench_load.py --missions 1000        # the goal's size
    python bench/bench_load.py --missions 100         # what fits in a few minutes on 2 cores
    python bench/bench_load.py --missions 100 --only postgresql --launchers default,warm   # the launchers side by side

Prints, per server database: resume calls refused (HTTP errors or a non-ACCEPT answer), the runs page's API call
(`POST /api/flow_runs/filter` as the UI makes it) latency measured while the resumes are processed, and the time
until every mission waits at its next form. The application database is the embedded PostgreSQL in both cases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from uuid import UUID

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UI_FILTER = {  # what the runs page asks for (Prefect UI, runs list, first page)
    "sort": "START_TIME_DESC",
    "limit": 10,
    "offset": 0,
    "flow_runs": {"operator": "and_", "state": {"operator": "and_", "type": {"any_": ["PAUSED"]}}},
}


def keys(api: str, ids: list[str]) -> dict[str, str | None]:
    """Pause key of each run (None when not paused)."""
    out: dict[str, str | None] = {}
    for i in range(0, len(ids), 200):
        body = {"flow_runs": {"id": {"any_": ids[i : i + 200]}}, "limit": 200}
        for run in httpx.post(f"{api}/flow_runs/filter", json=body, timeout=60).json():
            state = run.get("state") or {}
            paused = state.get("type") == "PAUSED"
            out[run["id"]] = (state.get("state_details") or {}).get("pause_key") if paused else None
    return out


def wait_all(api: str, ids: list[str], key: str, timeout: float) -> float:
    """Seconds until every run waits at `key`."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        got = keys(api, ids)
        if all(got.get(i) == key for i in ids):
            return time.perf_counter() - t0
        time.sleep(2)
    done = sum(1 for v in keys(api, ids).values() if v == key)
    raise TimeoutError(f"{done}/{len(ids)} runs at {key} after {timeout:.0f} s")


def ui_probe(ui: str, stop: threading.Event, out: list[float]) -> None:
    """Open the runs page in headless Chromium every few seconds; time until the first mission run is listed."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        while not stop.is_set():
            t = time.perf_counter()
            page.goto(f"{ui}/runs")
            page.get_by_text("mission-").first.wait_for()
            out.append(time.perf_counter() - t)
            stop.wait(5)
        browser.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def one_server(
    label: str, missions: int, tmp: Path, prefect_db: str | None, app_url: str, launcher: str, postmaster: int
) -> dict[str, object]:
    from bench.common import machine_seconds
    from deployments.local import MailServer, PrefectServer, Worker
    from models.settings import get_settings

    os.environ["PASSERELLES_WARM_LAUNCHER"] = str(launcher == "warm").lower()

    server = PrefectServer(home=tmp / f"prefect-{label}", ui=True, database_url=prefect_db)
    os.environ.update(server.env())
    mail = MailServer().start()
    os.environ.update(
        {
            "PASSERELLES_DATABASE_URL": app_url,
            "PASSERELLES_SMTP_PORT": str(mail.port),
            "PASSERELLES_INSTANCE": f"bench-{label}",
        }
    )
    get_settings.cache_clear()
    from models.db import get_engine

    get_engine.cache_clear()
    server.start()
    import prefect.settings as ps
    from prefect.settings import temporary_settings

    with temporary_settings(updates={ps.PREFECT_API_URL: server.api_url}):
        from deployments.register import register
        from models.db import unit_of_work
        from tasks.runs import start_run
        from tests import lifecycle_driver as d

        register()
        workers = [Worker(f"{label}-{i}", tmp / f"{label}-{i}.log").start() for i in (1, 2)]

        def cpu() -> float:
            # The stack's processes and what they start, not the bench's own children (Chromium for the runs page)
            from deployments import warm

            roots = {postmaster, server.proc.pid}  # type: ignore[union-attr]
            roots |= {w.proc.pid for w in workers if w.proc is not None}
            roots |= {pid for w in workers if w.warm_socket and (pid := warm.server_pid(w.warm_socket))}
            return machine_seconds(roots)

        try:
            with unit_of_work() as s:
                mission_ids = [d.new_mission(s, f"Charge {label} {i}").id for i in range(missions)]
            t0 = time.perf_counter()
            runs = [start_run(m) for m in mission_ids]
            to_first = wait_all(server.api_url, runs, "needs-analysis", timeout=7200)
            print(
                f"  [{label}] {missions} runs suspended at their first form {to_first:.0f} s after the last start "
                f"({time.perf_counter() - t0:.0f} s in all)"
            )
            latencies: list[float] = []
            stop = threading.Event()

            probe_errors: list[str] = []

            def probe() -> None:
                while not stop.is_set():
                    t = time.perf_counter()
                    try:
                        httpx.post(f"{server.api_url}/flow_runs/filter", json=UI_FILTER, timeout=60).raise_for_status()
                        latencies.append(time.perf_counter() - t)
                    except httpx.HTTPError as exc:  # the server refused or dropped the call: counted, not timed
                        probe_errors.append(type(exc).__name__)
                    time.sleep(0.5)

            page_loads: list[float] = []
            prober = threading.Thread(target=probe, daemon=True)
            browser = threading.Thread(target=ui_probe, args=(server.ui_url, stop, page_loads), daemon=True)
            prober.start()
            browser.start()
            refused, refused_runs = 0, set()
            c1 = cpu()
            t1 = time.perf_counter()
            with httpx.Client(timeout=60) as http:
                for run_id in runs:
                    try:
                        r = http.post(
                            f"{server.api_url}/flow_runs/{UUID(run_id)}/resume", json={"run_input": d.needs_analysis()}
                        )
                        ok = r.status_code in (200, 201) and r.json().get("status") == "ACCEPT"
                    except httpx.HTTPError:  # dropped connection: a Passerelle's Submit failing
                        ok = False
                    refused += not ok
                    if not ok:
                        refused_runs.add(run_id)
            posting = time.perf_counter() - t1
            accepted = [r for r in runs if r not in refused_runs]  # a refused resume leaves its run waiting
            advanced = wait_all(server.api_url, accepted, "annonce-review-1", timeout=7200)
            machine = (cpu() - c1) / max(1, len(accepted))
            stop.set()
            prober.join()
            browser.join()
        finally:
            for w in workers:
                w.stop()
            mail.stop()
            server.stop()
    lat = sorted(latencies) or [float("nan")]
    result = {
        "label": label,
        "refused": refused,
        "posting": posting,
        "advanced": advanced + posting,
        "n": len(lat),
        "p50": statistics.median(lat),
        "p95": pct(lat, 0.95),
        "max": lat[-1],
        "ui_n": len(page_loads),
        "ui_p50": pct(page_loads, 0.5),
        "ui_max": max(page_loads, default=float("nan")),
        "probe_errors": len(probe_errors),
        "to_first": to_first,
        "machine": machine,
    }
    print(f"  [{label}] {result}", flush=True)  # each server's figures as soon as they are measured
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--missions", type=int, default=100)
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--launchers", default="default,warm", help="Prefect's start, the warm launcher, or both")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    load_before = os.getloadavg()[1]
    from deployments.local import EmbeddedPostgres
    from models.db import upgrade

    launchers = args.launchers.split(",")
    postgres = EmbeddedPostgres(tmp / "pgdata").start(("passerelles", *(f"prefect_{x}" for x in launchers)))
    postmaster = int((tmp / "pgdata" / "postmaster.pid").read_text().split()[0])
    app_url = postgres.url("passerelles")
    upgrade(app_url)
    os.environ["PASSERELLES_DATABASE_URL"] = app_url
    from models.settings import get_settings

    get_settings.cache_clear()
    from tests import lifecycle_driver as d

    d.seed_small()
    results = []
    try:
        for label in ("postgresql", "sqlite"):
            if args.only and args.only != label:
                continue
            for launcher in launchers:  # side by side: the same missions' load, one launcher after the other
                db = postgres.url(f"prefect_{launcher}", "asyncpg") if label == "postgresql" else None
                results.append(one_server(f"{label}-{launcher}", args.missions, tmp, db, app_url, launcher, postmaster))
    finally:
        postgres.stop()
    print(f"\n{args.missions} missions, 2 workers, goal: 0 refused, runs page ≤ 1 s, all advanced ≤ 10 min")
    print(
        f"  load average of the machine (5 min) {load_before:.1f} at the start, {os.getloadavg()[1]:.1f} at the end "
        f"on {os.cpu_count()} cores: above the core count, others loaded it; compare the ratios of this run"
    )
    for r in results:
        print(
            f"  Prefect server on {r['label']:10s}: refused {r['refused']}, resumes posted in "
            f"{r['posting']:.1f} s, all at their next form {r['advanced']:.0f} s after the first resume; runs page "
            f"p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms "
            f"(n={r['n']}); runs page in Chromium p50 {r['ui_p50']:.2f} s, max {r['ui_max']:.2f} s "
            f"(n={r['ui_n']}); runs page calls refused or dropped: {r['probe_errors']}; machine time per resume "
            f"{r['machine']:.2f} s; runs started → all at their first form {r['to_first']:.0f} s"
        )
    by = {str(r["label"]): r for r in results}
    for label in ("postgresql", "sqlite"):
        d, w = by.get(f"{label}-default"), by.get(f"{label}-warm")
        if d and w:
            print(
                f"  ratio default/warm on {label}: time to advance {d['advanced'] / w['advanced']:.2f}×, "  # type: ignore[operator]
                f"machine time per resume {d['machine'] / w['machine']:.2f}×, "  # type: ignore[operator]
                f"runs page p95 {d['p95'] / w['p95']:.2f}×"  # type: ignore[operator]
            )
    for r in results:
        per_resume = float(r["advanced"]) / args.missions  # type: ignore[arg-type]
        print(
            f"  [{r['label']}] at this rate, 1,000 missions advance in {per_resume * 1000 / 60:.1f} min "
            f"(goal ≤ 10 min); the machine time alone allows {2 * 600 / float(r['machine']):.0f} resumes in "  # type: ignore[arg-type]
            "10 min on 2 cores"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
