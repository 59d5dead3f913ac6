"""What the sign-in gateway adds to a resume and to the UI's reads, in one run: the same calls on the same Prefect
server, direct (service credential) and through the gateway (a member's personal token, the branch check, the
stamping of the actor, the access log), on the application database of the embedded PostgreSQL.

    python bench/bench_gateway.py [--runs 40]

A resume is `POST /api/flow_runs/{id}/resume` on a suspended mission run (its tags name the member's branch);
the reads are the run page's `GET /api/flow_runs/{id}` and the runs list's `POST /api/flow_runs/filter`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "passerelles:" + "b" * 40


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    from deployments.local import EmbeddedPostgres, Portal, PrefectServer, free_port

    postgres = EmbeddedPostgres(tmp / "pgdata").start()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    server = PrefectServer(
        home=tmp / "prefect", ui=False, database_url=postgres.url("prefect", "asyncpg"), auth=SECRET, public_url=public
    )
    os.environ.update(server.env())
    os.environ.update(
        {
            "PASSERELLES_DATABASE_URL": postgres.url("passerelles"),
            "PASSERELLES_PUBLIC_BASE_URL": public,
            "PASSERELLES_PREFECT_UPSTREAM_URL": server.ui_url,
            "PASSERELLES_SMTP_PORT": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    from deployments import demo

    demo.main([])
    server.start()
    gateway = Portal(port, tmp / "gateway.log", command="gateway").start()
    try:
        direct, through = measure(server.api_url, f"{public}/api", args.runs)
    finally:
        gateway.stop()
        server.stop()
        postgres.stop()
    print(f"{'call':<28}{'direct (ms)':>14}{'gateway (ms)':>14}{'added (ms)':>12}{'ratio':>8}")
    for name in direct:
        d, g = statistics.median(direct[name]) * 1000, statistics.median(through[name]) * 1000
        print(f"{name:<28}{d:>14.1f}{g:>14.1f}{g - d:>12.1f}{g / d:>8.2f}")
    return 0


def measure(api: str, gateway_api: str, n: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Median latencies of the same calls, direct and through the gateway, alternated so that both see the
    same server state."""
    import httpx
    from prefect import flow, get_client
    from prefect.states import Suspended
    from sqlalchemy import select

    from models import Coordinator, Role
    from models.db import unit_of_work
    from tasks import identity

    with unit_of_work() as s:
        lead = s.scalars(select(Coordinator).where(Coordinator.role == Role.BRANCH_LEAD)).first()
        assert lead is not None and lead.branch is not None
        token, branch = identity.open_session(s, lead, kind="token"), lead.branch.code

    @flow(name="bench-gateway")
    def nothing() -> None:
        return None

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("bench-gateway")
        runs = []
        for i in range(2 * n):
            fr = client.create_flow_run(nothing, name=f"mission-bench-{i}", tags=[f"antenne:{branch}"])
            client.set_flow_run_state(fr.id, Suspended(timeout_seconds=3600, pause_key=f"k{i}"), force=True)
            runs.append(str(fr.id))
    del flow_id
    direct_client = httpx.Client(auth=tuple(SECRET.split(":", 1)), timeout=30)  # type: ignore[arg-type]
    member = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    timings: dict[str, dict[str, list[float]]] = {"direct": {}, "gateway": {}}

    def csrf(c: httpx.Client, base: str, client_id: str) -> dict[str, str]:
        t = c.get(f"{base}/csrf-token", params={"client": client_id}).json()["token"]
        return {"Prefect-Csrf-Token": t, "Prefect-Csrf-Client": client_id}

    headers = {"direct": csrf(direct_client, api, "bench-direct"), "gateway": csrf(member, gateway_api, "bench-gw")}

    def timed(kind: str, name: str, call: Any) -> None:
        start = time.perf_counter()
        r = call()
        timings[kind].setdefault(name, []).append(time.perf_counter() - start)
        assert r.status_code < 300, (kind, name, r.status_code, r.text[:200])

    for i in range(n):
        for kind, c, base in (("direct", direct_client, api), ("gateway", member, gateway_api)):
            run = runs[2 * i + (kind == "gateway")]
            h = headers[kind]
            timed(kind, "GET flow_runs/{id}", lambda c=c, base=base, run=run: c.get(f"{base}/flow_runs/{run}"))
            timed(kind, "POST flow_runs/filter", lambda c=c, base=base, h=h: c.post(f"{base}/flow_runs/filter",
                  json={"limit": 50}, headers=h))  # fmt: skip
            timed(kind, "POST flow_runs/{id}/resume", lambda c=c, base=base, run=run, h=h: c.post(
                f"{base}/flow_runs/{run}/resume", json={}, headers=h))  # fmt: skip
    return timings["direct"], timings["gateway"]


if __name__ == "__main__":
    sys.exit(main())
