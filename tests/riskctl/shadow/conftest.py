"""A small fleet for the shadow replay's deploy tests: v1 plus the two variants they need.

Built by the progressive tests' :func:`build_fleet` (same policy, same variant recipes), but only
``v2`` and ``x15`` on top of the session's gated v1, so these tests do not pay for every variant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.riskctl.conftest import Built
from tests.riskctl.progressive.conftest import Env, Fleet, build_fleet, private_fleet

#: The variants these tests deploy besides v1.
NEEDED = ("v2", "x15")


@pytest.fixture(scope="session")
def replay_fleet_template(template: Built, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """v1, v2 and x15 built once, with the progressive policy and a small golden set."""
    return build_fleet(template, tmp_path_factory.mktemp("replay-fleet"), NEEDED)


@pytest.fixture
def replay_fleet(
    replay_fleet_template: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    """A private copy of the small fleet; HAProxy and supervisord stopped afterwards."""
    env = private_fleet(replay_fleet_template, tmp_path, monkeypatch)
    yield env
    env.target().fleet.shutdown()
