"""The steps of a mission, one module each, and the registry that lists them in lifecycle order.

Adding a step: a module defining its `STEP` (form, prefill, checks, writes, notices), and its line below. The
flow, the mission card, the dashboards and the reminders read the registry and need no other edit.
"""

from tasks.steps import (
    announcement,
    applications,
    check_in,
    diffusion,
    needs_analysis,
    review,
    roadmap,
    selection,
)
from tasks.steps.base import CANCEL, Ctx, Outcome, Prefill, Registry, Step, build_form

NEEDS_ANALYSIS = needs_analysis.STEP
ANNOUNCEMENT = announcement.STEP
DIFFUSION = diffusion.STEP
APPLICATIONS = applications.STEP
SELECTION = selection.STEP
ROADMAP = roadmap.STEP
CHECK_IN = check_in.STEP
REVIEW = review.STEP

REGISTRY = Registry([NEEDS_ANALYSIS, ANNOUNCEMENT, DIFFUSION, APPLICATIONS, SELECTION, ROADMAP, CHECK_IN, REVIEW])

__all__ = [
    "ANNOUNCEMENT",
    "APPLICATIONS",
    "CANCEL",
    "CHECK_IN",
    "DIFFUSION",
    "NEEDS_ANALYSIS",
    "REGISTRY",
    "REVIEW",
    "ROADMAP",
    "SELECTION",
    "Ctx",
    "Outcome",
    "Prefill",
    "Registry",
    "Step",
    "build_form",
]
