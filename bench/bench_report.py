"""Benchmark: the report aggregated in SQL against a naive version that loads the rows and counts in Python.

Creates its own PostgreSQL database, generates a national data set (20 branches × 10 years, > 100k missions, with
applications, bilans and fees in proportion) in SQL, times both versions in the same run, checks they agree, and
drops the database.

    python bench/bench_report.py [--per-year 525] [--repeat 3] [--keep]

PostgreSQL comes from PASSERELLES_BENCH_PG_ADMIN_URL (default: the local server, user postgres, trust auth).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fill, scratch_database
from models import Application, ApplicationStatus, Association, Domain, FeeRecord, Mission, Review
from models.db import make_engine, session_factory
from models.mission_steps import CHANNEL_LABELS
from models.report_rules import (
    FUNNEL,
    ApplicationStats,
    ReportData,
    VolunteerStats,
    check_period,
    make_cancel_rows,
    make_domain_rows,
    make_fee_rows,
    make_funnel,
    make_satisfaction,
    make_status_rows,
    make_year_rows,
    median,
    normalise_codes,
    period_bounds,
    round2,
)
from tasks.reports import EVENT_COLUMNS, build_report, resolve_branches

FIRST_YEAR, YEARS = 2015, 10
GOAL_NATIONAL_S, GOAL_NATIONAL_RATIO, GOAL_BRANCH_RATIO = 1.0, 20.0, 10.0


# --- The naive version ----------------------------------------------------------------------------


def build_report_naive(session: Session, *, branch_codes: list[str] | None, start: date, end: date) -> ReportData:
    """The same report, computed by loading the ORM rows of the branches and counting in Python."""
    check_period(start, end)
    branches, ids = resolve_branches(session, branch_codes)
    national = not normalise_codes(branch_codes)
    lo, hi = period_bounds(start, end)

    def within(t: object) -> bool:
        return t is not None and lo <= t < hi  # type: ignore[operator]

    def of_branches(q, col=Mission.branch_id):  # type: ignore[no-untyped-def]
        return q if national else q.where(col.in_(ids))

    domain_names = {d.id: d.name for d in session.scalars(select(Domain))}
    missions = {m.id: m for m in session.scalars(of_branches(select(Mission)))}
    domains: dict[str | None, Counter[str]] = defaultdict(Counter)
    yearly: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    statuses: Counter[str] = Counter()
    cancels: Counter[tuple[str, str | None]] = Counter()
    funnel_counts = [0] * len(FUNNEL)
    deltas: dict[str, list[float]] = defaultdict(list)
    for m in missions.values():
        for event, col in EVENT_COLUMNS.items():
            t = getattr(m, col)
            if within(t):
                domains[domain_names.get(m.domain_id)][event] += 1
                yearly[(ids[m.branch_id], t.year)][event] += 1
        if within(m.cancelled_at):
            cancels[(m.cancel_reason, m.cancelled_from.value if m.cancelled_from else None)] += 1
        if within(m.requested_at):
            statuses[m.status.value] += 1
            stamps = [getattr(m, c) for _, _, c in FUNNEL]
            for i, t in enumerate(stamps):
                funnel_counts[i] += t is not None
                if i and t is not None and stamps[i - 1] is not None:
                    deltas[FUNNEL[i][0]].append((t - stamps[i - 1]).total_seconds() / 86400)
            if stamps[-1] is not None:
                deltas["total"].append((stamps[-1] - stamps[0]).total_seconds() / 86400)

    applications = session.scalars(of_branches(select(Application).join(Mission))).all()
    published = {mid for mid, m in missions.items() if within(m.published_at)}
    per_announcement = Counter(dict.fromkeys(published, 0))
    per_announcement.update(a.mission_id for a in applications if a.mission_id in published)
    counts = list(per_announcement.values())
    channels = Counter(CHANNEL_LABELS[a.channel] for a in applications if a.mission_id in published)
    by_channel = tuple(sorted(channels.items(), key=lambda x: (-x[1], x[0])))
    selected = ApplicationStatus.SELECTED
    engaged = {
        a.volunteer_id for a in applications if a.status is selected and within(missions[a.mission_id].selected_at)
    }
    earlier = {
        vid
        for vid, at in session.execute(
            select(Application.volunteer_id, Mission.selected_at).join(Mission).where(Application.status == selected)
        )
        if at is not None and at < lo
    }
    reviews = [
        r
        for r in session.scalars(of_branches(select(Review).join(Mission)))
        if within(missions[r.mission_id].completed_at)
    ]
    fees: dict[tuple[str, str], tuple[int, int]] = {}
    for f in session.scalars(of_branches(select(FeeRecord).join(Association), Association.branch_id)):
        if start <= f.due_on <= end:
            n, total = fees.get((f.kind.value, f.state.value), (0, 0))
            fees[(f.kind.value, f.state.value)] = (n + 1, total + f.amount)

    cancel_reasons, cancelled_from = make_cancel_rows(cancels)
    return ReportData(
        branches=branches,
        national=national,
        start=start,
        end=end,
        domains=make_domain_rows(domains),
        statuses=make_status_rows(statuses),
        cancel_reasons=cancel_reasons,
        cancelled_from=cancelled_from,
        funnel=make_funnel(funnel_counts, {k: median(v) for k, v in deltas.items()}),
        median_total_days=round2(median(deltas["total"])),
        applications=ApplicationStats(len(counts), sum(counts), counts.count(0), round2(median(counts)), by_channel),
        volunteers=VolunteerStats(
            len({a.volunteer_id for a in applications if within(a.applied_at)}), len(engaged), len(engaged - earlier)
        ),
        satisfaction=make_satisfaction(
            len(reviews),
            association_rating=statistics.fmean(r.association_rating for r in reviews) if reviews else None,
            volunteer_rating=statistics.fmean(r.volunteer_rating for r in reviews) if reviews else None,
            objectives=Counter(r.objectives_met.value for r in reviews),
            association_would_redo=sum(r.association_would_redo for r in reviews),
            volunteer_would_redo=sum(r.volunteer_would_redo for r in reviews),
        ),
        fees=make_fee_rows(fees),
        yearly=make_year_rows(yearly, branches),
    )


# --- The national data set, generated in SQL ------------------------------------------------------

REASONS = [
    "L'association a trouvé une solution en interne",
    "Besoin reporté faute de disponibilité de l'association",
    "Aucun bénévole disponible dans le domaine",
    "Valeurs ou fonctionnement de l'association non acceptés",
    "Projet abandonné par l'association",
]

# Every statement is INSERT ... SELECT over generate_series: the rows never travel through Python.
# Missions: depth 0..6 = requested .. completed; stamps accumulate random delays; a mission that stops short of
# completion is cancelled, except part of the last year's, still open.
GENERATE = [
    "SELECT setseed(0.42)",
    """INSERT INTO coordinator (branch_id, first_name, last_name, email, role, active, created_at)
       SELECT b.id, 'Passerelle', b.code || '-' || i, lower(b.code) || '-' || i || '@bench.example', 'passerelle',
              true, now()
       FROM branch b, generate_series(1, 10) i""",
    """INSERT INTO association (branch_id, name, city, purpose, contact_name, contact_email, contact_phone,
                               annual_budget, created_at, name_key)
       SELECT b.id, 'Association ' || b.code || '-' || i, b.name, '', 'Contact', 'asso' || i || '@bench.example', '',
              (ARRAY[8000, 45000, 250000, 900000, 3000000])[1 + floor(random() * 5)::int], now(),
              lower('association ' || b.code || '-' || i)
       FROM branch b, generate_series(1, :assos) i""",
    """INSERT INTO volunteer (branch_id, first_name, last_name, email, phone, city, profession, consent_announcements,
                             consent_national, is_relay, availability, created_at)
       SELECT b.id, 'Bénévole', b.code || '-' || i, lower(b.code) || '-' || i || '@vol.bench.example', '', b.name,
              '', true, random() < 0.3, random() < 0.1, 'available', now()
       FROM branch b, generate_series(1, :vols) i""",
    """CREATE TEMP TABLE branch_base AS
       SELECT b.id, b.code, (SELECT min(id) FROM association a WHERE a.branch_id = b.id) AS asso0,
              (SELECT min(id) FROM coordinator c WHERE c.branch_id = b.id) AS coord0,
              (SELECT min(id) FROM volunteer v WHERE v.branch_id = b.id) AS vol0
       FROM branch b""",
    """INSERT INTO mission (reference, branch_id, year, seq, association_id, coordinator_id, status, title, request,
                           need, deliverables, domain_id, scope, volunteers_needed, effort, requested_at,
                           analysed_at, approved_at, published_at, selected_at, started_at, completed_at,
                           cancelled_at, cancel_reason, cancelled_from, version)
       WITH base AS (
         -- A CTE with volatile functions is materialised: each random draw is made once per row.
         SELECT bb.*, y, s, random() AS r,
                make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC') + random() * interval '364 days' AS t0,
                random() AS open_draw, random() AS reason_draw,
                random() * interval '10 days' + interval '2 days' AS d1, random() * interval '12 days' AS d2,
                interval '2 hours' AS d3, random() * interval '25 days' + interval '5 days' AS d4,
                random() * interval '20 days' + interval '3 days' AS d5,
                random() * interval '120 days' + interval '30 days' AS d6, random() * interval '20 days' AS dc
         FROM branch_base bb, generate_series(:y0, :y1) y, generate_series(1, :per_year) s
       ), deep AS (
         SELECT *, CASE WHEN r < 0.05 THEN 0 WHEN r < 0.09 THEN 1 WHEN r < 0.11 THEN 2 WHEN r < 0.20 THEN 3
                        WHEN r < 0.24 THEN 4 WHEN r < 0.30 THEN 5 ELSE 6 END AS depth
         FROM base
       ), stamped AS (
         SELECT *, (depth < 6 AND NOT (y = :y1 AND open_draw < 0.6)) AS cancelled,
                t0 + d1 AS t1, t0 + d1 + d2 AS t2, t0 + d1 + d2 + d3 AS t3, t0 + d1 + d2 + d3 + d4 AS t4,
                t0 + d1 + d2 + d3 + d4 + d5 AS t5, t0 + d1 + d2 + d3 + d4 + d5 + d6 AS t6
         FROM deep
       )
       SELECT code || '-' || y || '-' || lpad(s::text, 3, '0'), id, y, s, asso0 + floor(random() * :assos)::int,
              coord0 + floor(random() * 10)::int,
              CASE WHEN cancelled THEN 'cancelled'
                   ELSE (ARRAY['requested', 'analysed', 'approved', 'published', 'selected', 'in_progress',
                               'completed'])[depth + 1] END,
              'Mission ' || s, '', '', '',
              CASE WHEN depth >= 1 THEN (SELECT min(id) FROM domain) + floor(random() * 10)::int END,
              'regional', 1, '', t0,
              CASE WHEN depth >= 1 THEN t1 END, CASE WHEN depth >= 2 THEN t2 END, CASE WHEN depth >= 3 THEN t3 END,
              CASE WHEN depth >= 4 THEN t4 END, CASE WHEN depth >= 5 THEN t5 END, CASE WHEN depth >= 6 THEN t6 END,
              CASE WHEN cancelled THEN (ARRAY[t0, t1, t2, t3, t4, t5])[depth + 1] + dc END,
              CASE WHEN cancelled THEN (ARRAY[:reasons])[1 + floor(reason_draw * 5)::int] ELSE '' END,
              CASE WHEN cancelled THEN (ARRAY['requested', 'analysed', 'approved', 'published', 'selected',
                                               'in_progress'])[depth + 1] END,
              1
       FROM stamped""",
    # 0 to 6 applications per published annonce, from distinct volunteers of the branch; the first is selected
    # when the mission reached selection.
    """INSERT INTO application (mission_id, volunteer_id, status, channel, message, score, score_detail,
                               wants_other_mission, applied_at, decided_at)
       SELECT m.id, bb.vol0 + ((m.seq * 7919 + m.year * 31 + i * 37) % :vols),
              CASE WHEN i = 1 AND m.selected_at IS NOT NULL THEN 'selected'
                   WHEN m.selected_at IS NOT NULL THEN 'not_selected' ELSE 'received' END,
              'email', '', NULL, '{}', false, m.published_at + i * interval '13 hours', m.selected_at
       FROM mission m JOIN branch_base bb ON bb.id = m.branch_id,
            -- The reference to m makes the draw per mission instead of once for the whole statement.
            LATERAL generate_series(1, floor(random() * 7)::int + 0 * m.id) i
       WHERE m.published_at IS NOT NULL""",
    """INSERT INTO review (mission_id, held_on, association_rating, volunteer_rating, objectives_met, testimony,
                          association_would_redo, volunteer_would_redo, created_at)
       SELECT id, completed_at::date, 3 + floor(random() * 2.6)::int, 2 + floor(random() * 3.9)::int,
              (ARRAY['yes', 'yes', 'yes', 'partly', 'no'])[1 + floor(random() * 5)::int], '', random() < 0.85,
              random() < 0.8, completed_at
       FROM mission WHERE completed_at IS NOT NULL""",
    """INSERT INTO fee_record (key, association_id, mission_id, kind, year, amount, status, due_on, paid_on, note)
       SELECT 'search:' || id, association_id, id, 'search', year, (ARRAY[50, 150, 300, 600, 900])[1 + id % 5],
              CASE WHEN r < 0.8 THEN 'paid' WHEN r < 0.88 THEN 'waived' ELSE 'due' END,
              requested_at::date + 30, NULL, ''
       FROM (SELECT *, random() AS r FROM mission OFFSET 0) m""",
    """INSERT INTO fee_record (key, association_id, mission_id, kind, year, amount, status, due_on, paid_on, note)
       SELECT 'membership:' || a.id || ':' || y, a.id, NULL, 'membership', y, 60,
              CASE WHEN r < 0.85 THEN 'paid' WHEN r < 0.9 THEN 'waived' ELSE 'due' END, make_date(y, 3, 31), NULL, ''
       FROM (SELECT a.id, y, random() AS r FROM association a, generate_series(:y0, :y1) y OFFSET 0) a""",
]


def generate(engine: Engine, per_year: int, assos: int = 200, vols: int = 1000) -> dict[str, int]:
    """Fill a migrated database with the national data set; return the row counts."""
    params = {"y0": FIRST_YEAR, "y1": FIRST_YEAR + YEARS - 1, "per_year": per_year, "assos": assos, "vols": vols}
    reasons = ", ".join("'" + r.replace("'", "''") + "'" for r in REASONS)
    fill(engine, [statement.replace(":reasons", reasons) for statement in GENERATE], params)
    with engine.connect() as conn:
        return {
            t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("branch", "mission", "application", "review", "fee_record", "volunteer", "association")
        }


# --- Timing ---------------------------------------------------------------------------------------


def measure(
    engine: Engine, builder: Callable[..., ReportData], codes: list[str] | None, start: date, end: date, repeat: int
) -> tuple[float, ReportData]:
    """Median wall time (seconds) of `builder` over `repeat` runs, and its result."""
    times, result = [], None
    for _ in range(repeat):
        # A fresh session per run: a warm identity map would flatter the naive version's later runs.
        with session_factory(engine)() as session:
            t = time.perf_counter()
            result = builder(session, branch_codes=codes, start=start, end=end)
            times.append(time.perf_counter() - t)
    assert result is not None
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    """Create the database, generate, time SQL vs naive, print, drop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-year", type=int, default=525, help="missions per branch and year (default 525)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; the median is printed")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args(argv)

    with scratch_database(args.keep) as url:
        engine = make_engine(url)
        try:
            return compare(engine, args.per_year, args.repeat)
        finally:
            engine.dispose()


def explain(engine: Engine, codes: list[str] | None, start: date, end: date, top: int = 3) -> None:
    """The plans of the report's slowest statements (EXPLAIN ANALYZE, scan lines): which indexes serve it."""
    timed: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            timed.append((time.perf_counter() - conn.info["t0"], statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", before)
    sa_event.listen(engine, "after_cursor_execute", after)
    try:
        with session_factory(engine)() as session:
            build_report(session, branch_codes=codes, start=start, end=end)
    finally:
        sa_event.remove(engine, "before_cursor_execute", before)
        sa_event.remove(engine, "after_cursor_execute", after)
    with session_factory(engine)() as session, session.begin():
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
        for seconds, statement, parameters in sorted(timed, key=lambda t: -t[0])[:top]:
            plan = [r[0] for r in session.connection().exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters)]
            print(f"    EXPLAIN ({seconds * 1000:.0f} ms): {' '.join(statement.split())[:100]}...")
            for line in plan:
                if "Scan" in line or "Execution Time" in line:
                    print(f"      {line.strip()[:150]}")


def compare(engine: Engine, per_year: int, repeat: int) -> int:
    """Generate, then time both versions on each case; 1 if they disagree."""
    t = time.perf_counter()
    counts = generate(engine, per_year)
    print(
        f"Data set generated in {time.perf_counter() - t:.1f} s: "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
    )
    cases = [
        ("national, 20 branches x 10 years", None, date(FIRST_YEAR, 1, 1), date(FIRST_YEAR + YEARS - 1, 12, 31)),
        ("one branch (STR), one year", ["STR"], date(FIRST_YEAR + 5, 1, 1), date(FIRST_YEAR + 5, 12, 31)),
    ]
    print(
        f"\nGoal: national <= {GOAL_NATIONAL_S * 1000:.0f} ms and >= {GOAL_NATIONAL_RATIO:.0f}x the naive version; "
        f"one branch, one year >= {GOAL_BRANCH_RATIO:.0f}x."
    )
    print(f"{'case':<34} {'SQL':>9} {'naive':>9} {'ratio':>7}  (median of {repeat} runs)")
    for label, codes, start, end in cases:
        t_sql, sql = measure(engine, build_report, codes, start, end, repeat)
        t_naive, naive = measure(engine, build_report_naive, codes, start, end, repeat)
        agree = "agree" if sql == naive else "DISAGREE"
        met = (
            t_naive / t_sql >= GOAL_BRANCH_RATIO
            if codes
            else (t_sql <= GOAL_NATIONAL_S and t_naive / t_sql >= GOAL_NATIONAL_RATIO)
        )
        print(
            f"{label:<34} {t_sql * 1000:>7.0f}ms {t_naive * 1000:>7.0f}ms {t_naive / t_sql:>6.1f}x  "
            f"results {agree}; {sql.total('requested'):,} missions requested; goal {'met' if met else 'NOT met'}"
        )
        if sql != naive:
            return 1
        explain(engine, codes, start, end)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
