"""Text keys: how names are compared wherever a person types one (pure, no database)."""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation collapsed to single spaces: « Âge d’Or  Solidaire » → « age d or
    solidaire ». The key every lookup by name compares, identical on SQLite and PostgreSQL (it is stored)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text.translate(_LIGATURES)) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", bare.lower()).strip()
