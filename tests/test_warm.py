"""The warm launcher (deployments/warm.py): its client and warm process with a real `prefect.engine` (an invalid
flow run id: the engine logs it and exits 1), then on real workers: a cancel kills the forked child, and missions
recover from a kill -9 of the warm process and of a child mid-step, every step audited once and every mail once
(the kill -9 of workers is tests/test_workers.py's, which runs with the warm launcher on by default)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import cast
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from sqlalchemy import func, select

from deployments import warm
from deployments.local import Worker
from models import AuditEvent
from models.db import unit_of_work
from models.settings import get_settings
from tests import lifecycle_driver as d
from tests.test_workers import submit, wait_for

ROOT = Path(__file__).resolve().parent.parent
SILENCE = timedelta(seconds=45)


def client(sock: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m deployments.warm run` for an invalid flow run id."""
    full = {**os.environ, warm.SOCKET_ENV: sock, "PREFECT__FLOW_RUN_ID": "pas-un-uuid", **(env or {})}
    cmd = [sys.executable, "-m", "deployments.warm", "run"]
    return subprocess.run(cmd, env=full, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def wait_served(sock: str, log: Path | None = None, timeout: float = 90) -> int:
    """The warm process's pid once it accepts runs (it says so in its log: `log`, or the one a client gives it)."""
    logs = [Path(f"{sock}.log"), *([log] if log else [])]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = warm.server_pid(sock)
        if pid and any(p.exists() and f"pid {pid} serving" in p.read_text(errors="replace") for p in logs):
            return pid
        time.sleep(0.1)
    raise AssertionError(f"no warm process on {sock}: " + " ".join(p.read_text() for p in logs if p.exists()))


@pytest.fixture
def sock(tmp_path: Path):
    path = warm.socket_for(str(tmp_path))
    yield path
    warm.stop_server(path)
    for suffix in ("", ".pid", ".lock", ".log"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_code_stamp_follows_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "flows").mkdir()
    module = tmp_path / "flows" / "a.py"
    module.write_text("x = 1\n")
    monkeypatch.setattr(warm, "ROOT", tmp_path)
    monkeypatch.setattr(warm, "PACKAGES", ("flows",))
    before = warm.code_stamp()
    assert warm.code_stamp() == before
    os.utime(module, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert warm.code_stamp() != before


def test_client_and_warm_process(sock: str) -> None:
    """Missing: the run starts classically and a warm process is started; then forked: same output, same exit
    code."""
    missing = client(sock)
    assert missing.returncode == 1
    assert "lanceur chaud absent" in missing.stderr and "Invalid flow run id" in missing.stderr
    wait_served(sock)

    forked = client(sock)
    assert forked.returncode == 1, forked.stderr
    assert "Invalid flow run id" in forked.stderr and "lanceur chaud" not in forked.stderr
    assert "_Forked" not in forked.stderr  # the fork is not the context of the run's errors


def test_stale_code_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client whose code differs from the warm process's is refused (it then starts classically) and the warm
    process is due to replace itself."""
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # as in the warm process (this test process has more)
    server = warm.Server(str(tmp_path / "s.sock"), max_runs=10)
    server.stamp = "avant"
    assert "code installé modifié" in server._refusal({"stamp": "après"}, [0, 1, 2])
    assert server.restart_due == "code changed"
    server.restart_due = ""
    assert server._refusal({"stamp": "avant"}, [0, 1, 2]) == ""
    assert "descripteurs" in server._refusal({"stamp": "avant"}, [])


def test_max_runs_then_replaced(sock: str) -> None:
    """After --max-runs runs the warm process replaces itself in place (same pid, same socket); runs go on."""
    subprocess.Popen(
        [sys.executable, "-m", "deployments.warm", "serve", "--socket", sock, "--max-runs", "2"],
        cwd=ROOT,
        stdout=open(f"{sock}.log", "ab"),  # noqa: SIM115 - the child's
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid = wait_served(sock)
    for _ in range(4):
        run = client(sock)
        assert run.returncode == 1 and "Invalid flow run id" in run.stderr
    log = Path(f"{sock}.log").read_text()
    assert log.count("restarting (2 runs)") == 2, log
    assert "(1 runs handed over)" in log or "(0 runs handed over)" in log
    assert warm.server_pid(sock) == pid


def test_signals_forwarded_and_status_mirrored(sock: str, tmp_path: Path) -> None:
    """A SIGTERM to the client reaches the child's process group; the client dies of the child's signal."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployments.warm", "serve", "--socket", sock],
        cwd=ROOT,
        stdout=open(f"{sock}.log", "ab"),  # noqa: SIM115 - the child's
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_served(sock)
    # An engine that waits: its API listens and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    env = {
        **os.environ,
        warm.SOCKET_ENV: sock,
        "PREFECT__FLOW_RUN_ID": "00000000-0000-0000-0000-000000000001",
        "PREFECT_API_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/api",
    }
    run = subprocess.Popen([sys.executable, "-m", "deployments.warm", "run"], env=env, cwd=ROOT)
    time.sleep(2)
    children = warm_children(proc.pid)
    assert len(children) == 1, children
    (child,) = children
    assert os.getsid(child) == child  # its own session
    run.send_signal(signal.SIGTERM)
    assert run.wait(30) != 0
    deadline = time.monotonic() + 10
    while warm_children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not warm_children(proc.pid)
    silent.close()


def warm_children(pid: int) -> list[int]:
    """The live children of a warm process (its runs)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def run_child(flow_run_id: str, workers: list[Worker]) -> int:
    """The pid of the forked child running `flow_run_id`: it writes to the stdout of the client the worker
    started (the run's infrastructure pid)."""
    with get_client(sync_client=True) as c:
        client_pid = int(c.read_flow_run(UUID(flow_run_id)).infrastructure_pid or 0)
    pipe = os.readlink(f"/proc/{client_pid}/fd/1")
    for w in workers:
        server = warm.server_pid(w.warm_socket)
        for child in warm_children(server or -1):
            try:
                if os.readlink(f"/proc/{child}/fd/1") == pipe:
                    return child
            except OSError:
                continue
    raise AssertionError(f"no warm child for run {flow_run_id} (client {client_pid})")


needs_warm = pytest.mark.skipif(
    not get_settings().warm_launcher, reason="PASSERELLES_WARM_LAUNCHER=false: these tests are about it"
)


@pytest.mark.slow
@needs_warm
def test_cancel_kills_the_forked_child(pg_prefect_server, tmp_path, monkeypatch) -> None:
    from prefect.deployments import run_deployment
    from prefect.deployments.runner import EntrypointType, RunnerDeployment
    from prefect.states import Cancelling

    from deployments.register import POOL, ensure_pool
    from tests.warm_flows import sleepy

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    ensure_pool()
    deployment = cast(RunnerDeployment, sleepy.to_deployment(name="sleepy", entrypoint_type=EntrypointType.MODULE_PATH))
    deployment.apply(work_pool_name=POOL)
    worker = Worker("cancel", tmp_path / "cancel.log").start()
    try:
        fr = cast(FlowRun, run_deployment("warm-sleepy/sleepy", parameters={"seconds": 600}, timeout=0))
        deadline = time.monotonic() + 120
        while "warm-sleepy: running" not in worker.log.read_text(errors="replace"):
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.3)
        child = run_child(str(fr.id), [worker])
        with get_client(sync_client=True) as c:
            c.set_flow_run_state(fr.id, Cancelling(), force=False)
            deadline = time.monotonic() + 90
            while (state := c.read_flow_run(fr.id).state) and state.type != StateType.CANCELLED:
                assert time.monotonic() < deadline, state
                time.sleep(0.3)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    finally:
        worker.stop()


def mails_once_steps_once(mail_server, mission_id: int) -> None:
    with unit_of_work() as s:
        steps = list(s.scalars(select(AuditEvent.step_key).where(AuditEvent.mission_id == mission_id)))
        recovered = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "run-recovered"))
    assert len(steps) == len(set(steps)), steps
    received = Counter((m["To"], m["Subject"]) for m in mail_server.messages)
    assert not received or max(received.values()) == 1, received
    assert len({m["Message-ID"] for m in mail_server.messages}) == len(mail_server.messages)
    assert (recovered or 0) <= 1


@pytest.mark.slow
@needs_warm
def test_warm_process_killed_child_killed(pg_prefect_server, pg_app_db, mail_server, tmp_path) -> None:
    """kill -9 of the warm processes while the mission waits (the next run starts classically and brings a warm
    process back), of the warm processes mid-step (the child finishes the step in its own session), of the child
    mid-step (the run is reported Crashed, recovered by the automation, replays to its next form)."""
    from deployments.register import register

    register(silence=SILENCE)
    d.seed_small()
    workers = [Worker(f"k{i}", tmp_path / f"k{i}.log").start() for i in (1, 2)]
    logs = [w.log for w in workers]
    try:
        for w in workers:
            wait_served(w.warm_socket, w.log.with_suffix(".warm.log"))
        mission_id, run_id = d.open_and_start()
        drv = d.Driver(run_id)
        wait_for(drv, logs, key="needs-analysis")

        # 1. The warm processes die while the mission waits.
        for w in workers:
            os.kill(warm.server_pid(w.warm_socket) or 0, signal.SIGKILL)
        submit(drv, d.needs_analysis())
        wait_for(drv, logs, key="annonce-review-1")
        assert any("lanceur chaud absent" in p.read_text(errors="replace") for p in logs)
        deadline = time.monotonic() + 60
        while not any(warm.server_pid(w.warm_socket) for w in workers):  # started again by the classic run
            assert time.monotonic() < deadline
            time.sleep(0.3)
        for w in workers:  # both back, as the stack or a restart of the workers would start them
            warm.start_server(w.warm_socket, {**os.environ}, w.log.with_suffix(".warm.log"))
        for w in workers:
            wait_served(w.warm_socket, w.log.with_suffix(".warm.log"))

        # 2. The warm processes die in the middle of a step: the child is in its own session and goes on.
        text = drv.form()["schema"]["properties"]["text"]["default"]
        submit(drv, d.annonce(text))
        wait_for(drv, logs, state=StateType.RUNNING, timeout=60)
        for w in workers:
            if pid := warm.server_pid(w.warm_socket):
                os.kill(pid, signal.SIGKILL)
        fr = wait_for(drv, logs, key="applications-1", timeout=240)
        for w in workers:
            warm.start_server(w.warm_socket, {**os.environ}, w.log.with_suffix(".warm.log"))
        for w in workers:
            wait_served(w.warm_socket, w.log.with_suffix(".warm.log"))

        # 3. The child dies in the middle of a step: Crashed (the client exits as it did), recovered, replayed.
        runs_before = fr.run_count
        submit(drv, d.applications("V-1\nV-2"))
        wait_for(drv, logs, state=StateType.RUNNING, timeout=60)
        try:
            os.kill(run_child(run_id, workers), signal.SIGKILL)
            killed = True
        except (AssertionError, OSError):  # the step was already over
            killed = False
        fr = wait_for(drv, logs, key="selection", timeout=300)
        assert not killed or fr.run_count > runs_before
        with unit_of_work() as s:
            recovered = s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "run-recovered")
            )
        assert recovered == 1 or not killed
        time.sleep(3)
    finally:
        for w in workers:
            w.stop()
    mails_once_steps_once(mail_server, mission_id)
