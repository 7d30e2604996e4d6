"""The fleet boundary: what the rollout controller asks of the machinery that runs instances.

A fleet runs release instances in an environment's two slots (``blue``/``green``), each on its
own port, behind the environment's front door, and moves requests between the slots by weight.
The controller (:mod:`riskctl.rollout.controller`) decides *what* should run and with which
weights; a fleet only does it, idempotently (starting a running instance, stopping a stopped
one or setting the same weights again changes nothing). Implementations:

* :class:`riskctl.targets.local.LocalTarget` — HAProxy front doors, instances under supervisord;
* :class:`riskctl.targets.fake.FakeFleet` — in memory, for fast tests of every transition.

Errors: :class:`riskctl.errors.DeployFailedError` when the machinery itself fails (HAProxy will
not start, migrations fail, no API token); an instance that does not become ready is a
:class:`~riskctl.targets.interface.Readiness` with ``ok=False``, not an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from riskctl.router.interface import ServerStats
from riskctl.targets.interface import Readiness

__all__ = ["Fleet"]


@runtime_checkable
class Fleet(Protocol):
    """Instances in slots behind a weighted front door, one per environment."""

    # -- infrastructure ---------------------------------------------------------------------

    def ensure_infrastructure(self) -> list[str]:
        """Start the front doors and the process supervisor when missing; what was done."""
        ...

    def infrastructure_running(self) -> bool:
        """Are the front doors up (so that weights and statistics can be read)?"""
        ...

    def shutdown(self) -> None:
        """Stop the front doors, the supervisor and every instance."""
        ...

    # -- routing ----------------------------------------------------------------------------

    def route(self, env: str, occupants: Mapping[str, int], weights: Mapping[str, int]) -> None:
        """Point each occupied slot (slot → port) at its instance with these weights (percent);
        every other slot gets no requests."""
        ...

    def stats(self, env: str) -> list[ServerStats]:
        """The front door's view of each slot of ``env`` (weight, health, counters)."""
        ...

    def frontend_rate(self, env: str) -> float:
        """Requests per second arriving at ``env``'s front door."""
        ...

    # -- instances --------------------------------------------------------------------------

    def programs(self, env: str) -> dict[str, tuple[str, str]]:
        """Every instance of ``env`` that exists: name → (slot, release)."""
        ...

    def start(
        self,
        env: str,
        slot: str,
        *,
        release: str,
        release_dir: Path,
        wheel: str,
        port: int,
        variables: Mapping[str, str],
    ) -> bool:
        """Run ``release`` in ``slot`` (replacing another release there); whether it started now."""
        ...

    def alive(self, env: str, slot: str, release: str) -> bool:
        """Is that instance running?"""
        ...

    def wait_ready(
        self, env: str, slot: str, *, release: str, port: int, digest: str, timeout: float
    ) -> Readiness:
        """Wait until the instance is ready and passes its smoke tests (digest included)."""
        ...

    def wait_routable(self, env: str, slot: str, timeout: float) -> bool:
        """Wait until the front door's own health checks would send requests to ``slot``."""
        ...

    def stop(self, env: str, slot: str, release: str, *, drain_s: float = 1.0) -> None:
        """Take ``slot`` out of the front door, drain it, stop the instance."""
        ...

    def remove_orphans(self, env: str, wanted: Mapping[str, str]) -> list[str]:
        """Stop every instance of ``env`` that is not ``wanted`` (slot → release); their names."""
        ...

    # -- release commands -------------------------------------------------------------------

    def migrate(self, release_dir: Path, wheel: str, variables: Mapping[str, str]) -> str:
        """Apply the release's migrations to the environment's store; a one-line summary."""
        ...

    def api_token(
        self, env: str, release_dir: Path, wheel: str, variables: Mapping[str, str]
    ) -> str:
        """riskctl's bearer token for ``env``'s service."""
        ...
