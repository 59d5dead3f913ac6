"""The regional / national report, run by an admin from the Prefect UI with a few parameters."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger

from models.report_rules import ReportParameterError, check_period
from tasks.reports import check_report_branches, produce_report


@flow(
    name="regional-report",
    flow_run_name="rapport-{debut}-{fin}",
    description="Rapport d'activité d'une ou plusieurs antennes (ou national) sur une période : missions, "
    "entonnoir, candidatures, bénévoles, satisfaction, cotisations. Produit un rapport HTML et un export CSV.",
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
        "Rapport écrit : %s (HTML) et %s (CSV) ; %d mission(s) demandée(s) sur la période.",
        outcome["html"],
        outcome["csv"],
        outcome["missions_demandees"],
    )
    return outcome
