"""What the benchmarks share: a throw-away PostgreSQL database and the national branch list."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

PG_ADMIN_URL = os.environ.get("PASSERELLES_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BRANCHES = [
    ("STR", "Strasbourg", "Grand Est"),
    ("MUL", "Mulhouse", "Grand Est"),
    ("MET", "Metz", "Grand Est"),
    ("NAN", "Nancy", "Grand Est"),
    ("PAR", "Paris", "Île-de-France"),
    ("LYO", "Lyon", "Auvergne-Rhône-Alpes"),
    ("GRE", "Grenoble", "Auvergne-Rhône-Alpes"),
    ("LIL", "Lille", "Hauts-de-France"),
    ("BOR", "Bordeaux", "Nouvelle-Aquitaine"),
    ("TLS", "Toulouse", "Occitanie"),
    ("MTP", "Montpellier", "Occitanie"),
    ("MAR", "Marseille", "Provence-Alpes-Côte d'Azur"),
    ("NIC", "Nice", "Provence-Alpes-Côte d'Azur"),
    ("NTE", "Nantes", "Pays de la Loire"),
    ("REN", "Rennes", "Bretagne"),
    ("BRE", "Brest", "Bretagne"),
    ("DIJ", "Dijon", "Bourgogne-Franche-Comté"),
    ("ROU", "Rouen", "Normandie"),
    ("TOU", "Tours", "Centre-Val de Loire"),
    ("CLE", "Clermont-Ferrand", "Auvergne-Rhône-Alpes"),
]


def fill(engine: Engine, statements: list[str], params: dict[str, int]) -> None:
    """Reference data and the national branches, then the data set's `INSERT ... SELECT` statements (no row goes
    through Python), `:name` replaced by `params`; then VACUUM ANALYZE."""
    from models.db import session_factory
    from models.reference_data import ensure_reference_data

    with session_factory(engine)() as session, session.begin():
        ensure_reference_data(session)
        session.execute(
            text("INSERT INTO branch (code, name, region, created_at) VALUES (:c, :n, :r, now())"),
            [{"c": c, "n": name, "r": r} for c, name, r in BRANCHES],
        )
    with engine.begin() as conn:
        for statement in statements:
            # Inlined literals (our own ints): bound small ints arrive as smallint and make generate_series ambiguous.
            sql = statement
            for k, v in sorted(params.items(), key=lambda kv: -len(kv[0])):
                sql = sql.replace(f":{k}", str(int(v)))
            conn.execute(text(sql))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


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


def machine_seconds(roots: set[int], exclude: int | None = None) -> float:
    """CPU seconds (user + system) spent so far by the processes under `roots` (and their children, reaped
    ones included): the workers, their flow runs, the warm processes, the Prefect server, PostgreSQL. Deltas of it
    measure a phase's machine time whatever else loads the machine. `exclude` (the bench itself) is left out, its
    children are not."""
    from pathlib import Path

    stats: dict[int, tuple[int, int]] = {}  # pid -> (ppid, ticks)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ..., utime (14th field of the line), stime, cutime, cstime.
        stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    total = 0
    for pid, (_ppid, ticks) in stats.items():
        seen, p = {pid}, pid
        while p not in roots and p in stats and stats[p][0] not in seen:
            p = stats[p][0]
            seen.add(p)
        if p in roots and pid != exclude:
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")
