"""Benchmark: ranking a national audience for a mission, in PostgreSQL against the naive Python scoring.

Creates its own PostgreSQL database, generates volunteers in SQL (20 branches; each volunteer has a home domain,
1 to 4 competences in it and maybe one elsewhere, levels 1 to 3; consents, availability, priority flags and current
missions in proportion), then for national missions each needing 3 competences of one domain times
`tasks.matching.suggest` (ranked by PostgreSQL) against the naive version (every reachable volunteer with one of the
competences loaded and scored by `models.matching.rank` in Python), checks both give the same volunteers, scores and
order, and prints p50/p95 and the ratio, at 100k then 1M volunteers.

    python bench/bench_matching.py [--sizes 100000 1000000] [--repeat 20] [--keep]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fill, scratch_database
from models import Application, Mission, VolunteerCompetence
from models.db import make_engine, session_factory
from models.matching import Score, rank
from tasks.diffusion import may_receive
from tasks.matching import candidates, required_competences, suggest

GOAL_MS, GOAL_RATIO = 100, 20

GENERATE = [
    "SELECT setseed(0.17)",
    """INSERT INTO coordinator (branch_id, first_name, last_name, email, role, active, created_at)
       SELECT b.id, 'Passerelle', b.code, lower(b.code) || '@bench.example', 'passerelle', true, now() FROM branch b""",
    """INSERT INTO association (branch_id, name, city, purpose, contact_name, contact_email, contact_phone,
                               annual_budget, created_at, name_key)
       SELECT b.id, 'Association ' || b.code, b.name, '', 'Contact', lower(b.code) || '@asso.bench.example', '',
              45000, now(), lower('association ' || b.code) FROM branch b""",
    """CREATE TEMP TABLE dom AS
       SELECT row_number() OVER (ORDER BY d.id) AS k, d.id, array_agg(c.id ORDER BY c.id) AS comps,
              count(*)::int AS n
       FROM domain d JOIN competence c ON c.domain_id = d.id GROUP BY d.id""",
    """INSERT INTO volunteer (branch_id, first_name, last_name, email, phone, city, profession, consent_announcements,
                             consent_national, is_relay, availability, created_at, archived_at)
       SELECT (SELECT min(id) FROM branch) + i % 20, 'Bénévole', 'N' || i, 'v' || i || '@vol.bench.example', '', '',
              '', random() < 0.92, random() < 0.45, false,
              (ARRAY['available', 'available', 'available', 'limited', 'unavailable'])[1 + floor(random() * 5)::int],
              now(), CASE WHEN random() < 0.03 THEN now() END
       FROM generate_series(1, :n) i""",
    # A home domain per volunteer, 1 to 4 of its competences, and one competence anywhere for a third of them.
    """INSERT INTO volunteer_competence (volunteer_id, competence_id, level)
       WITH home AS MATERIALIZED (
         SELECT v.id AS v, 1 + floor(random() * (SELECT count(*) FROM dom))::int AS k,
                1 + floor(random() * 4)::int AS many
         FROM volunteer v
       )
       SELECT DISTINCT ON (v, c) v, c, 1 + floor(random() * 3)::int FROM (
         SELECT home.v, dom.comps[1 + floor(random() * dom.n)::int + 0 * g] AS c
         FROM home JOIN dom USING (k), LATERAL generate_series(1, home.many) g
         UNION ALL
         SELECT v.id, (SELECT min(id) FROM competence) + floor(random() * (SELECT count(*) FROM competence))::int
         FROM volunteer v WHERE random() < 0.33
       ) x""",
    """INSERT INTO priority_flag (volunteer_id, domain_id, since)
       SELECT v.id, (SELECT min(id) FROM domain) + floor(random() * (SELECT count(*) FROM domain))::int, now()
       FROM volunteer v WHERE random() < 0.02""",
    # Volunteers already on missions (the busy penalty): 3,000 missions in progress with two of them each.
    """INSERT INTO mission (reference, branch_id, year, seq, association_id, coordinator_id, status, title, request,
                           need, deliverables, domain_id, scope, volunteers_needed, effort, requested_at, version,
                           cancel_reason)
       SELECT b.code || '-2026-' || lpad(i::text, 4, '0'), b.id, 2026, i,
              (SELECT id FROM association a WHERE a.branch_id = b.id), (SELECT id FROM coordinator c
              WHERE c.branch_id = b.id), 'in_progress', 'En cours ' || i, '', '', '', (SELECT min(id) FROM domain),
              'regional', 2, '', now(), 1, ''
       FROM branch b, generate_series(1, 150) i""",
    """INSERT INTO application (mission_id, volunteer_id, status, channel, message, score_detail,
                               wants_other_mission, applied_at)
       SELECT DISTINCT ON (m.id, vid) m.id, vid, 'selected', 'email', '', '{}', false, now()
       FROM mission m, LATERAL (SELECT (SELECT min(id) FROM volunteer) + floor(random() * :n)::int + 0 * m.id + 0 * g
                                AS vid FROM generate_series(1, 2) g) x""",
    # The missions ranked: national, published, 3 competences of one domain at minimum levels 1 to 3, 20
    # applications each (excluded from suggestions).
    """INSERT INTO mission (reference, branch_id, year, seq, association_id, coordinator_id, status, title, request,
                           need, deliverables, domain_id, scope, volunteers_needed, effort, requested_at,
                           published_at, version, cancel_reason)
       SELECT 'NAT-2026-' || lpad(dom.k::text, 3, '0'), b.id, 2026, 1000 + dom.k, a.id, c.id, 'published',
              'Mission nationale ' || dom.k, '', '', '', dom.id, 'national', 1, '', now(), now(), 1, ''
       FROM dom, branch b JOIN association a ON a.branch_id = b.id JOIN coordinator c ON c.branch_id = b.id
       WHERE b.code = 'PAR' AND dom.n >= 3""",
    """INSERT INTO mission_competence (mission_id, competence_id, min_level)
       SELECT m.id, dom.comps[j], 1 + (m.id + j) % 3
       FROM mission m JOIN dom ON dom.id = m.domain_id, generate_series(1, 3) j WHERE m.scope = 'national'""",
    """INSERT INTO application (mission_id, volunteer_id, status, channel, message, score_detail,
                               wants_other_mission, applied_at)
       SELECT DISTINCT ON (m.id, vid) m.id, vid, 'received', 'email', '', '{}', false, now()
       FROM mission m, LATERAL (SELECT (SELECT min(id) FROM volunteer) + floor(random() * :n)::int + 0 * m.id + 0 * g
                                AS vid FROM generate_series(1, 20) g) x
       WHERE m.scope = 'national'""",
]


def generate(engine: Engine, n: int) -> dict[str, int]:
    """Fill a migrated database with `n` volunteers and the missions; return the row counts."""
    fill(engine, GENERATE, {"n": n})
    with engine.connect() as conn:
        return {
            t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("volunteer", "volunteer_competence", "priority_flag", "mission", "application")
        }


def suggest_naive(session: Session, mission: Mission, limit: int = 5) -> list[Score]:
    """Every reachable volunteer in scope with one of the competences, loaded and scored in Python."""
    required = required_competences(session, mission.id)
    applied = select(Application.volunteer_id).where(Application.mission_id == mission.id)
    ids = list(
        session.scalars(
            select(VolunteerCompetence.volunteer_id)
            .join(VolunteerCompetence.volunteer)
            .where(VolunteerCompetence.competence_id.in_(required), may_receive(mission))
            .where(VolunteerCompetence.volunteer_id.not_in(applied))
            .distinct()
        )
    )
    return rank(candidates(session, mission, ids), required)[:limit]


def timed(engine: Engine, fn, missions: list[int], repeat: int) -> tuple[list[float], dict[int, list[Score]]]:  # type: ignore[no-untyped-def]
    """Wall times (s) of `fn` over the missions, `repeat` rounds, and its last answer per mission."""
    times, answers = [], {}
    for _ in range(repeat):
        for mid in missions:
            with session_factory(engine)() as session:
                mission = session.get(Mission, mid)
                assert mission is not None
                t = time.perf_counter()
                answers[mid] = fn(session, mission)
                times.append(time.perf_counter() - t)
    return times, answers


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main(argv: list[str] | None = None) -> int:
    """For each size: a database, generate, time SQL against naive, compare, print, drop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5, help="rounds over the missions for the SQL ranking")
    parser.add_argument("--keep", action="store_true", help="keep the databases (their URLs are printed)")
    args = parser.parse_args(argv)
    print(f"Goal: p95 <= {GOAL_MS} ms at 1M volunteers and >= {GOAL_RATIO}x the naive Python scoring.")
    worst = 0
    for size in args.sizes:
        with scratch_database(args.keep) as url:
            engine = make_engine(url)
            try:
                t = time.perf_counter()
                counts = generate(engine, size)
                print(
                    f"\n{size:,} volunteers, generated in {time.perf_counter() - t:.0f} s: "
                    + ", ".join(f"{v:,} {k}" for k, v in counts.items())
                )
                with session_factory(engine)() as session:
                    missions = list(session.scalars(select(Mission.id).where(Mission.reference.like("NAT-%"))))
                timed(engine, suggest, missions, 1)  # warm the cache
                sql_t, sql_a = timed(engine, suggest, missions, args.repeat)
                naive_t, naive_a = timed(engine, suggest_naive, missions, 1)
                same = sql_a == naive_a
                ratio = statistics.median(naive_t) / statistics.median(sql_t)
                print(
                    f"  PostgreSQL ranking  n={len(sql_t):3d}  p50 {statistics.median(sql_t) * 1000:6.1f} ms  "
                    f"p95 {pct(sql_t, 0.95) * 1000:6.1f} ms"
                )
                print(
                    f"  naive Python        n={len(naive_t):3d}  p50 {statistics.median(naive_t) * 1000:6.1f} ms  "
                    f"p95 {pct(naive_t, 0.95) * 1000:6.1f} ms"
                )
                print(f"  ratio of medians {ratio:.1f}x; same volunteers, scores and order: {same}")
                if not same:
                    worst = 1
            finally:
                engine.dispose()
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
