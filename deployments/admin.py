"""Administrative sub-commands: schema upgrade, opening a mission, recording an application."""

from __future__ import annotations

import argparse

from models.db import upgrade
from models.settings import get_settings


def db_upgrade(argv: list[str]) -> int:
    """`passerelles db-upgrade`: migrate the configured database to the latest schema."""
    argparse.ArgumentParser(prog="passerelles db-upgrade", description="Met le schéma à jour.").parse_args(argv)
    upgrade()
    print(f"Base à jour : {get_settings().database_url}")
    return 0
