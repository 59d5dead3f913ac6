"""Alembic: upgrade, downgrade, upgrade again, and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import models
from models.db import downgrade, make_engine, upgrade
from tests.conftest import create_pg_database, drop_pg_database


def _roundtrip(url: str) -> None:
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(ctx, models.Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(models.Base.metadata.tables) <= set(inspect(make_engine(url)).get_table_names())


def test_migrations_roundtrip_sqlite(tmp_path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}")


def test_migrations_roundtrip_postgresql() -> None:
    url = create_pg_database("passerelles_migr")
    if url is None:
        import pytest

        pytest.skip("PostgreSQL unreachable")
    try:
        _roundtrip(url)
    finally:
        drop_pg_database(url)
