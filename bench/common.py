"""What the benchmarks share: a throw-away PostgreSQL database and the national branch list."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("PASSERELLES_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BRANCHES = [
    ("STR", "Strasbourg", "Grand Est"), ("MUL", "Mulhouse", "Grand Est"), ("MET", "Metz", "Grand Est"),
    ("NAN", "Nancy", "Grand Est"), ("PAR", "Paris", "Île-de-France"), ("LYO", "Lyon", "Auvergne-Rhône-Alpes"),
    ("GRE", "Grenoble", "Auvergne-Rhône-Alpes"), ("LIL", "Lille", "Hauts-de-France"),
    ("BOR", "Bordeaux", "Nouvelle-Aquitaine"), ("TLS", "Toulouse", "Occitanie"), ("MTP", "Montpellier", "Occitanie"),
    ("MAR", "Marseille", "Provence-Alpes-Côte d'Azur"), ("NIC", "Nice", "Provence-Alpes-Côte d'Azur"),
    ("NTE", "Nantes", "Pays de la Loire"), ("REN", "Rennes", "Bretagne"), ("BRE", "Brest", "Bretagne"),
    ("DIJ", "Dijon", "Bourgogne-Franche-Comté"), ("ROU", "Rouen", "Normandie"), ("TOU", "Tours", "Centre-Val de Loire"),
    ("CLE", "Clermont-Ferrand", "Auvergne-Rhône-Alpes"),
]  # fmt: skip


@contextmanager
def scratch_database(keep: bool = False) -> Iterator[str]:
    """A new, migrated PostgreSQL database (PASSERELLES_BENCH_PG_ADMIN_URL's server), dropped afterwards unless
    `keep`; yields its URL."""
    from models.db import upgrade

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"passerelles_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        if keep:
            print(f"kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
