"""Composing a mail, pure: the subject and bodies rendered from templates, and an address checked. Nothing here
touches the outbox or a server (tasks/outbox.py queues what is composed; tasks/smtp.py sends it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.rendering import environment


@dataclass(frozen=True)
class MailContent:
    """Subject and bodies of one mail."""

    subject: str
    text: str
    html: str


def compose(kind: str, **context: Any) -> MailContent:
    """Render `templates/mail/<kind>.txt.j2`, which sets `subject`; the HTML part is the text laid out in
    `mail/_layout.html.j2` (paragraphs, links), so each mail is written once."""
    env = environment()
    text_module = env.get_template(f"mail/{kind}.txt.j2").make_module(context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"template mail/{kind}.txt.j2 sets no subject")
    text = str(text_module).strip() + "\n"
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    html = env.get_template("mail/_layout.html.j2").render(subject=subject, paragraphs=paragraphs)
    return MailContent(subject=subject, text=text, html=html)
