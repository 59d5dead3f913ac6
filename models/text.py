"""Typed text: how names are compared wherever a person types one, and the one check of a free text typed on a
page (pure, no database)."""

from __future__ import annotations

import re
import unicodedata

from models.refusals import TextRefused

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation collapsed to single spaces: « Âge d’Or  Solidaire » → « age d or
    solidaire ». The key every lookup by name compares, identical on SQLite and PostgreSQL (it is stored)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text.translate(_LIGATURES)) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", bare.lower()).strip()


_TAG = re.compile(r"<\s*[a-zA-Z!/?][^>]*>")


def check_text(value: str, what: str, *, max_len: int, required: bool = True, one_line: bool = True) -> str:
    """A text typed on a page (a public form or a signed link's), stripped (one line: inner blanks collapsed);
    TextRefused, naming the field `what`, when empty and required, longer than `max_len`, or made of HTML."""
    typed = " ".join(value.split()) if one_line else value.strip().replace("\r\n", "\n")
    if required and not typed:
        raise TextRefused(f"Le champ « {what} » est vide : remplissez-le.")
    if len(typed) > max_len:
        raise TextRefused(f"Le champ « {what} » compte {len(typed)} caractères : {max_len} au plus.")
    if _TAG.search(typed):
        raise TextRefused(f"Le champ « {what} » contient des balises HTML : écrivez en texte simple.")
    return typed
