"""The demo's policy: delivery.toml's rules, adapted so the story runs at any hour, quickly.

Derived from the repository's own ``delivery.toml`` (style and comments kept, via tomlkit), so
the demo enforces the same identities, roles, approvals and change classes. What differs, and
is announced when the demo starts:

* ports moved by +10,000 so the demo never collides with real local environments;
* the prod change window is open all day and the risk-run freeze is lifted;
* the required gates are the fast ones (lint, security, migrations, performance) — ``make
  test`` runs typecheck and the full test suite with coverage;
* analysis, blue-green warm-keeping and pauses are compressed to seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit

DEMO_GATES = ["lint", "security", "migrations", "performance"]
PORT_SHIFT = 10_000


def _shift_url(url: str, shift: int = PORT_SHIFT) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{(parts.port or 80) + shift}"


def demo_policy(
    base: Path | None = None,
    *,
    golden_set: str = "repo/delivery/golden-set.json",
    keys: Mapping[str, str] | None = None,
    port_shift: int = PORT_SHIFT,
) -> str:
    """The demo's policy file text, from ``base`` (default: the repository's delivery.toml).

    ``golden_set`` is relative to where the policy file will be written (the demo workspace,
    which holds the scratch clone in ``repo/``); ``keys`` maps identities to the public key
    lines the demo generated for them.
    """
    source = base or Path.cwd() / "delivery.toml"
    doc: Any = tomlkit.parse(source.read_text(encoding="utf-8"))
    doc["clock_override"] = False
    for name, line in (keys or {}).items():
        doc["identities"][name]["keys"] = [line]
    for name, env in doc["environments"].items():
        env["url"] = _shift_url(str(env["url"]), port_shift)
        env["port"] = int(env["port"]) + port_shift
        if "slot_ports" in env:
            env["slot_ports"] = [int(p) + port_shift for p in env["slot_ports"]]
        if name == "dev":
            continue
        if "required_gates" in env:
            env["required_gates"] = DEMO_GATES
            env["allow_unavailable"] = []
        shadow = env.setdefault("shadow", tomlkit.table())
        shadow["enabled"] = True
        shadow["golden_set"] = golden_set
        analysis = env.setdefault("analysis", tomlkit.table())
        analysis.update({"seconds": 6.0, "interval_s": 1.0, "min_samples": 60, "probe_rate": 20.0})
        # Compressed windows cannot gather the sample prod's +2 % asks for (bench_judge).
        analysis["detect_error_increase"] = 0.10
        env["keep_previous_s"] = 3.0
        if name == "prod":
            env["windows"] = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                               "start": "00:00", "end": "23:59"}]  # fmt: skip
            env["freeze"] = False
    header = tomlkit.comment(
        "riskctl demo policy (generated from delivery.toml): prod window open all day, freeze "
        "lifted, fast gates, compressed timings, ports +10000."
    )
    doc.body.insert(0, (None, header))
    return tomlkit.dumps(doc)


__all__ = ["DEMO_GATES", "PORT_SHIFT", "demo_policy"]
