"""Use-case results: frozen dataclasses that serialise to the plain dicts ``--json`` prints.

A field named with a trailing underscore (``from_``) serialises without it; a field whose
metadata says ``merge`` (a mapping) is spread into the enclosing dict, for targets' own keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

__all__ = ["Result", "plain"]


def plain(value: Any) -> Any:
    """``value`` with results as dicts and tuples as lists; a mapping is copied with its result
    values converted. Anything else (what a target reported) passes through unchanged."""
    if isinstance(value, Result):
        return value.as_dict()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: v.as_dict() if isinstance(v, Result) else v for k, v in value.items()}
    return value


class Result:
    """Mixin of every use case's frozen result dataclass."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.metadata.get("merge"):
                merged.update(plain(value))
            else:
                out[f.name.removesuffix("_")] = plain(value)
        return {**out, **merged}
