"""The CSV exports of missions, applications and fees, for a period and some branches (or all).

One function per export reads its rows in SQL (plain columns, no ORM object) and hands them to the pure builders of
models/exports.py; the file is kept in the database (tasks/files.py), `write_export` writes a copy where the command
line asks. The command line (`passerelles export`) and the admin flow `export-data` are thin adapters over
`tasks.admin_actions.export_data`, which checks the parameters before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from models import Application, Association, Branch, Coordinator, Domain, FeeRecord, Mission
from models import exports as rules
from models.exports import ExportKind, ExportTable
from models.refusals import StepRefused
from models.report_rules import ReportParameterError, period_bounds


@dataclass(frozen=True)
class Scope:
    """What an export covers: branches (ids → codes; none named: all) and a period, checked."""

    ids: dict[int, str]
    codes: tuple[str, ...]
    start: date
    end: date

    def in_branches(self, column: Any) -> ColumnElement[bool]:
        """Every branch when none was named (no IN list of them all)."""
        return column.in_(self.ids) if self.codes else true()

    def table(self, kind: ExportKind, rows: list[tuple[str, ...]]) -> ExportTable:
        """The export of these rows."""
        return ExportTable(kind, self.codes, self.start, self.end, rules.COLUMNS[kind], tuple(rows))


def scope(session: Session, *, codes: list[str] | None, start: date, end: date) -> Scope:
    """The checked scope; StepRefused in French (the end before the start, an unknown branch) otherwise."""
    branches = dict(session.execute(select(Branch.id, Branch.code)).tuples().all())
    try:
        wanted = rules.check_export(start, end, codes, branches.values())
    except ReportParameterError as exc:
        raise StepRefused(str(exc)) from exc
    ids = {i: c for i, c in branches.items() if c in wanted}
    return Scope(ids, tuple(wanted), start, end)


def export_missions(session: Session, sc: Scope) -> ExportTable:
    """The missions open at some time in the period: requested before its end, not closed before its start."""
    lo, hi = period_bounds(sc.start, sc.end)
    m = Mission
    closed = func.coalesce(m.completed_at, m.cancelled_at)
    q = (
        select(
            m.reference,
            Branch.code,
            Branch.name,
            Association.name,
            m.title,
            Domain.name,
            m.status,
            Coordinator.first_name + " " + Coordinator.last_name,
            m.volunteers_needed,
            m.requested_at,
            m.published_at,
            m.selected_at,
            m.started_at,
            m.completed_at,
            m.cancelled_at,
            m.cancel_reason,
        )
        .join(Branch, Branch.id == m.branch_id)
        .join(Association, Association.id == m.association_id)
        .join(Coordinator, Coordinator.id == m.coordinator_id)
        .outerjoin(Domain, Domain.id == m.domain_id)
        .where(sc.in_branches(m.branch_id), m.requested_at < hi, or_(closed.is_(None), closed >= lo))
        .order_by(Branch.code, m.requested_at, m.reference)
    )
    return sc.table(ExportKind.MISSIONS, [rules.mission_row(rules.MissionFacts(*r)) for r in _rows(session, q)])


def export_applications(session: Session, sc: Scope) -> ExportTable:
    """The applications received in the period, to missions of the branches."""
    lo, hi = period_bounds(sc.start, sc.end)
    a = Application
    q = (
        select(
            Mission.reference,
            Branch.code,
            Branch.name,
            a.volunteer_id,
            a.channel,
            a.relayed_by_id,
            a.status,
            a.score,
            a.applied_at,
            a.decided_at,
        )
        .join(Mission, Mission.id == a.mission_id)
        .join(Branch, Branch.id == Mission.branch_id)
        .where(sc.in_branches(Mission.branch_id), and_(a.applied_at >= lo, a.applied_at < hi))
        .order_by(Branch.code, a.applied_at, a.id)
    )
    rows = [rules.application_row(rules.ApplicationFacts(*r)) for r in _rows(session, q)]
    return sc.table(ExportKind.APPLICATIONS, rows)


def export_fees(session: Session, sc: Scope) -> ExportTable:
    """The fees falling due in the period, in the branch of their association (as the regional report counts
    them)."""
    f, fee_mission = FeeRecord, aliased(Mission)
    q = (
        select(
            f.id,
            Branch.code,
            Branch.name,
            Association.name,
            f.kind,
            f.year,
            fee_mission.reference,
            f.amount,
            f.status,
            f.due_on,
            f.billed_on,
            f.reminded_on,
            f.paid_on,
            f.settled_by,
            f.note,
        )
        .join(Association, Association.id == f.association_id)
        .join(Branch, Branch.id == Association.branch_id)
        .outerjoin(fee_mission, fee_mission.id == f.mission_id)
        .where(sc.in_branches(Association.branch_id), f.due_on >= sc.start, f.due_on <= sc.end)
        .order_by(Branch.code, f.due_on, f.id)
    )
    return sc.table(ExportKind.FEES, [rules.fee_row(rules.FeeFacts(*r)) for r in _rows(session, q)])


def _rows(session: Session, q: Any) -> list[Any]:
    # Rows of plain columns, unpacked into the facts of models/exports.py (typed there).
    return list(session.execute(q).all())


EXPORTS: dict[ExportKind, Callable[[Session, Scope], ExportTable]] = {
    ExportKind.MISSIONS: export_missions,
    ExportKind.APPLICATIONS: export_applications,
    ExportKind.FEES: export_fees,
}


def parse_kind(value: str) -> ExportKind:
    """The export named by its French word (`missions`, `candidatures`, `cotisations`); StepRefused otherwise."""
    try:
        return ExportKind(value.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in ExportKind)
        raise StepRefused(f"Export inconnu : « {value} ». Exports possibles : {known}.") from None


def write_export(content: bytes, name: str, target: Path) -> Path:
    """Write an export's copy to `target` (a file, or a folder to put it in, as `name`); the absolute path."""
    path = target / name if target.is_dir() or not target.suffix else target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path.resolve()
