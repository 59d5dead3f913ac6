"""Scheduled follow-up of open missions: the branch dashboards, the reminders of overdue steps, and each team
member's morning digest."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from tasks.digest import send_digests
from tasks.monitoring import publish_dashboards, send_reminders


@flow(name="branch-dashboard", description="Tableau des missions ouvertes de chaque antenne, et synthèse nationale.")
def branch_dashboard() -> dict[str, int]:
    """Publish the open missions of every branch (table artifacts `antenne-<code>-missions-ouvertes`)."""
    return publish_dashboards()


@flow(name="mission-reminders", description="Rappels aux Passerelles des étapes en retard ; signalement à l'antenne.")
def mission_reminders() -> dict[str, Any]:
    """Remind Passerelles of overdue steps and tell branch leads at twice the delay; never twice the same."""
    result = send_reminders()
    for error in result["errors"]:
        get_run_logger().error("Rappel impossible : %s", error)
    return result


@flow(name="daily-digest", description="Récapitulatif du matin à chaque membre de l'équipe : ce qui l'attend.")
def daily_digest() -> dict[str, Any]:
    """Queue the morning digest of every member who wants it (nothing when there is nothing to do; once a day)."""
    result = send_digests()
    for error in result["errors"]:
        get_run_logger().error("Récapitulatif impossible : %s", error)
    return result
