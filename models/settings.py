"""Application settings, read from the environment and from a `.env` file.

Every setting has the prefix ``PASSERELLES_`` (``PASSERELLES_DATABASE_URL``...). The README lists them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.waves import WavePolicy

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
EMBEDDED = "embedded"  # the database URL that names the embedded PostgreSQL


class Settings(BaseSettings):
    """Where the application database, the mail server and Prefect are."""

    model_config = SettingsConfigDict(env_prefix="PASSERELLES_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=EMBEDDED,
        description="SQLAlchemy URL of the application database: `embedded` (the default) is the PostgreSQL "
        "that `passerelles stack` starts under var/pgdata; postgresql+psycopg://user@host/db for an external one; "
        "sqlite:///path/app.db is supported too.",
    )
    pgdata: Path = Field(default=VAR / "pgdata", description="Data directory of the embedded PostgreSQL.")
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(default=8025, description="SMTP server port.")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS.")
    smtp_connections: int = Field(default=4, ge=1, le=32, description="SMTP connections send-mails uses at once.")
    smtp_user: str = Field(default="", description="SMTP user name; empty means no login.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    mail_sender: str = Field(
        default="Passerelles & Compétences <missions@passerelles-competences.org>",
        description="From: header of every mail.",
    )
    mail_domain: str = Field(default="passerelles-competences.org", description="Domain used in generated Message-IDs.")
    prefect_api_url: str = Field(
        default="http://127.0.0.1:4201/api",
        description="Prefect API the flows and the CLI talk to, directly (with the service credential): the server "
        "behind the sign-in gateway.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:4200",
        description="Base URL of the Prefect UI, used in links put in mails.",
    )
    instance: str = Field(
        default="passerelles",
        description="Name of this installation; prefixes the idempotency key of every mission run. One Prefect "
        "server serves one installation (its serving process runs every scheduled run of the deployments); the "
        "tests, which share one server across test databases, set a name per database.",
    )
    service_levels: dict[str, int] = Field(
        default_factory=dict,
        description="Days each step may wait before a reminder, overriding the step registry (tasks/steps), as JSON: "
        '{"selection": 10, "annonce": 5}. The branch lead is told at twice the level.',
    )
    wave_head_start_hours: int = Field(
        default=48,
        ge=0,
        le=24 * 30,
        description="Hours the volunteers priority in the mission's domain have the "
        "annonce before the rest of the branch (models/waves.py).",
    )
    wave_national_after_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description="Days after its publication a remote mission still without a fitting "
        "application is sent to the volunteers of the whole country who accept national annonces.",
    )
    waive_search_fee_on_early_cancel: bool = Field(
        default=True, description="Waive the search fee of a mission cancelled before a volunteer is selected."
    )
    fee_reminder_days: int = Field(default=30, ge=1, description="Days between the bill and each unpaid reminder.")
    maildir: Path = Field(default=VAR / "mail", description="Where the embedded SMTP server keeps mails.")
    portal_url: str = Field(
        default="http://127.0.0.1:8300",
        description="Base URL of the public portal (`passerelles portal`): the signed links in mails to volunteers "
        "and associations point there. Distinct from the Prefect UI's.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Signs the portal's links. Empty: a key generated once and kept in var/secret_key (mode 600). "
        "Changing it invalidates every link already mailed.",
    )
    prefect_upstream_url: str = Field(
        default="http://127.0.0.1:4201",
        description="The Prefect server as the sign-in gateway reaches it (not public: people come in through the "
        "gateway, at `public_base_url`; workers reach it here, with the service credential PREFECT_API_AUTH_STRING).",
    )
    portal_token: SecretStr = Field(
        default=SecretStr(""),
        description="The portal's credential at the gateway (sent as PREFECT_API_KEY): it may read runs and answer "
        "the steps that associations and volunteers answer, nothing else. Empty: generated once in var/portal_token.",
    )
    demo_signin: bool = Field(
        default=False,
        description="Offer a one-click sign-in as each demo member (`make run` only; ignored unless the gateway's "
        "address is this machine's own).",
    )
    oidc_issuer: str = Field(
        default="",
        description="OpenID Connect issuer (Google Workspace: https://accounts.google.com; Microsoft Entra: "
        "https://login.microsoftonline.com/<tenant>/v2.0). Empty: sign-in by mailed link only.",
    )
    oidc_client_id: str = Field(default="", description="OpenID Connect client id.")
    oidc_client_secret: SecretStr = Field(default=SecretStr(""), description="OpenID Connect client secret.")
    previous_secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="The link key before the last rotation: links it signed are still read, for as long as it "
        "is set (their own validity still applies); new links are signed with PASSERELLES_SECRET_KEY only.",
    )
    link_days: int = Field(default=60, ge=1, description="Days a link to act on a mission stays valid.")
    outsider_reminder_days: int = Field(
        default=5,
        ge=1,
        description="Days before a person outside P&C who left a link unanswered (an annonce, a roadmap, a check-in, "
        "a bilan) is reminded; a second reminder after as many days again, then the Passerelle is told.",
    )
    retention_years: int = Field(
        default=3, ge=1, description="Years without activity after which a volunteer is warned, then erased."
    )
    retention_notice_days: int = Field(
        default=30, ge=1, description="Days between the retention warning and the erasure, unless they act."
    )
    mail_body_days: int = Field(default=90, ge=1, description="Days after which the body of a sent mail is purged.")
    warm_launcher: bool = Field(
        default=True,
        description="Start flow runs by forking a warm process that has imported Prefect and the flows "
        "(deployments/warm.py): the pool's command and the workers' warm processes. False: Prefect's own start.",
    )
    warm_max_runs: int = Field(default=200, ge=1, description="Runs a warm process forks before replacing itself.")


def wave_policy(settings: Settings) -> WavePolicy:
    """The configured delays of the diffusion in waves."""
    return WavePolicy(
        timedelta(hours=settings.wave_head_start_hours), timedelta(days=settings.wave_national_after_days)
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()


@lru_cache(maxsize=8)
def generated_secret(name: str) -> str:
    """A secret this installation generated once and keeps in `var/<name>` (mode 600), read once per process: the
    link key, the Prefect service credential and the portal's token of `make run` when settings give none."""
    path = VAR / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def service_credential() -> str:
    """The machines' credential at the Prefect server (`user:password`): PREFECT_SERVER_API_AUTH_STRING (or
    PREFECT_API_AUTH_STRING) when configured (production), else one generated once (var/prefect_service_key)."""
    configured = os.environ.get("PREFECT_SERVER_API_AUTH_STRING") or os.environ.get("PREFECT_API_AUTH_STRING")
    return configured or f"passerelles:{generated_secret('prefect_service_key')}"


def portal_token() -> str:
    """The portal's token at the gateway: PASSERELLES_PORTAL_TOKEN, else one generated once (var/portal_token)."""
    return get_settings().portal_token.get_secret_value() or generated_secret("portal_token")


PLACEHOLDERS = ("changez", "change-me", "changeme", "secret", "password", "motdepasse")


def weak_secret(value: str) -> str:
    """Why a configured secret is refused at start (a placeholder, or under 24 characters); empty if it is fine."""
    if len(value) < 24:
        return "il fait moins de 24 caractères"
    if any(p in value.lower() for p in PLACEHOLDERS):
        return "c'est l'exemple du fichier de configuration"
    return ""


def check_secrets(settings: Settings) -> str:
    """Why the configured secrets are refused (placeholders, too short), in French; empty when none is. Checked
    when the stack, the gateway and the portal start."""
    given = {
        "PASSERELLES_SECRET_KEY": settings.secret_key.get_secret_value(),
        "PASSERELLES_PREVIOUS_SECRET_KEY": settings.previous_secret_key.get_secret_value(),
        "PASSERELLES_PORTAL_TOKEN": settings.portal_token.get_secret_value(),
        "PASSERELLES_OIDC_CLIENT_SECRET": settings.oidc_client_secret.get_secret_value(),
        **{
            name: os.environ.get(name, "").partition(":")[2]
            for name in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_AUTH_STRING")
        },
    }
    bad = [f"{name} : {why}" for name, value in given.items() if value and (why := weak_secret(value))]
    return ("Secrets refusés, rien n'a démarré :\n  " + "\n  ".join(bad)) if bad else ""
