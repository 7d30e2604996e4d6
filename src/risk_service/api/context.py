"""What the routers share: the settings and the store, market and sampler handles of one app.

``create_app`` builds one :class:`Context` and keeps it at ``app.state.context``; a route asks for
it with the ``Ctx`` dependency (no OpenAPI trace: it reads only the request).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from risk_service.api.market import MarketCache
from risk_service.api.sampling import RequestSampler
from risk_service.config import Settings


@dataclass(frozen=True)
class Context:
    """One application's configuration and handles."""

    settings: Settings
    version: str
    store: Engine
    factory: sessionmaker[Session]
    market: MarketCache
    sampler: RequestSampler


async def context(request: Request) -> Context:
    """The application's :class:`Context` (a coroutine: FastAPI would run a plain function in the
    thread pool, one hop per request)."""
    found: Context = request.app.state.context
    return found


Ctx = Annotated[Context, Depends(context)]


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes for UTC columns; make them explicit."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
