"""Pure rules of the regional / national report: its data, conversion rates, medians, parameter checks.

Plain Python, no database and no Prefect. The SQL aggregation (tasks/reports.py) and the naive Python version
(bench/bench_report.py) both hand their raw counts to the `make_*` helpers here, so both produce the very same
`ReportData` and can be compared with `==`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from models.association import FeeState
from models.rules import STATUS_LABELS, MissionStatus

NO_DOMAIN = "Non renseigné"
NO_REASON = "Motif non précisé"
EVENTS = ("requested", "started", "completed", "cancelled")
EVENT_LABELS = {"requested": "Demandées", "started": "Démarrées", "completed": "Réalisées", "cancelled": "Annulées"}

# The funnel: (key, French label, Mission column marking the step). The roadmap's validation closes the search
# and starts the mission; the bilan completes it.
FUNNEL = (
    ("demande", "Demande", "requested_at"),
    ("annonce", "Annonce diffusée", "published_at"),
    ("selection", "Sélection", "selected_at"),
    ("feuille-de-route", "Feuille de route validée", "started_at"),
    ("bilan", "Bilan", "completed_at"),
)
# Beyond this many branches, names and keys use a count and a short hash instead of the list of codes.
MAX_CODES_IN_NAME = 5

FEE_KIND_LABELS = {"membership": "Cotisations annuelles", "search": "Participations aux frais de recherche"}
OBJECTIVES_LABELS = {"yes": "Atteints", "partly": "Partiellement", "no": "Non atteints"}


class ReportParameterError(ValueError):
    """Parameters of a report that cannot be honoured; the message is French and shown to the admin."""


# --- Parameters -----------------------------------------------------------------------------------


def check_period(start: date, end: date) -> None:
    """Raise ReportParameterError unless start <= end."""
    if end < start:
        raise ReportParameterError(
            f"La date de fin précède la date de début : du {start.isoformat()} au {end.isoformat()}."
        )


def normalise_codes(codes: Iterable[str] | None) -> list[str]:
    """Branch codes upper-cased, stripped, without blanks or duplicates, sorted; empty means national."""
    return sorted({c.strip().upper() for c in codes or () if c and c.strip()})


def check_branch_codes(codes: Iterable[str] | None, known: Iterable[str]) -> list[str]:
    """The normalised codes, or ReportParameterError naming the unknown ones and listing the known ones."""
    wanted, known_set = normalise_codes(codes), set(known)
    unknown = [c for c in wanted if c not in known_set]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ReportParameterError(
            f"Antenne{plural} inconnue{plural} : {', '.join(unknown)}. "
            f"Antennes connues : {', '.join(sorted(known_set)) or 'aucune'}."
        )
    return wanted


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period as a half-open UTC interval [start 00:00, day after end 00:00).

    UTC, like the stored timestamps and the SQL year extraction, so the yearly breakdown and the period agree.
    """
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def report_slug(codes: Sequence[str], start: date, end: date) -> str:
    """`rapport-STR-MUL-2014-01-01_2014-12-31`; `rapport-national-...` for all branches."""
    if not codes:
        who = "national"
    elif len(codes) <= MAX_CODES_IN_NAME:
        who = "-".join(codes)
    else:
        who = f"{len(codes)}-antennes-" + hashlib.sha1("-".join(codes).encode()).hexdigest()[:6]
    return f"rapport-{who}-{start.isoformat()}_{end.isoformat()}"


def artifact_key(slug: str, suffix: str = "") -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) derived from the report's slug."""
    key = slug.lower().replace("_", "-")
    return f"{key}-{suffix}" if suffix else key


# --- Numbers --------------------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 decimals; None when whole is 0."""
    return round(part / whole, 4) if whole else None


def round2(value: float | None) -> float | None:
    """Two decimals; None stays None. Both report builders round the same way so they compare equal."""
    return None if value is None else round(float(value), 2)


def median(values: Iterable[float]) -> float | None:
    """The median (mean of the two middle values for an even count); None for no values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# --- The report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BranchRef:
    """A branch as the report names it."""

    code: str
    name: str


@dataclass(frozen=True)
class DomainRow:
    """Missions of a domain whose request, start, completion or cancellation falls in the period."""

    domain: str
    requested: int
    started: int
    completed: int
    cancelled: int


@dataclass(frozen=True)
class CountRow:
    """A labelled count (status, cancellation reason, step a mission was cancelled from)."""

    label: str
    count: int


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel over the missions requested in the period."""

    key: str
    label: str
    count: int
    rate_previous: float | None
    rate_start: float | None
    median_days: float | None  # from the previous step to this one


@dataclass(frozen=True)
class ApplicationStats:
    """Applications received by the annonces published in the period."""

    announcements: int
    applications: int
    without_application: int
    median_per_announcement: float | None
    by_channel: tuple[tuple[str, int], ...] = ()  # (French channel label, applications), most first
    by_relay: tuple[tuple[str, int], ...] = ()  # (relay's reference `V-0042`, applications « via » them), most first

    @property
    def per_announcement(self) -> float | None:
        """Mean number of applications per annonce."""
        return round2(self.applications / self.announcements) if self.announcements else None


@dataclass(frozen=True)
class VolunteerStats:
    """Applicants in the period; volunteers selected in the period, and those selected for the first time."""

    applicants: int
    engaged: int
    newly_engaged: int


@dataclass(frozen=True)
class Satisfaction:
    """What the bilans of the missions completed in the period say (ratings from 1 to 5)."""

    reviews: int
    association_rating: float | None
    volunteer_rating: float | None
    objectives: tuple[CountRow, ...]
    association_would_redo: int
    volunteer_would_redo: int


@dataclass(frozen=True)
class FeeRow:
    """Fees of one kind falling due in the period, in euros, by state (models/association.FeeState: due, billed,
    paid, waived); `total` is all of them, `outstanding` what is still owed (due or billed)."""

    kind: str
    records: int
    total: int
    due: int
    billed: int
    paid: int
    waived: int

    @property
    def outstanding(self) -> int:
        """Still owed: due (no bill yet) or billed."""
        return self.due + self.billed


@dataclass(frozen=True)
class YearRow:
    """One branch's missions in one calendar year of the period."""

    branch_code: str
    branch_name: str
    year: int
    requested: int
    started: int
    completed: int
    cancelled: int


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; built from aggregates only, it holds no personal data."""

    branches: tuple[BranchRef, ...]
    national: bool
    start: date
    end: date
    domains: tuple[DomainRow, ...]
    statuses: tuple[CountRow, ...]
    cancel_reasons: tuple[CountRow, ...]
    cancelled_from: tuple[CountRow, ...]
    funnel: tuple[FunnelStep, ...]
    median_total_days: float | None
    applications: ApplicationStats
    volunteers: VolunteerStats
    satisfaction: Satisfaction
    fees: tuple[FeeRow, ...]
    yearly: tuple[YearRow, ...]

    def total(self, event: str) -> int:
        """Missions requested / started / completed / cancelled in the period, all domains."""
        return sum(getattr(row, event) for row in self.domains)

    @property
    def codes(self) -> list[str]:
        """Codes of the branches covered (empty for a national report)."""
        return [] if self.national else [b.code for b in self.branches]

    @property
    def scope_label(self) -> str:
        """`Rapport national` or the branch names."""
        if self.national:
            return "Rapport national (toutes les antennes)"
        return "Antenne" + ("s" if len(self.branches) > 1 else "") + " : " + ", ".join(b.name for b in self.branches)


# --- Builders shared by the SQL and the naive version ----------------------------------------------


def make_domain_rows(counts: Mapping[str | None, Mapping[str, int]]) -> tuple[DomainRow, ...]:
    """Rows by domain name (None = not analysed yet), sorted by name with « Non renseigné » last."""
    rows = [
        DomainRow(name or NO_DOMAIN, *(int(c.get(e, 0)) for e in EVENTS))
        for name, c in counts.items()
        if any(c.get(e, 0) for e in EVENTS)
    ]
    return tuple(sorted(rows, key=lambda r: (r.domain == NO_DOMAIN, r.domain)))


def make_count_rows(counts: Mapping[str, int]) -> tuple[CountRow, ...]:
    """Non-zero counts, largest first, then by label."""
    return tuple(sorted((CountRow(k, int(v)) for k, v in counts.items() if v), key=lambda r: (-r.count, r.label)))


def make_status_rows(counts: Mapping[str, int]) -> tuple[CountRow, ...]:
    """Counts by mission status, in lifecycle order, with French labels."""
    return tuple(CountRow(STATUS_LABELS[s], int(counts[s.value])) for s in MissionStatus if counts.get(s.value))


def make_cancel_rows(counts: Mapping[tuple[str, str | None], int]) -> tuple[tuple[CountRow, ...], tuple[CountRow, ...]]:
    """(reasons, steps cancelled from) from counts keyed by (reason, status the mission was cancelled from)."""
    reasons: dict[str, int] = {}
    steps: dict[str, int] = {}
    for (reason, from_status), n in counts.items():
        label = " ".join((reason or "").split()) or NO_REASON
        reasons[label] = reasons.get(label, 0) + n
        step = STATUS_LABELS[MissionStatus(from_status)] if from_status else "Étape inconnue"
        steps[step] = steps.get(step, 0) + n
    return make_count_rows(reasons), make_count_rows(steps)


def make_funnel(counts: Sequence[int], medians: Mapping[str, float | None]) -> tuple[FunnelStep, ...]:
    """The funnel from the count reaching each FUNNEL step and the median delay (days) into each step."""
    steps = []
    for i, (key, label, _) in enumerate(FUNNEL):
        steps.append(
            FunnelStep(
                key=key,
                label=label,
                count=int(counts[i]),
                rate_previous=rate(counts[i], counts[i - 1]) if i else None,
                rate_start=rate(counts[i], counts[0]) if i else None,
                median_days=round2(medians.get(key)) if i else None,
            )
        )
    return tuple(steps)


def make_satisfaction(
    reviews: int,
    *,
    association_rating: float | None,
    volunteer_rating: float | None,
    objectives: Mapping[str, int],
    association_would_redo: int,
    volunteer_would_redo: int,
) -> Satisfaction:
    """Satisfaction with ratings rounded and objectives labelled in a fixed order."""
    return Satisfaction(
        reviews=int(reviews),
        association_rating=round2(association_rating),
        volunteer_rating=round2(volunteer_rating),
        objectives=tuple(CountRow(label, int(objectives.get(k, 0))) for k, label in OBJECTIVES_LABELS.items()),
        association_would_redo=int(association_would_redo),
        volunteer_would_redo=int(volunteer_would_redo),
    )


def make_fee_rows(sums: Mapping[tuple[str, str], tuple[int, int]]) -> tuple[FeeRow, ...]:
    """Fee rows by kind from (kind, state) → (records, amount), plus a total row when there are fees."""
    rows = []
    for kind, label in FEE_KIND_LABELS.items():
        by_state = {s: sums.get((kind, s.value), (0, 0)) for s in FeeState}
        records = sum(n for n, _ in by_state.values())
        euros = [int(by_state[s][1]) for s in FeeState]
        rows.append(FeeRow(label, records, sum(euros), *euros))
    if any(r.records for r in rows):
        fields = ("records", "total", "due", "billed", "paid", "waived")
        rows.append(FeeRow("Total", *(sum(getattr(r, f) for r in rows) for f in fields)))
    return tuple(rows)


def make_year_rows(
    counts: Mapping[tuple[str, int], Mapping[str, int]], branches: Sequence[BranchRef]
) -> tuple[YearRow, ...]:
    """Rows by (branch code, year), sorted by branch code then year."""
    names = {b.code: b.name for b in branches}
    return tuple(
        YearRow(code, names.get(code, code), year, *(int(c.get(e, 0)) for e in EVENTS))
        for (code, year), c in sorted(counts.items())
    )
