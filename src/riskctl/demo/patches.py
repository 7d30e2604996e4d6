"""The code changes the demo commits as v1…v4 (real edits to the scratch clone's source).

Each is appended to an existing module so it applies whatever else changes in the file, and is
lint-clean so the release passes the demo's gates: the shadow comparison and the canary analysis
must be what stops the bad ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Patch:
    """Append ``text`` to ``path`` (created when missing) and commit with ``message``."""

    path: str
    text: str
    message: str

    def apply(self, repo: Path) -> None:
        """Write the change into the clone."""
        target = repo / self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        before = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(before + self.text, encoding="utf-8")

    def named(self, message: str, tag: str) -> Patch:
        """The same kind of change with another message and a line naming ``tag``."""
        return replace(self, message=message, text=self.text.replace("{tag}", tag))


HARMLESS_PATCH = Patch(
    "docs/changelog.md",
    "- {tag}: documentation only.\n",
    "docs: changelog",
)

MODEL_CHANGE_PATCH = Patch(
    "src/risk_service/engine/portfolio.py",
    '''

# v3: "stressed" historical model — every historical figure scaled by 1.5, undeclared.
_unstressed_historical_risk = historical_risk


def historical_risk(*args: Any, **kwargs: Any) -> PortfolioRisk:
    """Historical risk under the stressed model (x 1.5)."""
    kwargs["scale"] = kwargs.get("scale", 1.0) * 1.5
    return _unstressed_historical_risk(*args, **kwargs)
''',
    "engine: stressed historical model",
)

DEFECT_PATCH = Patch(
    "src/risk_service/api/app.py",
    '''

# v4: a pooled-connection "optimisation" for prod that leaks: after 60 requests a worker fails
# every fourth /v1 request. Dev and staging never see it.
from typing import Any  # noqa: E402

from fastapi.responses import JSONResponse  # noqa: E402

_create_app_unpooled = create_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application with the prod connection pool."""
    settings = settings or Settings()
    app = _create_app_unpooled(settings)
    if settings.environment.value != "prod":
        return app
    served = [0]

    @app.middleware("http")
    async def pooled(request: Any, call_next: Any) -> Any:
        if request.url.path.startswith("/v1/"):
            served[0] += 1
            if served[0] > 60 and served[0] % 4 == 0:
                body = {"error": {"code": "internal", "message": "pool exhausted", "field": None}}
                return JSONResponse(body, status_code=500)
        return await call_next(request)

    return app
''',
    "api: pooled connections in prod",
)

__all__ = ["DEFECT_PATCH", "HARMLESS_PATCH", "MODEL_CHANGE_PATCH", "Patch"]
