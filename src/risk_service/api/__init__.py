"""The HTTP API (FastAPI): health, readiness, version, metrics and the ``/v1`` risk endpoints."""

from risk_service.api.app import create_app

__all__ = ["create_app"]
