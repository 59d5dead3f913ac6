"""The regional / national report for people: HTML, CSV and markdown renderings, and the HTML / CSV files.

Split from tasks/reports.py (SQL aggregation and Prefect tasks) by role: everything here works on a finished
`ReportData` and never touches the database or Prefect. Templates live under templates/report/ and go through
the shared environment of tasks.rendering.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models import report_rules as rules
from models.report_rules import EVENTS, ReportData
from models.report_tables import FEE_NOTE, report_tables
from tasks.rendering import number_fr, render

# --- Formatting for people -----------------------------------------------------------------------


def cell(value: Any) -> str:
    """A table value for people: French numbers, `—` for undefined."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return number_fr(value, 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return number_fr(value)
    return str(value)


def pct(value: float | None) -> str:
    """A rate as a French percentage (`85,0 %`)."""
    return "—" if value is None else f"{number_fr(value * 100, 1)} %"


def days(value: float | None) -> str:
    """A delay in days (`12,5 j`)."""
    return "—" if value is None else f"{number_fr(value, 1)} j"


# --- Renderings -----------------------------------------------------------------------------------

CSV_HEADER = ("Rubrique", "Libellé", "Indicateur", "Valeur")


def render_csv(report: ReportData) -> str:
    """Every figure in long format: French headers, `;` delimiter and decimal comma, as French spreadsheets want."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for table in report_tables(report).values():
        for row in table.rows:
            label = " ".join(str(k) for k in row[: table.keys])
            for column, value in zip(table.columns[table.keys :], row[table.keys :], strict=True):
                text = "" if value is None else str(value).replace(".", ",")
                writer.writerow((table.title, label, column, text))
    return buf.getvalue()


def _context(report: ReportData, **extra: Any) -> dict[str, Any]:
    return {
        "r": report,
        "tables": report_tables(report),
        "fee_note": FEE_NOTE,
        "cell": cell,
        "pct": pct,
        "days": days,
        **extra,
    }


def render_markdown(report: ReportData, *, html_url: str = "", csv_url: str = "") -> str:
    """The summary shown as the run's markdown artifact, with the links to its files at the sign-in gateway."""
    return render("report/report.md.j2", **_context(report, html_url=html_url, csv_url=csv_url))


def render_html(report: ReportData, *, generated_at: datetime | None = None) -> str:
    """The standalone HTML report; charts are inline SVG drawn by the template (no script, no outside file)."""
    totals: dict[int, list[int]] = {}
    per_branch: dict[str, list[tuple[str, list[int]]]] = {}
    for y in report.yearly:
        values = [getattr(y, e) for e in EVENTS]
        totals[y.year] = [t + v for t, v in zip(totals.get(y.year, [0] * len(EVENTS)), values, strict=True)]
        per_branch.setdefault(f"{y.branch_name} ({y.branch_code})", []).append((str(y.year), values))
    return render(
        "report/report.html.j2",
        **_context(
            report,
            generated_at=generated_at or datetime.now(UTC),
            events=EVENTS,
            event_labels=rules.EVENT_LABELS,
            ev=[rules.EVENT_LABELS[e] for e in EVENTS],
            domain_bars=[(d.domain, [getattr(d, e) for e in EVENTS]) for d in report.domains],
            funnel_bars=[(f.label, [f.count]) for f in report.funnel],
            objectives_bars=[(o.label, [o.count]) for o in report.satisfaction.objectives],
            fee_bars=[(f.kind, [f.paid, f.waived, f.outstanding]) for f in report.fees if f.kind != "Total"],
            year_totals=[(str(year), values) for year, values in sorted(totals.items())],
            per_branch=per_branch,
        ),
    )


# --- Files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFiles:
    """One report's files, as stored (tasks/files.py) and served by the sign-in gateway."""

    slug: str
    html: bytes
    csv: bytes

    @property
    def names(self) -> tuple[str, str]:
        """The HTML's and the CSV's file names."""
        return f"{self.slug}.html", f"{self.slug}.csv"


def report_files(report: ReportData) -> ReportFiles:
    """The HTML and CSV of a report."""
    # The byte-order mark makes Excel read the CSV as UTF-8 instead of Windows-1252.
    html = render_html(report).encode("utf-8")
    return ReportFiles(
        rules.report_slug(report.codes, report.start, report.end), html, render_csv(report).encode("utf-8-sig")
    )
