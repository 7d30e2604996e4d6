"""Service configuration from ``RISK_SERVICE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import enum
from importlib import metadata
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_FILE = Path("var") / "risk-service.db"


class Environment(enum.StrEnum):
    """Deployment environments; each has its own data source and auth policy."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"

    @property
    def requires_auth(self) -> bool:
        """Whether ``/v1/*`` needs a bearer token in this environment."""
        return self is not Environment.DEV


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="RISK_SERVICE_", extra="ignore")

    environment: Environment = Environment.DEV
    database_url: str = ""
    version: str = ""
    git_sha: str = "unknown"
    artifact_digest: str = "unknown"
    # Upper bound of an HTTP request body, in bytes (413 beyond it).
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Upper bound of positions x observations in one request (413 beyond it).
    max_cells: int = Field(default=2_000_000, gt=0)
    # Scenario window of the daily run and the default window of stored-data requests.
    window: int = Field(default=500, ge=2)
    # Relative day-over-day VaR move above which a portfolio is flagged for review.
    move_threshold: float = Field(default=0.5, gt=0)
    # Seed and size of the dev synthetic data.
    seed: int = 20240601
    synthetic_instruments: int = Field(default=200, ge=1)
    synthetic_portfolios: int = Field(default=20, ge=1)
    # Key of the staging pseudonymisation (HMAC-SHA256); required by `data anonymize`.
    anonymize_key: str = ""
    # Where prod's upstream files are delivered (read by `data load` when no path is given).
    data_dir: Path = Path("var") / "inbox"
    log_level: str = "INFO"
    # Where `daily-run` computes: "" in this process, "local" (a LocalCluster of processes on this
    # machine) or a Dask scheduler "tcp://HOST:PORT"; `--scheduler` overrides it.
    dask_scheduler: str = ""
    # A bounded sample of recent real /v1/var and /v1/portfolio/var requests, kept in the store
    # for riskctl's shadow replay (SPEC §4): at most `request_sample_size` rows, one successful
    # request in `request_sample_every`, bodies up to `request_sample_max_bytes` (0 disables).
    request_sample_size: int = Field(default=200, ge=0, le=10_000)
    request_sample_every: int = Field(default=10, ge=0)
    request_sample_max_bytes: int = Field(default=64 * 1024, ge=0)

    def resolved_database_url(self) -> str:
        """The configured database URL, or the default SQLite file under ``./var``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{DEFAULT_DATABASE_FILE.as_posix()}"

    def resolved_version(self) -> str:
        """Release version: the pipeline's value, else the installed package version."""
        return self.version or package_version()


def package_version() -> str:
    """Installed version of the ``risk-service`` distribution."""
    try:
        return metadata.version("risk-service")
    except metadata.PackageNotFoundError:  # pragma: no cover - only when run from a bare tree
        return "0+unknown"
