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

PG_ADMIN_URL = os.environ.get(
    "PASSERELLES_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
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
    url = create_pg_database()
    if url is None:
        pytest.skip("PostgreSQL unreachable (set CI=true to make this a failure)")
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
