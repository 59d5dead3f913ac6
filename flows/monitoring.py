"""Scheduled follow-up of open missions: the branch dashboards, and the reminders of overdue steps."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

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
