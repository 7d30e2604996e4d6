"""Fixtures: the repository's own policy file and a renderer with test options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from riskctl.config import DeliveryConfig, load_config
from riskctl.render import RenderOptions, render_k8s
from tests.riskctl.render.support import DELIVERY_TOML, IMAGE, PROMETHEUS

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def policy() -> DeliveryConfig:
    """The repository's policy file, validated."""
    return load_config(DELIVERY_TOML).config


@pytest.fixture
def render(policy: DeliveryConfig) -> Render:
    """Render one environment of ``policy`` (or of ``config=``) with test defaults."""

    def run(env: str, config: DeliveryConfig | None = None, **options: Any) -> list[dict[str, Any]]:
        options.setdefault("image", IMAGE)
        options.setdefault("prometheus_url", PROMETHEUS)
        return render_k8s(config or policy, RenderOptions(env=env, **options))

    return run
