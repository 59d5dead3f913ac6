"""The warm launcher: flow runs forked from a long-lived process that has already imported Prefect and our flows.

    python -m deployments.warm serve [--socket PATH]   # the warm process (one per worker; `Worker` starts it)
    python -m deployments.warm run                     # the work pool's `command`: one flow run

Why: every resume of a suspended mission is a new flow-run process; `python -m prefect.engine` spends ~1.4 s of CPU
importing Prefect and ~2.3 s importing our flows before the run does any work (shared/PREFECT_NOTES.md, « What a
resume costs »). Prefect itself has no pre-imported launcher: it starts flow runs with `python -m prefect.engine`
(worker, runner) or `multiprocessing.get_context("spawn")` (`flow_engine.run_flow_in_subprocess`); it only makes
its own threads and services fork-safe (`os.register_at_fork` in `prefect/_internal/concurrency`).

How: `run` (the client, standard library only, ~50 ms) connects to the warm process over a Unix socket and sends
it its environment, working directory and arguments, and its stdin/stdout/stderr (SCM_RIGHTS). The warm process,
a single thread that has created no engine, client, event loop or thread, forks a child that starts its own
session, takes the client's descriptors and environment, rebuilds Prefect's settings context, and runs
`prefect.engine` as `python -m prefect.engine` would. The child's exit status goes back to the client, which
exits with it (a run killed by a signal kills the client with the same signal), so the worker reports a crash as
it does today. SIGTERM/SIGINT sent to the client (a cancel from the UI) are forwarded to the child's process group;
if the worker then SIGKILLs the client, the warm process kills the child. A worker that dies (its client dies
without forwarding anything) leaves the child running in its own session, as Prefect's supervisor does.

When the warm process is missing, does not answer, runs other code than the installed one (a hash of the mtimes of
our .py files and of Prefect's) or refuses, the client starts the run the classic way (`exec python -m
prefect.engine`, in its own session) and, when nothing listened, starts a warm process for the next runs. The warm
process replaces itself (exec, same pid, same socket, runs in flight handed over) after `warm_max_runs` runs or when
the code changes.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import hashlib
import json
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from deployments.arguments import Parser

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "tasks", "flows", "deployments")  # what the warm process imports (and may hold stale)
SOCKET_ENV = "PASSERELLES_WARM_SOCKET"
PROFILE_ENV = "PASSERELLES_WARM_PROFILE"  # a folder: each forked run writes its cProfile there (to find its costs)
READY_SECONDS = 8.0  # a warm process restarting imports for ~4 s; past this the client starts the run itself
CHECK_SECONDS = 2.0  # how often an idle warm process looks at the code on disk
MODULE = "deployments.warm"
PRELOADED = (  # what `python -m prefect.engine` imports before running a flow, besides the flow's own module
    "prefect._internal.control_listener",  # prefect.engine itself is run as __main__ in the child
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect._internal.metrics",
    "prefect.client.orchestration",
    # What a run then imports on its way, measured in the children's profiles (PASSERELLES_WARM_PROFILE): the first
    # engine of a run imports psycopg (~80 modules, 0.1 s of CPU, 1 s of wall time on the loaded machine), the first
    # task call Prefect's graph helpers (graphviz, 0.25-0.5 s), the first suspend its observers. Modules only: no
    # connection, no thread.
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "prefect.utilities.visualization",
    "prefect._flow_run_suspension",
    "prefect._internal.observers",
)


def command() -> str:
    """The work pool's `command` that starts a flow run through the warm launcher."""
    return f"{sys.executable} -m {MODULE} run"


def default_socket() -> str:
    """Where the warm process listens when nothing says otherwise: one per user and machine."""
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), f"passerelles-warm-{os.getuid()}.sock")


def socket_for(key: str) -> str:
    """A short socket path of its own for `key` (a worker's log path): Unix socket paths are limited to 107 bytes."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), f"passerelles-warm-{os.getuid()}-{digest}.sock")


def code_stamp() -> str:
    """A hash of the paths, mtimes and sizes of our .py files and of Prefect's package: it changes with the code."""
    h = hashlib.sha1()
    for package in PACKAGES:
        for dirpath, dirnames, filenames in os.walk(ROOT / package):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    h.update(f"{dirpath}/{name}:{st.st_mtime_ns}:{st.st_size}\n".encode())
    import importlib.util

    spec = importlib.util.find_spec("prefect")
    if spec is not None and spec.origin:
        st = os.stat(spec.origin)
        h.update(f"{spec.origin}:{st.st_mtime_ns}:{st.st_size}\n".encode())
    return h.hexdigest()


# --- the wire: one JSON object per line, the client's descriptors with its request ------------------------------


def _send(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    data = (json.dumps(msg) + "\n").encode()
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


class _Lines:
    """Reads the messages of a connection, and the descriptors that come with them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.fds: list[int] = []

    def read(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message; None at the end of the connection."""
        while b"\n" not in self.buf:
            self.sock.settimeout(timeout)
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 8)
            self.fds += fds
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        assert isinstance(msg, dict)
        return msg


# --- the client -------------------------------------------------------------------------------------------------


class _Fallback(Exception):
    """The warm process cannot take this run; the message says why, in French (it lands in the worker's log)."""

    def __init__(self, reason: str, *, absent: bool = False) -> None:
        super().__init__(reason)
        self.absent = absent


def run(argv: list[str]) -> int:
    """Start one flow run (`PREFECT__FLOW_RUN_ID` in the environment) through the warm process, or classically."""
    started = time.time()
    path = os.environ.get(SOCKET_ENV) or default_socket()
    try:
        return _run_warm(path, argv, started)
    except _Fallback as why:
        print(f"passerelles : lanceur chaud {why} ; le run démarre sans lui.", file=sys.stderr, flush=True)
        if why.absent:
            with contextlib.suppress(OSError):
                start_server(path, {k: v for k, v in os.environ.items() if not k.startswith("PREFECT__")})
    return _exec_engine(argv)


def _run_warm(path: str, argv: list[str], started: float) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise _Fallback(f"absent ({path})", absent=True) from exc
    reader = _Lines(sock)
    try:
        hello = reader.read(timeout=READY_SECONDS)
    except TimeoutError as exc:
        raise _Fallback(f"sans réponse après {READY_SECONDS:.0f} s") from exc
    except OSError as exc:
        raise _Fallback(f"injoignable ({exc})") from exc
    if hello is None:
        raise _Fallback("a fermé la connexion")
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "argv": argv, "stamp": code_stamp(), "started": started}
    _send(sock, request, fds=[0, 1, 2])
    # From here the run may be started: the client never falls back unless the warm process says it did not fork.
    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not child:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child[0], signum)
        with contextlib.suppress(OSError):
            _send(sock, {"sig": signum})

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    done: int | None = None
    while True:
        msg = reader.read()
        if msg is None:
            break
        if "refuse" in msg:
            for s, handler in previous.items():
                signal.signal(s, handler)
            raise _Fallback(f"refuse ce run : {msg['refuse']}")
        if "pid" in msg:
            child.append(int(msg["pid"]))
            for signum in pending:
                forward(signum, None)
        if "done" in msg:
            done = int(msg["done"])
        if "exit" in msg:
            return _mirror(int(msg["exit"]))
    if not child and done is None:
        raise _Fallback("s'est arrêté avant de lancer le run")
    # The warm process died while the child ran: the child told its own code before ending, or was killed.
    return done if done is not None else 1


def _mirror(code: int) -> int:
    """Exit as the child did: a child killed by a signal kills the client with the same signal."""
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(1)
        return 128 - code
    return code


def _exec_engine(argv: list[str]) -> NoReturn:
    """The classic start, in its own session (a worker's death does not take the run with it)."""
    with contextlib.suppress(OSError):
        os.setsid()
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *argv])


# --- the warm process -------------------------------------------------------------------------------------------


def start_server(path: str, env: dict[str, str], log: Path | None = None) -> int:
    """Start a warm process on `path` in the background (it exits at once if one already serves there); its pid."""
    import subprocess

    out = open(log or f"{path}.log", "ab")  # noqa: SIM115 - handed to the child
    with out:
        proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, "serve", "--socket", path],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def server_pid(path: str) -> int | None:
    """The pid of the warm process serving `path`, if it runs."""
    try:
        pid = int(Path(f"{path}.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def stop_server(path: str, timeout: float = 10.0) -> None:
    """Stop the warm process of `path` (its runs in flight go on, each in its own session)."""
    pid = server_pid(path)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while server_pid(path) == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        if server_pid(path) == pid:
            os.kill(pid, signal.SIGKILL)


def preload() -> None:
    """What every flow run imports: Prefect's engine and client, and every flow of ours (with tasks and models)."""
    import importlib
    import pkgutil

    for name in PRELOADED:
        importlib.import_module(name)
    import flows

    for module in pkgutil.iter_modules(flows.__path__):
        importlib.import_module(f"flows.{module.name}")


@dataclass
class _Run:
    pid: int
    conn: socket.socket | None
    signaled: bool = False


class _Forked(BaseException):
    """Raised in the child right after the fork, to leave the server's loop."""

    def __init__(self, conn: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
        self.conn, self.fds, self.request = conn, fds, request
        self.logging_env = {k: v for k, v in os.environ.items() if k.startswith("PREFECT_LOGGING_")}


class Server:
    """The warm process: accepts runs on a Unix socket and forks one child per run."""

    def __init__(self, path: str, max_runs: int) -> None:
        self.path = path
        self.max_runs = max_runs
        self.pid = os.getpid()
        self.listener: socket.socket | None = None
        self.lock_fd = -1
        self.runs: dict[int, _Run] = {}
        self.started = 0
        self.stopping = False
        self.restart_due = ""
        self.stamp = ""
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()

    # set-up

    def bind(self) -> bool:
        """Take the socket's lock and listen; False when another warm process serves it."""
        self.lock_fd = os.open(f"{self.path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.lock_fd)
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the owner only: a run gets whatever environment it sends
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(64)
        self.listener = listener
        Path(f"{self.path}.pid").write_text(str(self.pid))
        return True

    def inherit(self, listen_fd: int, lock_fd: int, runs: list[dict[str, Any]]) -> None:
        """Take over from the process this one replaced (same pid): its socket, its lock and its runs in flight."""
        self.listener = socket.socket(fileno=listen_fd)
        self.lock_fd = lock_fd
        for r in runs:
            conn = socket.socket(fileno=r["fd"]) if r["fd"] >= 0 else None
            self.runs[r["pid"]] = _Run(r["pid"], conn, r["signaled"])

    # the loop

    def serve(self) -> None:
        """Accept runs until SIGTERM; replace itself when due."""
        assert self.listener is not None
        self.stamp = code_stamp()  # before the imports: a change made while they run is seen
        preload()
        # Out of the collector's sight: a child's collections would otherwise walk (and so copy) every page of the
        # imported modules.
        gc.collect()
        gc.freeze()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "restart_due", "SIGHUP"))
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, "accept")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        for r in self.runs.values():
            if r.conn is not None:
                self.sel.register(r.conn, selectors.EVENT_READ, r)
        print(f"warm: pid {self.pid} serving {self.path} ({len(self.runs)} runs handed over)", flush=True)
        next_check = time.monotonic() + CHECK_SECONDS
        while not self.stopping:
            for key, _ in self.sel.select(timeout=CHECK_SECONDS):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 512)
                else:
                    self._client_event(key.data)
            self._reap()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CHECK_SECONDS
                if code_stamp() != self.stamp:
                    self.restart_due = "code changed"
            if self.restart_due and not self.stopping:
                self._restart()
        self._close()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _refusal(self, request: dict[str, Any], fds: list[int]) -> str:
        import threading

        if request.get("stamp") != self.stamp:
            self.restart_due = "code changed"
            return "code installé modifié depuis son démarrage (il redémarre)"
        if self.stopping or self.restart_due:
            return "redémarrage en cours"
        if len(fds) != 3:
            return "descripteurs d'entrée et de sortie manquants"
        if threading.active_count() != 1:  # forking a threaded process can deadlock its child
            return f"{threading.active_count()} threads dans le processus chaud"
        return ""

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        accepted_at = time.time()
        conn.setblocking(True)
        reader = _Lines(conn)
        try:
            _send(conn, {"ready": True})
            request = reader.read(timeout=5)
            if request is None:
                raise ConnectionError("client gone")
            refusal = self._refusal(request, reader.fds)
            if refusal:
                _send(conn, {"refuse": refusal})
                raise ConnectionError(refusal)
        except (OSError, ValueError) as exc:
            print(f"warm: run not taken: {exc}", flush=True)
            for fd in reader.fds:
                os.close(fd)
            conn.close()
            return
        conn.settimeout(None)
        sys.stdout.flush()
        sys.stderr.flush()
        forked_at = time.time()
        pid = os.fork()
        if pid == 0:
            raise _Forked(conn, reader.fds, request)
        # One line per run, with wall-clock times (bench/bench_resume.py reads them for its breakdown of a resume).
        flow_run_id = request["env"].get("PREFECT__FLOW_RUN_ID", "?")
        client = float(request.get("started") or 0)
        times = f"at {forked_at:.3f} (client {client:.3f}, accepted {accepted_at:.3f})"
        print(f"warm: forked {pid} for flow run {flow_run_id} {times}", flush=True)
        for fd in reader.fds:
            os.close(fd)
        self.started += 1
        if self.started >= self.max_runs:
            self.restart_due = f"{self.started} runs"
        run = _Run(pid, conn)
        self.runs[pid] = run
        self.sel.register(conn, selectors.EVENT_READ, run)
        with contextlib.suppress(OSError):
            _send(conn, {"pid": pid})

    def _client_event(self, run: _Run) -> None:
        assert run.conn is not None
        try:
            data = run.conn.recv(4096)
        except OSError:
            data = b""
        if data:
            run.signaled = run.signaled or b'"sig"' in data
            return
        # The client is gone. After a forwarded cancel, the worker SIGKILLed it: finish the job on the child.
        if run.signaled:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(run.pid, signal.SIGKILL)
        self._drop(run)

    def _drop(self, run: _Run) -> None:
        if run.conn is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(run.conn)
            run.conn.close()
            run.conn = None

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self.runs.pop(pid, None)
            if run is not None and run.conn is not None:
                with contextlib.suppress(OSError):
                    _send(run.conn, {"exit": os.waitstatus_to_exitcode(status)})
                self._drop(run)

    def _restart(self) -> NoReturn:
        """Replace this process by a fresh one (exec: same pid, so its children stay its own)."""
        assert self.listener is not None
        print(f"warm: restarting ({self.restart_due})", flush=True)
        runs = [
            {"pid": r.pid, "fd": r.conn.fileno() if r.conn else -1, "signaled": r.signaled} for r in self.runs.values()
        ]
        for r in self.runs.values():
            if r.conn is not None:
                os.set_inheritable(r.conn.fileno(), True)
        os.set_inheritable(self.listener.fileno(), True)
        os.set_inheritable(self.lock_fd, True)
        signal.set_wakeup_fd(-1)
        sys.stdout.flush()
        sys.stderr.flush()
        args = ["serve", "--socket", self.path, "--max-runs", str(self.max_runs)]
        args += ["--listen-fd", str(self.listener.fileno()), "--lock-fd", str(self.lock_fd), "--runs", json.dumps(runs)]
        os.execv(sys.executable, [sys.executable, "-m", MODULE, *args])

    def _close(self) -> None:
        """Stop listening (the runs in flight go on; each tells its client its exit code itself)."""
        if Path(f"{self.path}.pid").exists() and Path(f"{self.path}.pid").read_text() == str(self.pid):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.unlink(f"{self.path}.pid")
        if self.listener is not None:
            self.listener.close()
        print(f"warm: pid {self.pid} stopped", flush=True)

    # the child

    def close_in_child(self, keep: socket.socket) -> None:
        """In a forked child: let go of everything that belongs to the warm process."""
        self.sel.close()
        if self.listener is not None:
            self.listener.close()
        for r in self.runs.values():
            if r.conn is not None and r.conn is not keep:
                r.conn.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        os.close(self.lock_fd)  # else a child outliving this process would keep its successor from starting


def _child(forked: _Forked) -> int:
    """Run the flow run in the forked child as `python -m prefect.engine` would; its exit code."""
    import runpy
    import traceback
    import warnings

    os.setsid()
    signal.set_wakeup_fd(-1)
    for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(forked.fds):
        os.dup2(fd, target)
        os.close(fd)
    request = forked.request
    os.environ.clear()
    os.environ.update(request["env"])
    with contextlib.suppress(OSError):
        os.chdir(request["cwd"])
    sys.argv = ["-m", *request["argv"]]
    # Built from the environment at import time, in the warm process: built again from the worker's.
    from prefect.context import refresh_global_settings_context
    from prefect.logging.configuration import setup_logging

    refresh_global_settings_context()
    logging_env = {k: v for k, v in os.environ.items() if k.startswith("PREFECT_LOGGING_")}
    if logging_env != forked.logging_env:  # configured at import from the warm process's environment
        setup_logging()
    from models.settings import get_settings

    get_settings.cache_clear()
    code: int = 0
    warnings.filterwarnings("ignore", message="'prefect.engine' found in sys.modules", category=RuntimeWarning)
    profile = os.environ.get(PROFILE_ENV)  # a folder: the run's profile goes there (bench/README.md)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    if profiler is not None and profile:
        profiler.disable()
        with contextlib.suppress(OSError):
            name = f"{os.environ.get('PREFECT__FLOW_RUN_ID', 'run')}-{os.getpid()}.prof"
            profiler.dump_stats(os.path.join(profile, name))
    with contextlib.suppress(OSError):
        _send(forked.conn, {"done": code})
    return code


def serve(argv: list[str]) -> int:
    """`serve`: the warm process."""
    parser = Parser(prog="passerelles warm serve", description="Processus chaud des runs.")
    parser.add_argument("--socket", default=os.environ.get(SOCKET_ENV) or default_socket())
    parser.add_argument("--max-runs", type=int, default=None, help="runs avant de se remplacer")
    parser.add_argument("--listen-fd", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--lock-fd", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--runs", default="[]", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    max_runs = args.max_runs
    if max_runs is None:
        from models.settings import get_settings

        max_runs = get_settings().warm_max_runs
        get_settings.cache_clear()
    server = Server(args.socket, max_runs)
    if args.listen_fd >= 0:
        server.inherit(args.listen_fd, args.lock_fd, json.loads(args.runs))
    elif not server.bind():
        print(f"warm: {args.socket} already served", flush=True)
        return 0
    forked: _Forked | None = None
    try:
        server.serve()
    except _Forked as exc:
        forked = exc
    if forked is None:
        return 0
    # Out of the except block: the run's own errors must not carry the fork as their context in the logs.
    server.close_in_child(forked.conn)
    return _exit_as_interpreter(_child(forked))


def _exit_as_interpreter(code: int) -> NoReturn:
    """What the interpreter does at exit that a run needs (wait for its threads, atexit: Prefect drains its logs and
    events there, flush), without tearing down every module inherited from the warm process (~0.1 s of CPU)."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: list[str]) -> int:
    """`passerelles warm serve|run`."""
    if argv[:1] == ["serve"]:
        return serve(argv[1:])
    if argv[:1] == ["run"]:
        return run(argv[1:])
    print("usage: passerelles warm serve|run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
