"""Import volunteers (bénévoles) from a CSV file (format: tasks/volunteer_csv.py): the support team's way to load
and update the volunteer base.

Upsert: a row whose e-mail is already in the base updates that volunteer, column by column, for the columns the
file has and whose cell is not empty (an empty cell keeps what is stored: a partial file changes nothing else);
``competences``, when given, adds the competences the volunteer lacks and sets the levels it names; the ones the
cell omits are kept (the report says which), or removed with ``replace_competences`` (the command's
``--remplacer-competences``; the report says which, in the dry run too). The report says what is new, changed (field
by field, old → new), unchanged and rejected; ``dry_run`` computes all of it and writes nothing.

Atomicity: ``import_volunteers`` only flushes, in batches; the caller owns the one transaction (the CLI uses
``unit_of_work``), so an error half-way leaves nothing written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models.base import utcnow
from models.org import Branch
from models.taxonomy import Competence
from models.volunteer import (
    AVAILABILITY_LABELS,
    Availability,
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    Volunteer,
    VolunteerCompetence,
)
from tasks.consents import CONSENT_ATTRS, log_change
from tasks.volunteer_csv import (
    BATCH,
    IGNORED,
    ImportRefused,
    Lookup,
    Progress,
    Rejected,
    VolunteerRecord,
    map_header,
    parse_csv,
    validate_row,
)


@dataclass
class Changed:
    """An existing volunteer the row updates: (French field name, old, new) for each difference."""

    line: int
    label: str
    fields: list[tuple[str, str, str]]


@dataclass
class Omitted:
    """The competences a known volunteer has and the file's cell does not list: removed, or kept."""

    line: int
    label: str
    competences: str
    removed: bool


@dataclass
class ImportReport:
    """What an import did (or, dry run, would do)."""

    header: list[str] = field(default_factory=list)
    rows_read: int = 0
    imported: int = 0  # new volunteers
    changed: list[Changed] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    omitted: list[Omitted] = field(default_factory=list)


def _existing(session: Session, emails: list[str]) -> dict[str, Volunteer]:
    found: dict[str, Volunteer] = {}
    # The check constraint keeps stored e-mails lower-case, so a plain IN uses the unique index.
    for i in range(0, len(emails), 500):
        batch = emails[i : i + 500]
        query = select(Volunteer).where(Volunteer.email.in_(batch)).options(selectinload(Volunteer.competences))
        found.update((v.email, v) for v in session.scalars(query))
    return found


# column -> (French label, model attribute) of what an update may change
UPDATABLE = {
    "prenom": ("prénom", "first_name"),
    "nom": ("nom", "last_name"),
    "telephone": ("téléphone", "phone"),
    "ville": ("ville", "city"),
    "profession": ("profession", "profession"),
    "consentement_annonces": ("consentement annonces", "consent_announcements"),
    "consentement_national": ("consentement national", "consent_national"),
    "relais": ("relais", "is_relay"),
    "disponibilite": ("disponibilité", "availability"),
}


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Availability):
        return AVAILABILITY_LABELS[value].lower()
    return str(value) or "(vide)"


def show_competences(levels: dict[str, int]) -> str:
    """`comptabilite:1, site-web:3`, or « (aucune) »."""
    return ", ".join(f"{k}:{v}" for k, v in sorted(levels.items())) or "(aucune)"


def merge_competences(
    current: dict[str, int], given: dict[str, int], *, replace: bool
) -> tuple[dict[str, int], dict[str, int]]:
    """The volunteer's competences after a file's cell (code → level), and those the cell omits: removed when
    `replace`, otherwise kept beside the cell's (whose levels win)."""
    omitted = {code: level for code, level in current.items() if code not in given}
    return (dict(given) if replace else current | given), omitted


def _update(
    volunteer: Volunteer,
    record: VolunteerRecord,
    given: set[str],
    branch_ids: dict[str, int],
    competence_ids: dict[str, int],
    codes: dict[int, str],
    *,
    replace_competences: bool,
) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """Apply the row's non-empty cells to the volunteer; the differences, in French, and the competences the row
    omits (removed or kept, after `replace_competences`)."""
    diffs: list[tuple[str, str, str]] = []
    omitted: dict[str, int] = {}
    for column, (label, attr) in UPDATABLE.items():
        if column in given and getattr(volunteer, attr) != getattr(record, attr):
            diffs.append((label, _shown(getattr(volunteer, attr)), _shown(getattr(record, attr))))
            setattr(volunteer, attr, getattr(record, attr))
    if "antenne" in given and branch_ids[record.branch_code] != volunteer.branch_id:
        old = next((c for c, i in branch_ids.items() if i == volunteer.branch_id), "?")
        diffs.append(("antenne", old, record.branch_code))
        volunteer.branch_id = branch_ids[record.branch_code]
    if "competences" in given:
        current = {codes[vc.competence_id]: vc.level for vc in volunteer.competences}
        after, omitted = merge_competences(current, record.competences, replace=replace_competences)
        if current != after:
            diffs.append(("compétences", show_competences(current), show_competences(after)))
            kept = {vc.competence_id: vc for vc in volunteer.competences}
            volunteer.competences = [
                _level(kept.get(competence_ids[code]), competence_ids[code], level) for code, level in after.items()
            ]
    return diffs, omitted


def _level(row: VolunteerCompetence | None, competence_id: int, level: int) -> VolunteerCompetence:
    """The volunteer's row for a competence, kept (its level set) when it exists: no delete and insert again."""
    if row is None:
        return VolunteerCompetence(competence_id=competence_id, level=level)
    row.level = level
    return row


def import_volunteers(
    session: Session,
    source: Path | bytes,
    *,
    default_branch_code: str | None = None,
    encoding: str = "utf-8",
    progress: Progress | None = None,
    dry_run: bool = False,
    replace_competences: bool = False,
) -> ImportReport:
    """Validate every row, add the new volunteers and update the known ones in the session (flushed, not
    committed), and report the others. A known volunteer's competences the file omits are kept, or removed with
    `replace_competences`; either way the report lists them. `dry_run`: the same report, the session rolled back."""
    parsed = parse_csv(source if isinstance(source, bytes) else Path(source).read_bytes(), encoding)
    branch_ids = {code.upper(): id_ for code, id_ in session.execute(select(Branch.code, Branch.id))}
    if default_branch_code and default_branch_code.strip().upper() not in branch_ids:
        raise ImportRefused(
            f"Antenne inconnue : « {default_branch_code} » (option --antenne). "
            f"Antennes connues : {', '.join(sorted(branch_ids))}."
        )
    taxonomy = session.execute(select(Competence.code, Competence.name, Competence.id)).all()
    lookup = Lookup.build(((c, n) for c, n, _ in taxonomy), branch_ids, default_branch_code)
    competence_ids = {code: id_ for code, _, id_ in taxonomy}
    codes = {id_: code for code, _, id_ in taxonomy}

    report = ImportReport(header=parsed.header, rows_read=len(parsed.rows))
    checked: list[tuple[VolunteerRecord, list[str]]] = []
    first_line: dict[str, int] = {}
    at = parsed.columns.index("email")
    for line, cells in parsed.rows:
        # The first occurrence claims the address even if it is refused for another reason.
        key = cells[at].strip().lower() if len(cells) == len(parsed.columns) else ""
        if key in first_line:
            reason = f"e-mail « {cells[at]} » en double dans le fichier (déjà ligne {first_line[key]})"
            report.rejected.append(Rejected(line, reason, cells))
            continue
        if key:
            first_line[key] = line
        result = validate_row(line, parsed.columns, cells, lookup)
        if isinstance(result, str):
            report.rejected.append(Rejected(line, result, cells))
        else:
            checked.append((result, cells))
    present = _existing(session, [r.email for r, _ in checked])

    total = len(parsed.rows)
    done = total - len(checked)
    progress = progress or (lambda done, total: None)
    progress(done, total)
    added: list[Volunteer] = []
    for record, cells in checked:
        if record.email in present:
            given = {c for c, v in zip(parsed.columns, cells, strict=True) if v.strip()}
            volunteer = present[record.email]
            diffs, omitted = _update(
                volunteer, record, given, branch_ids, competence_ids, codes, replace_competences=replace_competences
            )
            if omitted:
                label = f"{volunteer.label} <{volunteer.email}>"
                report.omitted.append(Omitted(record.line, label, show_competences(omitted), replace_competences))
            if diffs:
                report.changed.append(Changed(record.line, f"{volunteer.label} <{volunteer.email}>", diffs))
                _record(session, volunteer, diffs)
            else:
                report.unchanged += 1
        else:
            # VolunteerRecord's other fields are named after the model's attributes.
            attrs = {k: v for k, v in vars(record).items() if k not in ("line", "branch_code", "competences")}
            volunteer = Volunteer(branch_id=branch_ids[record.branch_code], **attrs)
            volunteer.competences = [
                VolunteerCompetence(competence_id=competence_ids[code], level=level)
                for code, level in record.competences.items()
            ]
            session.add(volunteer)
            added.append(volunteer)
            report.imported += 1
            if report.imported % BATCH == 0:
                session.flush()
        done += 1
        progress(done, total)
    session.flush()
    now = utcnow()
    session.add_all(  # the consents the file gives, with their source and wording version
        ConsentRecord(volunteer_id=v.id, kind=kind, granted=True, source=ConsentSource.IMPORT, at=now)
        for v in added
        for kind, attr in CONSENT_ATTRS.items()
        if getattr(v, attr)
    )
    session.flush()
    if dry_run:
        session.rollback()
    report.rejected.sort(key=lambda r: r.line)
    return report


def _record(session: Session, volunteer: Volunteer, diffs: list[tuple[str, str, str]]) -> None:
    """Keep an update of the file in the volunteer's record, its consents with their source."""
    for kind, attr in CONSENT_ATTRS.items():
        label = UPDATABLE[f"consentement_{'annonces' if kind is ConsentKind.ANNOUNCEMENTS else 'national'}"][0]
        if any(d[0] == label for d in diffs):
            session.add(
                ConsentRecord(
                    volunteer_id=volunteer.id,
                    kind=kind,
                    granted=getattr(volunteer, attr),
                    source=ConsentSource.IMPORT,
                    at=utcnow(),
                )
            )
    log_change(
        session,
        volunteer,
        actor="import CSV",
        source=ConsentSource.IMPORT,
        changes=[f"{label} : {old} → {new}" for label, old, new in diffs],
    )


def write_rejects(report: ImportReport, path: Path) -> None:
    """Write the rejected rows, reason first, as a `;` CSV French Excel opens; fix it and re-import it as is."""
    # An old motif column (a rejects file re-imported) is dropped so the new reason is the only one.
    keep = [i for i, c in enumerate(map_header(report.header)) if c not in IGNORED]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["motif", *(report.header[i].strip() for i in keep)])
        for row in report.rejected:
            extra = row.cells[len(report.header) :]
            cells = [row.cells[i] if i < len(row.cells) else "" for i in keep] + extra
            writer.writerow([f"ligne {row.line} : {row.reason}", *cells])
