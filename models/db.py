"""Engine, sessions and migrations of the application database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from models.settings import EMBEDDED, get_settings

if TYPE_CHECKING:  # Alembic is imported where migrations run, not by every flow-run process (~0.25 s)
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class EmbeddedDatabaseDown(RuntimeError):
    """The embedded PostgreSQL is named by the settings but not running."""


def embedded_url(database: str, *, driver: str = "psycopg", pgdata: Path | None = None) -> str:
    """The URL of a database of the embedded PostgreSQL, read from its `postmaster.pid` (socket dir and port)."""
    pgdata = pgdata or get_settings().pgdata
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError as exc:
        raise EmbeddedDatabaseDown(
            f"La base PostgreSQL embarquée ({pgdata}) n'est pas démarrée : lancez « make run » (ou "
            "« passerelles stack »), ou donnez PASSERELLES_DATABASE_URL."
        ) from exc
    port, socket_dir = lines[3].strip(), lines[4].strip()
    return f"postgresql+{driver}://postgres@/{database}?host={socket_dir}&port={port}"


def resolve_url(url: str) -> str:
    """`embedded` becomes the embedded PostgreSQL's application database; other URLs are kept as they are."""
    return embedded_url("passerelles") if url == EMBEDDED else url


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, a busy timeout and WAL so several processes share it."""
    url = resolve_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for the configured (or given) database."""
    return make_engine(url or get_settings().database_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """A session maker bound to `engine` (default: the configured database)."""
    return sessionmaker(engine or get_engine(), expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction commits when the block ends normally and rolls back otherwise."""
    with session_factory(engine)() as session, session.begin():
        yield session


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for our migrations, pointed at `url` (default: the configured database)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", resolve_url(url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)
