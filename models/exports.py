"""Pure rules of the CSV exports (missions, applications, fees): their columns, how a cell is written for a French
spreadsheet, and the file's bytes.

Plain Python, no database and no Prefect: tasks/exports.py reads the rows in SQL and hands them to the `*_row`
builders here. What a French spreadsheet (LibreOffice, Excel set to French) opens without an import dialog: UTF-8
with a byte-order mark (else Excel reads Windows-1252), `;` between cells (`,` is the decimal separator), dates as
JJ/MM/AAAA in Paris time, amounts and decimals with a comma, CRLF line ends.

Minimisation (RGPD art. 5(1)(c)): the exports are for the national admin's counts and follow-up; volunteers appear
by their number (V-0042) only, never by name, address, phone or message; association contacts not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from models.association import FEE_KIND_LABELS, FEE_STATE_LABELS, FeeKind, FeeState, FeeStatus, fee_state
from models.mission_steps import APPLICATION_STATUS_LABELS, CHANNEL_LABELS, ApplicationStatus, Channel
from models.report_rules import MAX_CODES_IN_NAME, check_branch_codes, check_period
from models.rules import STATUS_LABELS, MissionStatus
from models.waves import PARIS


class ExportKind(StrEnum):
    """What can be exported; the value is the command line's word and the file name's."""

    MISSIONS = "missions"
    APPLICATIONS = "candidatures"
    FEES = "cotisations"


EXPORT_LABELS = {
    ExportKind.MISSIONS: "missions (ouvertes à un moment de la période)",
    ExportKind.APPLICATIONS: "candidatures (reçues pendant la période)",
    ExportKind.FEES: "cotisations et participations (échues pendant la période)",
}


MISSION_COLUMNS = (
    "Référence",
    "Code antenne",
    "Antenne",
    "Association",
    "Intitulé",
    "Domaine",
    "Statut",
    "Passerelle",
    "Bénévoles recherchés",
    "Demandée le",
    "Annonce diffusée le",
    "Bénévole(s) retenu(s) le",
    "Démarrée le",
    "Terminée le",
    "Annulée le",
    "Motif d'annulation",
)
APPLICATION_COLUMNS = (
    "Mission",
    "Code antenne",
    "Antenne",
    "Bénévole",
    "Canal",
    "Par le relais",
    "Statut",
    "Score",
    "Reçue le",
    "Décidée le",
)
FEE_COLUMNS = (
    "Numéro",
    "Code antenne",
    "Antenne",
    "Association",
    "Nature",
    "Année",
    "Mission",
    "Montant (€)",
    "État",
    "Due le",
    "Facturée le",
    "Relancée le",
    "Payée le",
    "Moyen de paiement",
    "Motif de l'exonération",
    "Notée par",
)
COLUMNS = {
    ExportKind.MISSIONS: MISSION_COLUMNS,
    ExportKind.APPLICATIONS: APPLICATION_COLUMNS,
    ExportKind.FEES: FEE_COLUMNS,
}


# --- Cells ----------------------------------------------------------------------------------------


def date_cell(value: date | datetime | None) -> str:
    """`14/03/2026`; a timestamp (stored in UTC) as its day in Paris; empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date()
    return f"{value:%d/%m/%Y}"


def decimal_cell(value: float | int | Decimal | None, digits: int = 2) -> str:
    """`1234,50`: a decimal comma and no thousands separator (a spreadsheet reads it as a number); empty for None."""
    if value is None:
        return ""
    return f"{Decimal(str(value)):.{digits}f}".replace(".", ",")


def volunteer_ref(volunteer_id: int | None) -> str:
    """`V-0042`: a volunteer by number only, as the exports name them."""
    return "" if volunteer_id is None else f"V-{volunteer_id:04d}"


# --- Rows (pure) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissionFacts:
    """What the missions export reads of one mission."""

    reference: str
    branch_code: str
    branch: str
    association: str
    title: str
    domain: str | None
    status: MissionStatus
    passerelle: str
    volunteers_needed: int
    requested_at: datetime
    published_at: datetime | None
    selected_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str


def mission_row(m: MissionFacts) -> tuple[str, ...]:
    """One line of the missions export."""
    return (
        m.reference,
        m.branch_code,
        m.branch,
        m.association,
        m.title,
        m.domain or "",
        STATUS_LABELS[m.status],
        m.passerelle,
        str(m.volunteers_needed),
        *(date_cell(d) for d in (m.requested_at, m.published_at, m.selected_at, m.started_at, m.completed_at)),
        date_cell(m.cancelled_at),
        m.cancel_reason,
    )


@dataclass(frozen=True)
class ApplicationFacts:
    """What the applications export reads of one application."""

    mission: str
    branch_code: str
    branch: str
    volunteer_id: int
    channel: Channel
    relayed_by_id: int | None
    status: ApplicationStatus
    score: float | None
    applied_at: datetime
    decided_at: datetime | None


def application_row(a: ApplicationFacts) -> tuple[str, ...]:
    """One line of the applications export: the volunteer and the relay by number only."""
    return (
        a.mission,
        a.branch_code,
        a.branch,
        volunteer_ref(a.volunteer_id),
        CHANNEL_LABELS[a.channel],
        volunteer_ref(a.relayed_by_id),
        APPLICATION_STATUS_LABELS[a.status],
        decimal_cell(a.score),
        date_cell(a.applied_at),
        date_cell(a.decided_at),
    )


@dataclass(frozen=True)
class FeeFacts:
    """What the fees export reads of one fee record."""

    id: int
    branch_code: str
    branch: str
    association: str
    kind: FeeKind
    year: int
    mission: str | None
    amount: int  # euros
    status: FeeStatus
    due_on: date
    billed_on: date | None
    reminded_on: date | None
    paid_on: date | None
    settled_by: str
    note: str


def fee_row(f: FeeFacts) -> tuple[str, ...]:
    """One line of the fees export: its state in the words of models/association.FeeState; how it was paid (the
    note of a payment) or why it was waived."""
    state = fee_state(f.status, f.billed_on)
    return (
        f"F-{f.id}",
        f.branch_code,
        f.branch,
        f.association,
        FEE_KIND_LABELS[f.kind],
        str(f.year),
        f.mission or "",
        decimal_cell(f.amount),
        FEE_STATE_LABELS[state].capitalize(),
        *(date_cell(d) for d in (f.due_on, f.billed_on, f.reminded_on, f.paid_on)),
        f.note if state is FeeState.PAID else "",
        f.note if state is FeeState.WAIVED else "",
        f.settled_by,
    )


# --- The export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportTable:
    """One export, ready to write: what, for which branches (empty: all) and period, its columns and lines."""

    kind: ExportKind
    codes: tuple[str, ...]
    start: date
    end: date
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def file_name(self) -> str:
        """`missions-STR-MUL-2026-01-01_2026-12-31.csv` (`…-toutes-antennes-…` for all)."""
        return f"{export_slug(self.kind, self.codes, self.start, self.end)}.csv"

    @property
    def scope_label(self) -> str:
        """`antennes STR, MUL du 01/01/2026 au 31/12/2026`."""
        who = "toutes les antennes" if not self.codes else f"antenne{'s' if len(self.codes) > 1 else ''} "
        who += ", ".join(self.codes)
        return f"{who} du {date_cell(self.start)} au {date_cell(self.end)}"


def export_slug(kind: ExportKind, codes: Sequence[str], start: date, end: date) -> str:
    """The file's name without extension; beyond a few branches, their count (the list is in the file's rows)."""
    if not codes:
        who = "toutes-antennes"
    elif len(codes) <= MAX_CODES_IN_NAME:
        who = "-".join(codes)
    else:
        who = f"{len(codes)}-antennes"
    return f"{kind.value}-{who}-{start.isoformat()}_{end.isoformat()}"


def check_export(start: date, end: date, codes: Iterable[str] | None, known: Iterable[str]) -> list[str]:
    """The normalised branch codes (empty: all), or ReportParameterError in French (the period inverted, an unknown
    branch), before anything is read or written."""
    check_period(start, end)
    return check_branch_codes(codes, known)


def csv_bytes(table: ExportTable) -> bytes:
    """The file: UTF-8 with a byte-order mark, `;` separated, CRLF, every cell quoted when it must be."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return buf.getvalue().encode("utf-8-sig")
