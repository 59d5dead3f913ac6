"""Refusals: an action the business rules refuse, with the French sentence a person reads. Nothing was written.

Callers route on the type, never on the wording: a refused text (`TextRefused`: too long, HTML, empty) keeps what
was typed on the page that asked for it; an unknown or archived person (`PersonRefused`) gets a page of its own.
"""

from __future__ import annotations


class StepRefused(ValueError):
    """A step's answer, or an action, refused by the business rules; the message says why, in French."""


class TextRefused(StepRefused):
    """A free text refused as typed (too long, HTML, missing): the form is shown again with it."""


class PersonRefused(StepRefused):
    """The person a link names is unknown (erased at their request) or archived."""
