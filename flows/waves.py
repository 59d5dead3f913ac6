"""`diffusion-waves`: every few minutes, the missions whose next diffusion wave is due get it (models/waves.py)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import Field

from tasks.waves import send_due_waves


@flow(name="diffusion-waves", description="Envoie les vagues de diffusion des annonces arrivées à échéance.")
def diffusion_waves(
    now: datetime | None = Field(default=None, description="Date de référence (vide : maintenant)."),
) -> list[str]:
    """Send the due waves: each mission's run is resumed at its applications form and sends the wave itself."""
    return send_due_waves(now)
