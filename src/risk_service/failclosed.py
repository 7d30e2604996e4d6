"""The service fails closed (issue 8, finding 9): settings that would silently run as dev
against real data are refused before anything touches a store or a socket.

* Outside a development checkout (an installed wheel: a riskctl release, the container image)
  ``RISK_SERVICE_ENVIRONMENT`` must be set explicitly; ``dev`` is never assumed there.
* Dev mode has no authentication and writes synthetic data, so it refuses a store that is not
  SQLite and a listening address that is not loopback.

The store's own record of its environment (:mod:`risk_service.store.environment`) is the second
line: synthetic data is refused in a staging/prod store whatever the process believes.

Errors::

    ValueError
    └── UnsafeSettingsError
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from risk_service.config import Environment, Settings

__all__ = ["UnsafeSettingsError", "check_bind", "check_settings", "source_checkout"]

_PACKAGE = Path(__file__).resolve().parent


class UnsafeSettingsError(ValueError):
    """The settings would run the service open (as dev) where it must be closed."""


def source_checkout(package: Path = _PACKAGE) -> bool:
    """Whether ``package`` is imported from a source tree (``src/risk_service`` beside a
    ``pyproject.toml``), not from an installed wheel."""
    return package.parent.name == "src" and (package.parent.parent / "pyproject.toml").is_file()


def check_settings(settings: Settings, *, checkout: bool | None = None) -> None:
    """Refuse an implicit environment outside a checkout, and dev against a non-SQLite store."""
    in_checkout = source_checkout() if checkout is None else checkout
    if "environment" not in settings.model_fields_set and not in_checkout:
        raise UnsafeSettingsError(
            "RISK_SERVICE_ENVIRONMENT must be set explicitly (dev, staging or prod) when not "
            "running from a development checkout; dev is never assumed"
        )
    if settings.environment is Environment.DEV:
        url = settings.resolved_database_url()
        if not url.startswith("sqlite"):
            scheme = url.split(":", 1)[0]
            raise UnsafeSettingsError(
                f"dev mode refuses a non-SQLite store ({scheme}): dev writes synthetic data and "
                "has no authentication; set RISK_SERVICE_ENVIRONMENT to the store's environment"
            )


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to listen beyond loopback in dev mode (no authentication there)."""
    if settings.environment is not Environment.DEV:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UnsafeSettingsError(
            f"dev mode has no authentication and listens only on loopback, not {host!r}; "
            "use --host 127.0.0.1, or set RISK_SERVICE_ENVIRONMENT=staging|prod (tokens required)"
        )
