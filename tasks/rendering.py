"""The one Jinja2 environment every renderer uses (mails, annonces, reports)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def date_fr(value: date | datetime | str | None) -> str:
    """`14 mars 2026` (also of an ISO date string, as forms store them); empty for None."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def number_fr(value: float | int | None, digits: int = 0) -> str:
    """French number formatting: thin space for thousands, comma for decimals."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


@lru_cache
def environment() -> Environment:
    """The shared environment: autoescape for .html templates, StrictUndefined everywhere."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date_fr"] = date_fr
    env.filters["number_fr"] = number_fr
    return env


def render(template: str, **context: Any) -> str:
    """Render one template of `templates/` with `context`."""
    return environment().get_template(template).render(**context)
