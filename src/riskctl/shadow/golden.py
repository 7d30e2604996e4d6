"""The golden set: pinned portfolios and market data replayed to both releases.

Stored as JSON (``delivery/golden-set.json``) so the inputs never drift with a library's random
number generator; :func:`generate_golden_set` documents how it was made and makes a new one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Methods replayed for every portfolio; Monte Carlo uses the service's fixed default seed.
METHODS = ("historical", "parametric", "monte_carlo")
CONFIDENCE = 0.99


class GoldenSetError(ValueError):
    """The golden-set file is missing or malformed."""


@dataclass(frozen=True)
class GoldenSet:
    """Portfolios (name → symbol → notional) and aligned daily returns (symbol → series)."""

    portfolios: Mapping[str, Mapping[str, float]]
    returns: Mapping[str, list[float]]
    digest: str = ""

    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, body of POST /v1/portfolio/var) for every portfolio and method."""
        out = []
        for name, positions in self.portfolios.items():
            returns = {sym: self.returns[sym] for sym in positions}
            for method in METHODS:
                body = {
                    "positions": dict(positions),
                    "returns": returns,
                    "confidence": CONFIDENCE,
                    "method": method,
                    "horizon_days": 1,
                }
                out.append((f"{name}/{method}", body))
        return out


def load_golden_set(path: Path) -> GoldenSet:
    """Read and validate a golden-set file."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as exc:
        raise GoldenSetError(f"cannot read the golden set {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise GoldenSetError(f"golden set {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not {"portfolios", "returns"} <= data.keys():
        raise GoldenSetError(f"golden set {path} needs 'portfolios' and 'returns'")
    returns = data["returns"]
    lengths = {len(v) for v in returns.values()}
    if len(lengths) != 1:
        raise GoldenSetError(f"golden set {path}: return series have unequal lengths {lengths}")
    for name, positions in data["portfolios"].items():
        missing = set(positions) - set(returns)
        if missing:
            raise GoldenSetError(
                f"golden set {path}: {name} holds {sorted(missing)} without returns"
            )
    for series in returns.values():
        if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in series):
            raise GoldenSetError(f"golden set {path}: returns must be finite numbers")
    return GoldenSet(
        data["portfolios"], returns, digest="sha256:" + hashlib.sha256(raw).hexdigest()
    )


def generate_golden_set(
    seed: int = 20261126, n_symbols: int = 12, n_days: int = 500, n_portfolios: int = 5
) -> dict[str, Any]:
    """A seeded, fat-tailed, correlated market and long/short books (incl. a zero-net one)."""
    rng = np.random.default_rng(seed)
    market = rng.standard_t(4, size=(n_days, 1)) * 0.008
    betas = rng.uniform(0.4, 1.6, n_symbols)
    returns = market * betas + rng.standard_t(5, size=(n_days, n_symbols)) * 0.01
    symbols = [f"GS{i:02d}" for i in range(n_symbols)]
    portfolios: dict[str, dict[str, float]] = {}
    for p in range(n_portfolios):
        held = rng.choice(n_symbols, size=rng.integers(3, n_symbols), replace=False)
        notionals = np.round(rng.normal(0, 2e6, held.size), -3)
        portfolios[f"golden-{p + 1}"] = {
            symbols[i]: float(v) for i, v in zip(held, notionals, strict=True)
        }
    first, second = symbols[0], symbols[1]
    portfolios["golden-zero-net"] = {first: 1_000_000.0, second: -1_000_000.0}
    return {
        "description": "Pinned inputs of the shadow comparison; see riskctl.shadow.golden.",
        "seed": seed,
        "portfolios": portfolios,
        "returns": {s: [round(float(x), 10) for x in returns[:, i]] for i, s in enumerate(symbols)},
    }


__all__ = [
    "CONFIDENCE",
    "METHODS",
    "GoldenSet",
    "GoldenSetError",
    "generate_golden_set",
    "load_golden_set",
]
