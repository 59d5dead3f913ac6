"""Shared fixtures: every database test runs on SQLite and on a PostgreSQL database the suite creates.

PostgreSQL comes from PASSERELLES_TEST_PG_ADMIN_URL (default: the local server, user postgres). With CI=true an
unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

import models
from models.db import make_engine, session_factory, upgrade

# Tests talk to the servers their fixtures start; never to a throw-away server Prefect would start by itself
# (its default profile allows it), which could outlive the session.
os.environ["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"
# The portal's links are signed with this key in tests (else one would be generated under var/).
os.environ.setdefault("PASSERELLES_SECRET_KEY", "cle-de-test-des-liens-signes")
# A test without the mail_server fixture must not mail a stack running here (its SMTP server listens on 8025):
# port 1 refuses, the mails stay in the outbox.
os.environ["PASSERELLES_SMTP_PORT"] = "1"

PG_ADMIN_URL = os.environ.get("PASSERELLES_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin() -> Engine | None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return engine
    except Exception as exc:
        if IN_CI:
            raise RuntimeError(f"PostgreSQL unreachable at {PG_ADMIN_URL} while CI=true: {exc}") from exc
        return None


def create_pg_database(prefix: str = "passerelles_test") -> str | None:
    """Create an empty PostgreSQL database and return its URL (None when PostgreSQL is not there)."""
    admin = _pg_admin()
    if admin is None:
        return None
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database."""
    admin = _pg_admin()
    assert admin is not None
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty application database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "app.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    created = create_pg_database()
    if created is None:
        pytest.skip("PostgreSQL unreachable (set CI=true to make this a failure)")
    url = created
    upgrade(url)
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    """The engine of the test database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def wipe(engine: Engine) -> None:
    """Delete every row of every table, children first."""
    tables = list(reversed(models.Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The test database engine, emptied after the test."""
    yield engine
    wipe(engine)


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    """A session on the emptied-after test database; the test commits what it wants to be seen."""
    with session_factory(db)() as s:
        yield s


@pytest.fixture
def app_db(db_url: str, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Point the application settings (and so every task) at the test database."""
    from models.db import get_engine
    from models.settings import get_settings

    monkeypatch.setenv("PASSERELLES_DATABASE_URL", db_url)
    # Tests share one Prefect server: keep mission runs of different test databases apart.
    monkeypatch.setenv("PASSERELLES_INSTANCE", f"test-{uuid.uuid4().hex[:8]}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield db
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real Prefect server (subprocess, SQLite) for the whole session; clients in this process use it."""
    from prefect.settings import temporary_settings
    from prefect.settings.models.root import Settings as _  # noqa: F401 - loads the settings models

    from deployments.local import PrefectServer

    server = PrefectServer(home=tmp_path_factory.mktemp("prefect"), ui=True)
    server.start()
    # Run logs would outlive the server at the end of the session ("Error logging to API"): keep them local.
    env = {**server.env(), "PREFECT_LOGGING_TO_API_ENABLED": "false"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import prefect.settings as ps

    with temporary_settings(
        updates={
            ps.PREFECT_API_URL: server.api_url,
            ps.PREFECT_HOME: str(server.home),
            ps.PREFECT_LOCAL_STORAGE_PATH: str(server.home / "storage"),
            ps.PREFECT_LOGGING_TO_API_ENABLED: False,
        }
    ):
        yield server
        # Deliver what Prefect still holds (events, logs) while the server is up: drained later, at exit, they
        # would find no API URL and start a throw-away server of their own.
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        EventsWorker.drain_all(timeout=10)
        APILogWorker.drain_all(timeout=10)
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def mail_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real SMTP server on localhost that keeps what it receives; the settings point at it."""
    from deployments.local import MailServer
    from models.settings import get_settings

    server = MailServer().start()
    monkeypatch.setenv("PASSERELLES_SMTP_PORT", str(server.port))
    monkeypatch.setenv("PASSERELLES_SMTP_HOST", "127.0.0.1")
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


@pytest.fixture
def lifecycle(prefect_server, app_db, mail_server):
    """The lifecycle deployment registered, a small branch seeded; returns the SMTP server."""
    from tests import lifecycle_driver

    lifecycle_driver.deploy()
    lifecycle_driver.seed_small()
    return mail_server


@pytest.fixture
def pg_prefect_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A Prefect server of this test alone, on a PostgreSQL database (workers run every run of the pool)."""
    import prefect.settings as ps
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import temporary_settings

    from deployments.local import PrefectServer

    url = create_pg_database("prefect_test")
    if url is None:
        pytest.skip("PostgreSQL unreachable (set CI=true to make this a failure)")
    server = PrefectServer(home=tmp_path / "prefect", ui=False, database_url=url.replace("+psycopg", "+asyncpg"))
    server.start()
    for k, v in {**server.env(), "PREFECT_LOGGING_TO_API_ENABLED": "false"}.items():
        monkeypatch.setenv(k, v)
    with temporary_settings(updates={ps.PREFECT_API_URL: server.api_url, ps.PREFECT_HOME: str(server.home)}):
        yield server
        EventsWorker.drain_all(timeout=10)
        APILogWorker.drain_all(timeout=10)
    server.stop()
    drop_pg_database(url)


@pytest.fixture
def pg_app_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The production kind of application database, PostgreSQL, alone: for the tests of workers and kills, whose
    subject is Prefect's side (the application's dialects are covered by every other lifecycle test)."""
    from models.db import get_engine
    from models.settings import get_settings

    url = create_pg_database("passerelles_workers")
    if url is None:
        pytest.skip("PostgreSQL unreachable (set CI=true to make this a failure)")
    upgrade(url)
    monkeypatch.setenv("PASSERELLES_DATABASE_URL", url)
    monkeypatch.setenv("PASSERELLES_INSTANCE", f"workers-{uuid.uuid4().hex[:8]}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()
    drop_pg_database(url)


# xdist hands tests out in collection order: the long ones (minutes spent waiting for crash detection, a stack
# restart, a browser) go first, so that the short ones fill the other workers around them instead of one long test
# collected last ending the suite alone. A stable sort: the rest keeps pytest's order (grouped by database).
LONG_FIRST = (
    "tests/test_chaos.py",
    "tests/test_workers.py",
    "tests/test_warm.py",
    "tests/test_gateway.py",
    "tests/test_lifecycle_paths.py",
    "tests/test_parties.py",
    "tests/test_legacy_replay.py",
    "tests/test_prefills.py",
    "tests/test_demo.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
