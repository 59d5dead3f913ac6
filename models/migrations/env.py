"""Alembic environment: migrates the database named in the Alembic config (see models.db.alembic_config)."""

from __future__ import annotations

from alembic import context

import models
from models.db import make_engine

config = context.config
target_metadata = models.Base.metadata


def run_migrations() -> None:
    """Run the migrations online, in one transaction; SQLite gets batch mode for ALTERs."""
    url = config.get_main_option("sqlalchemy.url")
    assert url
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(url)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
