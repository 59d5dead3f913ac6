"""The report's figures as tables with French headers: one shape for the HTML, the CSV and the table artifacts.

Pure, like the report rules it presents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.association import FEE_STATE_LABELS, FeeState
from models.report_rules import EVENT_LABELS, EVENTS, ReportData

# The fees' columns in the words of the command line and the mails (models/association.FeeState).
FEE_COLUMNS = ("Total (€)", *(f"{FEE_STATE_LABELS[s].capitalize()} (€)" for s in FeeState), "Restant dû (€)")
FEE_NOTE = (
    "Due : pas encore facturée (la facture part à la validation des valeurs pour la cotisation, à la diffusion de "
    "l'annonce pour la participation) ; facturée : facture envoyée, pas encore payée ; restant dû : due ou facturée."
)


@dataclass(frozen=True)
class Table:
    """A titled table; the first `keys` columns name the row, the others hold numbers (None: not defined)."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    keys: int = 1

    def as_dicts(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by the French headers (what a table artifact takes)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _pc(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def report_tables(report: ReportData) -> dict[str, Table]:
    """Every figure of the report, as tables with French headers, keyed by a stable name."""
    ev = tuple(EVENT_LABELS[e] for e in EVENTS)
    a, v, s = report.applications, report.volunteers, report.satisfaction
    return {
        "domaines": Table(
            "Missions par domaine",
            ("Domaine", *ev),
            [
                *((d.domain, *(getattr(d, e) for e in EVENTS)) for d in report.domains),
                ("Total", *(report.total(e) for e in EVENTS)),
            ],
        ),
        "statuts": Table(
            "Où en sont les missions demandées sur la période",
            ("Statut actuel", "Missions"),
            [(c.label, c.count) for c in report.statuses],
        ),
        "motifs": Table(
            "Annulations par motif", ("Motif", "Missions"), [(c.label, c.count) for c in report.cancel_reasons]
        ),
        "etapes": Table(
            "Annulations par étape atteinte", ("Étape", "Missions"), [(c.label, c.count) for c in report.cancelled_from]
        ),
        "entonnoir": Table(
            "Entonnoir des missions demandées sur la période",
            (
                "Étape",
                "Missions",
                "Conversion depuis l'étape précédente (%)",
                "Conversion depuis la demande (%)",
                "Délai médian depuis l'étape précédente (jours)",
            ),
            [(f.label, f.count, _pc(f.rate_previous), _pc(f.rate_start), f.median_days) for f in report.funnel],
        ),
        "candidatures": Table(
            "Candidatures et bénévoles",
            ("Indicateur", "Valeur"),
            [
                ("Annonces diffusées", a.announcements),
                ("Candidatures reçues", a.applications),
                ("Candidatures par annonce (moyenne)", a.per_announcement),
                ("Candidatures par annonce (médiane)", a.median_per_announcement),
                ("Annonces sans candidature", a.without_application),
                ("Bénévoles candidats", v.applicants),
                ("Bénévoles engagés", v.engaged),
                ("dont nouvellement engagés", v.newly_engaged),
            ],
        ),
        "relais": Table(
            "Candidatures venues par un relais (annonces diffusées sur la période)",
            ("Relais", "Candidatures"),
            list(a.by_relay),
        ),
        "satisfaction": Table(
            "Satisfaction (bilans des missions terminées)",
            ("Indicateur", "Valeur"),
            [
                ("Bilans", s.reviews),
                ("Note moyenne des associations (sur 5)", s.association_rating),
                ("Note moyenne des bénévoles (sur 5)", s.volunteer_rating),
                *((f"Objectifs : {o.label.lower()}", o.count) for o in s.objectives),
                ("Associations prêtes à recommencer", s.association_would_redo),
                ("Bénévoles prêts à recommencer", s.volunteer_would_redo),
            ],
        ),
        "cotisations": Table(
            "Cotisations et participations échues sur la période",
            ("Type", "Nombre", *FEE_COLUMNS),
            [(f.kind, f.records, f.total, f.due, f.billed, f.paid, f.waived, f.outstanding) for f in report.fees],
        ),
        "annees": Table(
            "Missions par antenne et par année",
            ("Antenne", "Année", *ev),
            [(f"{y.branch_name} ({y.branch_code})", y.year, *(getattr(y, e) for e in EVENTS)) for y in report.yearly],
            keys=2,
        ),
    }
