"""The regional / national report, run by an admin from the Prefect UI with a few parameters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from models.report_rules import ReportParameterError, check_period, normalise_codes, report_slug
from tasks.reports import check_report_branches, produce_report


def day_of(value: object) -> date:
    """A date parameter as Prefect hands it (a date, or its ISO text before validation)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def scoped_run_name(build: Callable[[dict[str, Any]], str], fallback: str) -> Callable[[], str]:
    """A run's name from its parameters (Prefect calls it with none, in the run's context): the scope and the
    period, so that two reports or exports over other branches are told apart in the runs list; `fallback` when
    the parameters are wrong (the run then fails saying why)."""

    def name() -> str:
        try:
            return build(flow_run.parameters)
        except (KeyError, ValueError, TypeError):
            return fallback

    return name


def report_run_name(p: dict[str, Any]) -> str:
    """`rapport-STR-MUL-2026-01-01_2026-12-31`, `rapport-national-…`."""
    return report_slug(normalise_codes(p.get("antennes")), day_of(p["debut"]), day_of(p["fin"]))


@flow(
    name="regional-report",
    flow_run_name=scoped_run_name(report_run_name, "rapport"),
    description="Rapport d'activité d'une ou plusieurs antennes (ou national) sur une période : missions, "
    "entonnoir, candidatures, bénévoles, satisfaction, cotisations. Produit un rapport HTML et un export CSV, liés "
    "dans les artefacts du run.",
    log_prints=False,
)
def regional_report(
    antennes: list[str] = [],  # noqa: B006 - Prefect validates parameters into fresh objects; never mutated
    *,
    debut: date,
    fin: date,
) -> dict[str, Any]:
    """Rapport d'activité régional ou national.

    Args:
        antennes: Codes des antennes à inclure (par exemple STR, MUL). Laisser vide pour le rapport national.
        debut: Premier jour de la période couverte (inclus).
        fin: Dernier jour de la période couverte (inclus).
    """
    logger = get_run_logger()
    try:
        # Checked before touching the database: an inverted period is the commonest slip in a form.
        check_period(debut, fin)
    except ReportParameterError as exc:
        logger.error("Paramètres refusés : %s", exc)
        raise
    codes = check_report_branches(antennes)
    outcome = produce_report(codes, debut, fin)
    logger.info(
        "Rapport enregistré, à lire après connexion : %s (HTML) et %s (CSV) ; %d mission(s) demandée(s) sur "
        "la période.",
        outcome["html"],
        outcome["csv"],
        outcome["missions_demandees"],
    )
    return outcome
