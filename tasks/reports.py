"""The regional / national report: aggregation in SQL, artifacts and the Prefect tasks.

Every figure is computed by the database (GROUP BY, conditional counts, medians): a national report over ten
years reads a few hundred aggregated rows, never the missions themselves. The same queries run on SQLite and
PostgreSQL; only the day difference and the median are compiled per dialect. The renderings and files are in
tasks/report_rendering.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from queue import Queue
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from sqlalchemy import (
    Connection,
    Engine,
    Float,
    String,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from models import (
    Application,
    ApplicationStatus,
    Association,
    Branch,
    Domain,
    FeeKind,
    FeeRecord,
    FeeStatus,
    Mission,
    Review,
)
from models import report_rules as rules
from models.association import fee_state
from models.db import unit_of_work
from models.files import FileKind
from models.mission_steps import CHANNEL_LABELS
from models.report_rules import EVENTS, ReportData
from models.report_tables import report_tables
from tasks import files
from tasks.rendering import date_fr
from tasks.report_rendering import render_markdown, report_files
from tasks.runs import started_by

EVENT_COLUMNS = dict(zip(EVENTS, ("requested_at", "started_at", "completed_at", "cancelled_at"), strict=True))


# --- SQL building blocks --------------------------------------------------------------------------


class days_between(FunctionElement[float]):
    """`later - earlier` in days (fractional), as a float, on SQLite and PostgreSQL."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # date_part gives a double at once; EXTRACT gives a numeric (PostgreSQL 14+), 1.6x slower over 100k missions.
    return f"(date_part('epoch', {later} - {earlier}) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # COUNT(CASE ...) rather than FILTER: identical on every SQL database and 0 (not NULL) on no rows.
    return func.count(case((condition, 1)))


def _year_of(col: Any, start: date, end: date) -> ColumnElement[int]:
    """The UTC calendar year of `col` as a CASE over the period's year boundaries.

    EXTRACT(YEAR) on PostgreSQL would follow the session's time zone while the period bounds are UTC; comparing
    with UTC boundaries keeps the yearly rows consistent with the period on every database and server setting.
    """
    whens = [(col < datetime(y + 1, 1, 1, tzinfo=UTC), y) for y in range(start.year, end.year)]
    return case(*whens, else_=end.year) if whens else literal(end.year)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _medians(session: Session, rows: Any) -> dict[str, float]:
    """Median of `rows.c.v` per `rows.c.grp` (mean of the two middle values for an even count).

    PostgreSQL: percentile_cont, one sort per group (2.5x faster than the window form on 100k missions).
    Elsewhere (SQLite): rows are numbered within their group and the median is the mean of rows (n+1)//2 and
    (n+2)//2, the same row twice for odd n. The tests run both against the naive Python median.
    """
    present = rows.c.v.is_not(None)
    if _postgresql(session):
        q = select(rows.c.grp, func.percentile_cont(0.5).within_group(rows.c.v)).where(present).group_by(rows.c.grp)
        return {g: float(v) for g, v in session.execute(q)}
    ranked = (
        select(
            rows.c.grp,
            rows.c.v,
            func.row_number().over(partition_by=rows.c.grp, order_by=rows.c.v).label("rn"),
            func.count().over(partition_by=rows.c.grp).label("n"),
        )
        .where(present)
        .subquery()
    )
    q = (
        select(ranked.c.grp, func.avg(ranked.c.v))
        .where(ranked.c.rn.between((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2))
        .group_by(ranked.c.grp)
    )
    return {g: float(v) for g, v in session.execute(q)}


# --- Branches -------------------------------------------------------------------------------------


def resolve_branches(session: Session, codes: list[str] | None) -> tuple[tuple[rules.BranchRef, ...], dict[int, str]]:
    """The branches a report covers (all for no codes) and their ids → codes; unknown codes raise in French."""
    all_branches = session.execute(select(Branch.id, Branch.code, Branch.name).order_by(Branch.code)).all()
    wanted = rules.check_branch_codes(codes, [b.code for b in all_branches])
    chosen = [b for b in all_branches if not wanted or b.code in wanted]
    return tuple(rules.BranchRef(b.code, b.name) for b in chosen), {b.id: b.code for b in chosen}


# --- The report: one query per part -----------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """What every query of one report filters on."""

    session: Session
    ids: dict[int, str]  # branch id → code
    national: bool
    start: date
    end: date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return rules.period_bounds(self.start, self.end)

    def in_branches(self, branch_id: Any = Mission.branch_id) -> ColumnElement[bool]:
        # A national report filters nothing: no IN list of every branch id for the planner to chew on.
        return true() if self.national else branch_id.in_(self.ids)

    def within(self, col: Any) -> ColumnElement[bool]:
        lo, hi = self.bounds
        return and_(col >= lo, col < hi)

    def rows(self, q: Any) -> list[Any]:
        return list(self.session.execute(q).all())


_EVENT_COLS = {e: getattr(Mission, c) for e, c in EVENT_COLUMNS.items()}


def _domains(sc: _Scope) -> dict[str | None, dict[str, int]]:
    # One pass over the missions touched in the period, a conditional count per event.
    q = (
        select(Domain.name, *(_count_where(sc.within(col)) for col in _EVENT_COLS.values()))
        .select_from(Mission)
        .outerjoin(Domain, Domain.id == Mission.domain_id)
        .where(sc.in_branches(), or_(*(sc.within(col) for col in _EVENT_COLS.values())))
        .group_by(Domain.name)
    )
    return {name: dict(zip(EVENTS, counts, strict=True)) for name, *counts in sc.rows(q)}


def _cancellations(sc: _Scope) -> dict[tuple[str, str | None], int]:
    m = Mission
    q = (
        select(m.cancel_reason, m.cancelled_from, func.count())
        .where(sc.in_branches(), sc.within(m.cancelled_at))
        .group_by(m.cancel_reason, m.cancelled_from)
    )
    return {(r, f.value if f else None): n for r, f, n in sc.rows(q)}


def _funnel(sc: _Scope) -> tuple[list[int], dict[str, float]]:
    """Count reaching each step and median delays, over the missions requested in the period (the cohort)."""
    cohort = and_(sc.in_branches(), sc.within(Mission.requested_at))
    cols = [getattr(Mission, c) for _, _, c in rules.FUNNEL]
    counts = sc.session.execute(select(func.count(), *(func.count(c) for c in cols[1:])).where(cohort)).one()
    if _postgresql(sc.session):
        # One pass: an ordered-set aggregate per delay; a delay is NULL (ignored) when either step is missing.
        spans = {rules.FUNNEL[i][0]: days_between(cols[i], cols[i - 1]) for i in range(1, len(rules.FUNNEL))}
        spans["total"] = days_between(cols[-1], cols[0])
        row = sc.session.execute(
            select(*(func.percentile_cont(0.5).within_group(v) for v in spans.values())).where(cohort)
        ).one()
        return list(counts), {g: float(v) for g, v in zip(spans, row, strict=True) if v is not None}
    deltas = [
        select(literal(rules.FUNNEL[i][0], String).label("grp"), days_between(cols[i], cols[i - 1]).label("v")).where(
            cohort, cols[i].is_not(None), cols[i - 1].is_not(None)
        )
        for i in range(1, len(rules.FUNNEL))
    ]
    deltas.append(
        select(literal("total", String).label("grp"), days_between(cols[-1], cols[0]).label("v")).where(
            cohort, cols[-1].is_not(None)
        )
    )
    return list(counts), _medians(sc.session, union_all(*deltas).subquery())


def _applications(sc: _Scope) -> rules.ApplicationStats:
    """Applications per annonce published in the period."""
    published = and_(sc.in_branches(), sc.within(Mission.published_at))
    if sc.national:  # most missions: one pass over the applications, counted before the join (1.8x faster)
        counted = select(Application.mission_id, func.count().label("n")).group_by(Application.mission_id).subquery()
        per = (
            select(Mission.id, func.coalesce(counted.c.n, 0).label("n"))
            .outerjoin(counted, counted.c.mission_id == Mission.id)
            .where(published)
            .subquery()
        )
    else:  # a few hundred missions: their applications through the index, one mission at a time
        count = select(func.count()).where(Application.mission_id == Mission.id).scalar_subquery()
        per = select(Mission.id, count.label("n")).where(published).subquery()
    totals: list[Any] = [func.count(), func.coalesce(func.sum(per.c.n), 0), _count_where(per.c.n == 0)]
    if _postgresql(sc.session):  # the median in the same pass
        row = sc.session.execute(select(*totals, func.percentile_cont(0.5).within_group(per.c.n))).one()
        announcements, applications, without, med = row[0], row[1], row[2], row[3]
    else:
        announcements, applications, without = sc.session.execute(select(*totals)).one()
        med = _medians(sc.session, select(literal("a", String).label("grp"), per.c.n.label("v")).subquery()).get("a")
    channels = sc.session.execute(
        select(Application.channel, func.count())
        .join(Mission, Mission.id == Application.mission_id)
        .where(published)
        .group_by(Application.channel)
    ).all()
    by_channel = tuple(sorted(((CHANNEL_LABELS[c], n) for c, n in channels), key=lambda x: (-x[1], x[0])))
    # By the relay's reference only: report files are copies an erasure could not reach, so they name nobody.
    relays = sc.session.execute(
        select(Application.relayed_by_id, func.count())
        .join(Mission, Mission.id == Application.mission_id)
        .where(published, Application.relayed_by_id.is_not(None))
        .group_by(Application.relayed_by_id)
    ).all()
    by_relay = tuple(sorted(((f"V-{i:04d}", n) for i, n in relays), key=lambda x: (-x[1], x[0])))
    return rules.ApplicationStats(announcements, int(applications), without, rules.round2(med), by_channel, by_relay)


def _volunteers(sc: _Scope) -> rules.VolunteerStats:
    """Applicants in the period; volunteers selected on missions whose selection is in the period; and among
    them those never selected before the period, in any branch."""
    a, m = Application, Mission
    applied = select(func.count(distinct(a.volunteer_id))).where(sc.within(a.applied_at))
    if not sc.national:
        applied = applied.join(m, m.id == a.mission_id).where(sc.in_branches())
    applicants = sc.session.scalar(applied)
    selected = a.status == ApplicationStatus.SELECTED
    lo = sc.bounds[0]
    if sc.national:
        # One pass over every selection before the period's end, grouped by volunteer (a correlated NOT EXISTS per
        # volunteer took 26 s on the national benchmark).
        per = (
            select(func.min(m.selected_at).label("first"), func.max(m.selected_at).label("last"))
            .select_from(a)
            .join(m, m.id == a.mission_id)
            .where(selected, m.selected_at < sc.bounds[1])
            .group_by(a.volunteer_id)
            .subquery()
        )
        engaged, newly = sc.session.execute(
            select(func.count(), _count_where(per.c.first >= lo)).where(per.c.last >= lo)
        ).one()
        return rules.VolunteerStats(applicants or 0, engaged, newly)
    # Some branches: the few volunteers engaged there, each one's earlier selections through the index.
    engaged_q = (
        select(a.volunteer_id)
        .join(m, m.id == a.mission_id)
        .where(selected, sc.in_branches(), sc.within(m.selected_at))
        .distinct()
        .subquery()
    )
    a2, m2 = aliased(Application), aliased(Mission)
    before = (
        select(a2.id)
        .join(m2, m2.id == a2.mission_id)
        .where(
            a2.volunteer_id == engaged_q.c.volunteer_id, a2.status == ApplicationStatus.SELECTED, m2.selected_at < lo
        )
        .exists()
    )
    engaged, newly = sc.session.execute(select(func.count(), _count_where(~before)).select_from(engaged_q)).one()
    return rules.VolunteerStats(applicants or 0, engaged, newly)


def _satisfaction(sc: _Scope) -> rules.Satisfaction:
    """The bilans of the missions completed in the period."""
    r = Review
    row = sc.session.execute(
        select(
            func.count(r.id),
            func.avg(r.association_rating),
            func.avg(r.volunteer_rating),
            *(_count_where(r.objectives_met == k) for k in rules.OBJECTIVES_LABELS),
            _count_where(r.association_would_redo == true()),
            _count_where(r.volunteer_would_redo == true()),
        )
        .join(Mission, Mission.id == r.mission_id)
        .where(sc.in_branches(), sc.within(Mission.completed_at))
    ).one()
    return rules.make_satisfaction(
        row[0],
        association_rating=row[1],
        volunteer_rating=row[2],
        objectives=dict(zip(rules.OBJECTIVES_LABELS, row[3:6], strict=True)),
        association_would_redo=row[6],
        volunteer_would_redo=row[7],
    )


def _fees(sc: _Scope) -> dict[tuple[str, str], tuple[int, int]]:
    """Fees falling due in the period, attributed to the association's branch: (kind, state) → (records, euros),
    the state in the one vocabulary (models/association.fee_state)."""
    billed = FeeRecord.billed_on.is_not(None)
    q = (
        select(FeeRecord.kind, FeeRecord.status, billed, func.count(), func.coalesce(func.sum(FeeRecord.amount), 0))
        .join(Association, Association.id == FeeRecord.association_id)
        .where(sc.in_branches(Association.branch_id), FeeRecord.due_on >= sc.start, FeeRecord.due_on <= sc.end)
        .group_by(FeeRecord.kind, FeeRecord.status, billed)
    )
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for kind, status, was_billed, n, total in sc.rows(q):
        key = (FeeKind(kind).value, fee_state(FeeStatus(status), bool(was_billed)).value)
        records, euros = out.get(key, (0, 0))
        out[key] = (records + n, euros + int(total))
    return out


def _yearly(sc: _Scope) -> dict[tuple[str, int], dict[str, int]]:
    """Missions by branch and year: one UNION ALL of the four events, grouped once."""
    events = union_all(
        *(
            select(
                Mission.branch_id.label("b"), _year_of(col, sc.start, sc.end).label("y"), literal(e, String).label("e")
            ).where(sc.in_branches(), sc.within(col))
            for e, col in _EVENT_COLS.items()
        )
    ).subquery()
    out: dict[tuple[str, int], dict[str, int]] = {}
    q = select(events.c.b, events.c.y, events.c.e, func.count()).group_by(events.c.b, events.c.y, events.c.e)
    for b, y, e, n in sc.rows(q):
        out.setdefault((sc.ids[b], int(y)), {})[e] = n
    return out


def _statuses(sc: _Scope) -> dict[str, int]:
    q = select(Mission.status, func.count()).where(sc.in_branches(), sc.within(Mission.requested_at))
    return {s.value: n for s, n in sc.rows(q.group_by(Mission.status))}


# Each part of the report, its slowest first (they are shared among the reading connections in this order).
_PARTS: dict[str, Callable[[_Scope], Any]] = {
    "funnel": _funnel,
    "applications": _applications,
    "volunteers": _volunteers,
    "satisfaction": _satisfaction,
    "yearly": _yearly,
    "domains": _domains,
    "statuses": _statuses,
    "fees": _fees,
    "cancellations": _cancellations,
}
READERS = 2  # connections reading a PostgreSQL report at once (the machine's cores, at least)


@contextmanager
def _snapshot(engine: Engine, n: int) -> Iterator[list[Session]]:
    """`n` read-only sessions on connections of their own, all reading one snapshot of the database (REPEATABLE
    READ; the first exports it, the others import it), with the report's planner settings."""
    conns: list[Connection] = []
    try:
        for i in range(n):
            conn = engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conns.append(conn)
            conn.begin()
            if i == 0:
                snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
                if not re.fullmatch(r"[0-9A-F-]+", snapshot):
                    raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
            else:
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            # The medians' sorts of a national report stay in memory (default 4 MB: on disk); the report's rows are
            # in cache, where an index lookup costs about a sequential read (default 4×: the planner scans
            # applications).
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
        sessions = [Session(bind=c) for c in conns]
        yield sessions
        for reader in sessions:
            reader.close()
    finally:
        for conn in conns:
            conn.close()  # read only: rolled back


def _parts(sc: _Scope, readers: list[Session]) -> dict[str, Any]:
    """Every part of the report; on several sessions, as many parts at once, each session used by one at a time."""
    if len(readers) == 1:
        return {name: part(replace(sc, session=readers[0])) for name, part in _PARTS.items()}
    free: Queue[Session] = Queue()
    for reader in readers:
        free.put(reader)

    def run(part: Callable[[_Scope], Any]) -> Any:
        session = free.get()
        try:
            return part(replace(sc, session=session))
        finally:
            free.put(session)

    with ThreadPoolExecutor(len(readers), thread_name_prefix="rapport") as pool:
        futures = {name: pool.submit(run, part) for name, part in _PARTS.items()}
        return {name: future.result() for name, future in futures.items()}


def build_report(session: Session, *, branch_codes: list[str] | None, start: date, end: date) -> ReportData:
    """The report for these branches (None or empty: all, national) over [start, end], aggregated in SQL.

    On PostgreSQL the parts are read by `READERS` connections at once, all on one snapshot (the report is
    consistent, and twice as fast on two cores); the caller's session only names the database. SQLite reads them
    one after the other in the caller's session.
    """
    rules.check_period(start, end)
    branches, ids = resolve_branches(session, branch_codes)
    sc = _Scope(session, ids, not rules.normalise_codes(branch_codes), start, end)
    if _postgresql(session):
        bind = session.get_bind()
        with _snapshot(bind.engine if isinstance(bind, Connection) else bind, READERS) as readers:
            parts = _parts(sc, readers)
    else:
        parts = _parts(sc, [session])
    cancel_reasons, cancelled_from = rules.make_cancel_rows(parts["cancellations"])
    counts, medians = parts["funnel"]
    return ReportData(
        branches=branches,
        national=sc.national,
        start=start,
        end=end,
        domains=rules.make_domain_rows(parts["domains"]),
        statuses=rules.make_status_rows(parts["statuses"]),
        cancel_reasons=cancel_reasons,
        cancelled_from=cancelled_from,
        funnel=rules.make_funnel(counts, medians),
        median_total_days=rules.round2(medians.get("total")),
        applications=parts["applications"],
        volunteers=parts["volunteers"],
        satisfaction=parts["satisfaction"],
        fees=rules.make_fee_rows(parts["fees"]),
        yearly=rules.make_year_rows(parts["yearly"], branches),
    )


# --- Artifacts, tasks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredReport:
    """Where a report's files are, at the sign-in gateway."""

    slug: str
    html_url: str
    csv_url: str


def store_report(session: Session, report: ReportData, *, actor: str) -> StoredReport:
    """Keep the report's HTML and CSV in the database (workers may be on other machines); their addresses."""
    rendered = report_files(report)
    urls = []
    for name, media_type, content in zip(
        rendered.names, (files.HTML, files.CSV), (rendered.html, rendered.csv), strict=True
    ):
        row = files.store_file(
            session,
            kind=FileKind.REPORT,
            name=name,
            media_type=media_type,
            content=content,
            branches=report.codes,
            actor=actor,
        )
        urls.append(files.file_url(row.id, row.name))
    return StoredReport(rendered.slug, *urls)


def publish_artifacts(report: ReportData, stored: StoredReport) -> dict[str, str]:
    """Create the keyed artifacts of the report: its summary (markdown, with the links to its files), its main
    tables, and a link to each file (the gateway serves them behind the team's sign-in); return their keys."""
    period = f"du {date_fr(report.start)} au {date_fr(report.end)}"
    key = rules.artifact_key(stored.slug)
    create_markdown_artifact(
        markdown=render_markdown(report, html_url=stored.html_url, csv_url=stored.csv_url),
        key=key,
        description=f"Rapport d'activité {period} — {report.scope_label}",
    )
    keys = {"resume": key}
    tables = report_tables(report)
    for name in ("domaines", "annees", "entonnoir"):
        keys[name] = rules.artifact_key(stored.slug, name)
        create_table_artifact(
            table=tables[name].as_dicts(), key=keys[name], description=f"{tables[name].title} {period}"
        )
    for name, url, label in (
        ("html", stored.html_url, "Rapport HTML avec graphiques"),
        ("csv", stored.csv_url, "Chiffres du rapport en CSV"),
    ):
        keys[name] = rules.artifact_key(stored.slug, name)
        create_link_artifact(link=url, link_text=label, key=keys[name], description=f"{label} {period}")
    return keys


@task(name="verifier-antennes")
def check_report_branches(codes: list[str]) -> list[str]:
    """The normalised branch codes (empty: national), or a French error naming the unknown ones."""
    with unit_of_work() as session:
        resolve_branches(session, codes)
    return rules.normalise_codes(codes)


@task(name="produire-rapport")
def produce_report(codes: list[str], start: date, end: date) -> dict[str, Any]:
    """Build the report in SQL, keep its files in the database, publish its artifacts; return the files'
    addresses and headline counts only.

    One task on purpose: the report itself never becomes a Prefect result (results are pickles outside our
    retention rules).
    """
    with unit_of_work() as session:
        report = build_report(session, branch_codes=codes, start=start, end=end)
        stored = store_report(session, report, actor=started_by())
    return {
        "html": stored.html_url,
        "csv": stored.csv_url,
        "artefacts": publish_artifacts(report, stored),
        "missions_demandees": report.total("requested"),
        "missions_terminees": report.total("completed"),
        "missions_annulees": report.total("cancelled"),
    }
