"""What a release declares about itself: an expected model change, an irreversible migration.

The author commits ``delivery/release.toml`` (the path is ``declarations_file`` in
``delivery.toml``) with the change; ``riskctl build`` validates it, copies it into the release
and covers it with the release digest, so a declaration cannot be added or widened after the
build. Risk management then approves the model change (``riskctl approve REL --env ENV
--model-change``) before the shadow comparison lets the declared impact through::

    [model_change]
    reason = "switch the historical window to 750 days"
    expected_impact = 0.6        # largest relative move of any figure (0.6 = 60 %)

    [migrations]
    irreversible = true          # the release cannot be rolled back past
    reason = "drops the legacy results table"

Exceptions: :class:`~riskctl.errors.UsageError` for a malformed file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskctl.errors import UsageError

__all__ = ["Declarations", "load_declarations"]


class _ModelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1)
    expected_impact: float = Field(gt=0, le=10)


class _Migrations(BaseModel):
    model_config = ConfigDict(extra="forbid")
    irreversible: bool = False
    reason: str = ""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_change: _ModelChange | None = None
    migrations: _Migrations = _Migrations()


@dataclass(frozen=True)
class Declarations:
    """A release's declarations (none by default)."""

    model_change_impact: float | None = None
    model_change_reason: str = ""
    irreversible: bool = False
    irreversible_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as stored with the release."""
        return {
            "model_change_impact": self.model_change_impact,
            "model_change_reason": self.model_change_reason,
            "irreversible": self.irreversible,
            "irreversible_reason": self.irreversible_reason,
        }


def load_declarations(path: Path) -> Declarations:
    """Parse and validate a declarations file; a missing file declares nothing."""
    if not path.is_file():
        return Declarations()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path.name}: {where}: {first['msg']}") from None
    change = parsed.model_change
    if parsed.migrations.irreversible and not parsed.migrations.reason:
        raise UsageError(f"{path.name}: migrations.reason is required for an irreversible one")
    return Declarations(
        model_change_impact=change.expected_impact if change else None,
        model_change_reason=change.reason if change else "",
        irreversible=parsed.migrations.irreversible,
        irreversible_reason=parsed.migrations.reason,
    )
