"""Helpers for the render tests: the repository's policy file, test options, lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskctl.config import DeliveryConfig

#: The repository's delivery.toml: the manifests must follow the real policy.
DELIVERY_TOML = Path(__file__).resolve().parents[3] / "delivery.toml"
IMAGE = "registry.example.com/risk/risk-service:1.2.3"
PROMETHEUS = "http://prometheus.monitoring.svc:9090"
ENVIRONMENTS = ("dev", "staging", "prod")


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single manifest of ``kind`` (and ``name``) in ``docs``."""
    found = [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pod spec in ``docs``: the API workload's and the daily run's."""
    specs = []
    for doc in docs:
        if doc["kind"] in ("Rollout", "Deployment"):
            specs.append(doc["spec"]["template"]["spec"])
        elif doc["kind"] == "CronJob":
            specs.append(doc["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return specs


def with_env(config: DeliveryConfig, env: str, **changes: Any) -> DeliveryConfig:
    """``config`` with fields of one environment (and of its ``analysis=`` dict) replaced."""
    spec = config.environments[env]
    analysis = changes.pop("analysis", None)
    if analysis is not None:
        changes["analysis"] = spec.analysis.model_copy(update=analysis)
    environments = {**config.environments, env: spec.model_copy(update=changes)}
    return config.model_copy(update={"environments": environments})
